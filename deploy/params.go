// Package deploy holds the payload that turns a fresh Debian droplet into a
// student VM (cloud-init user-data, docker compose project, Caddyfile, .env,
// systemd unit, course notebook) and renders it for one student.
//
// Everything a template sees has been validated and normalized first, so
// no field can break out of the YAML, shell, Caddyfile or .env quoting it
// lands in.
package deploy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

const (
	// DataDir is where the compose project lives on the VM.
	DataDir = "/home/cicf/data"
	// ServiceName is the systemd unit that runs the compose project.
	ServiceName = "jupyter-caddy.service"
	// DefaultCaddyUser is the basic-auth user when Params.CaddyUser is empty.
	DefaultCaddyUser = "cicf"

	// MinPasswordLen is the shortest password HashPassword accepts, in characters.
	MinPasswordLen = 12
	// MaxPasswordBytes is bcrypt's input limit; longer passwords would be
	// silently truncated by other implementations, so they are refused.
	MaxPasswordBytes = 72
	// PasswordCost is the bcrypt cost HashPassword uses.
	PasswordCost = 12
)

// ErrInvalid is wrapped by every error Validate and HashPassword return for
// bad input, so callers can tell it from an internal failure.
var ErrInvalid = errors.New("invalid payload parameter")

// Params are the per-student values the payload is rendered with.
type Params struct {
	Name              string // student name, DNS label ^[a-z][a-z0-9-]{0,30}$
	FQDN              string // NAME.DOMAIN, e.g. emma.cicf.cloud
	StudentKey        string // student's SSH public key, authorized_keys line
	BotKey            string // the bot's SSH public key, authorized_keys line
	HostKeyPrivate    string // OpenSSH-format ed25519 host key the bot generated (PEM)
	HostKeyPublic     string // its public key, authorized_keys line
	CaddyUser         string // basic auth user; DefaultCaddyUser when empty
	CaddyPasswordHash string // bcrypt hash ($2a$/$2b$); required
}

var (
	labelRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	caddyUserRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
	// bcrypt's own alphabet; nothing here can close a quote or start a
	// Caddyfile placeholder.
	bcryptRE = regexp.MustCompile(`^\$2[ab]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)
	// Comments are kept on authorized_keys lines because students and
	// instructors recognise keys by them; these characters are enough.
	commentRE = regexp.MustCompile(`^[A-Za-z0-9 @._+:,()/=#-]{0,100}$`)
)

// view is Params after validation, in the canonical form the templates use.
type view struct {
	Name, FQDN         string
	StudentKey, BotKey string
	HostKeyPrivate     string // PEM, re-encoded, ends in a newline
	HostKeyPublic      string
	CaddyUser          string
	CaddyPasswordHash  string
	DataDir            string
	DockerKey          string // armored, ends in a newline
}

// UserDataParams are the values of the first-boot user-data: who may log
// in and the host key the bot pinned.
type UserDataParams struct {
	Name           string // student name, DNS label ^[a-z][a-z0-9-]{0,30}$
	FQDN           string // NAME.DOMAIN
	StudentKey     string // student's SSH public key, authorized_keys line
	BotKey         string // the bot's SSH public key, authorized_keys line
	HostKeyPrivate string // OpenSSH-format ed25519 host key the bot generated (PEM)
	HostKeyPublic  string // its public key, authorized_keys line
}

// FilesParams are the values of the files uploaded over SSH; they hold no
// key, so .env can be rendered again at any time with a new hash.
type FilesParams struct {
	Name              string // student name
	FQDN              string // NAME.DOMAIN
	CaddyUser         string // basic auth user; DefaultCaddyUser when empty
	CaddyPasswordHash string // bcrypt hash ($2a$/$2b$); required
}

// UserData returns the part of p the user-data is rendered with.
func (p Params) UserData() UserDataParams {
	return UserDataParams{Name: p.Name, FQDN: p.FQDN, StudentKey: p.StudentKey, BotKey: p.BotKey,
		HostKeyPrivate: p.HostKeyPrivate, HostKeyPublic: p.HostKeyPublic}
}

// Files returns the part of p the uploaded files are rendered with.
func (p Params) Files() FilesParams {
	return FilesParams{Name: p.Name, FQDN: p.FQDN, CaddyUser: p.CaddyUser, CaddyPasswordHash: p.CaddyPasswordHash}
}

// Validate reports whether Render can use p safely. It returns an error
// wrapping ErrInvalid that names the first bad field; the message never
// repeats a key or the hash.
func (p Params) Validate() error {
	_, err := p.normalize()
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func (p Params) normalize() (*view, error) {
	v, err := p.UserData().normalize()
	if err != nil {
		return nil, err
	}
	f, err := p.Files().normalize()
	if err != nil {
		return nil, err
	}
	v.CaddyUser, v.CaddyPasswordHash = f.CaddyUser, f.CaddyPasswordHash
	return v, nil
}

// checkName checks only that name and fqdn render into well-formed
// hostnames, YAML and a Caddyfile. Which names a student may have (length,
// reserved words) is tasks.ValidateName's decision, made once, before a run
// starts; this package trusts it.
func checkName(name, fqdn string) error {
	if !labelRE.MatchString(name) {
		return invalid("name %q must be a lowercase DNS label (a-z, 0-9, -)", name)
	}
	return checkFQDN(name, fqdn)
}

func (p UserDataParams) normalize() (*view, error) {
	if err := checkName(p.Name, p.FQDN); err != nil {
		return nil, err
	}
	v := &view{DataDir: DataDir, Name: p.Name, FQDN: p.FQDN, DockerKey: dockerKey}
	var err error
	if v.StudentKey, _, err = authorizedKey("student key", p.StudentKey); err != nil {
		return nil, err
	}
	if v.BotKey, _, err = authorizedKey("bot key", p.BotKey); err != nil {
		return nil, err
	}
	if v.HostKeyPrivate, v.HostKeyPublic, err = hostKey(p.HostKeyPrivate, p.HostKeyPublic); err != nil {
		return nil, err
	}
	return v, nil
}

func (p FilesParams) normalize() (*view, error) {
	if err := checkName(p.Name, p.FQDN); err != nil {
		return nil, err
	}
	v := &view{DataDir: DataDir, Name: p.Name, FQDN: p.FQDN, CaddyUser: p.CaddyUser}
	if v.CaddyUser == "" {
		v.CaddyUser = DefaultCaddyUser
	}
	if !caddyUserRE.MatchString(v.CaddyUser) {
		return nil, invalid("caddy user %q may only use letters, digits, '.', '_' and '-' (at most 32)", v.CaddyUser)
	}
	if !bcryptRE.MatchString(p.CaddyPasswordHash) {
		return nil, invalid("caddy password hash is not a bcrypt hash ($2a$ or $2b$, 60 characters); use HashPassword")
	}
	if _, err := bcrypt.Cost([]byte(p.CaddyPasswordHash)); err != nil {
		return nil, invalid("caddy password hash: %v", err)
	}
	v.CaddyPasswordHash = p.CaddyPasswordHash
	return v, nil
}

func checkFQDN(name, fqdn string) error {
	if len(fqdn) > 253 {
		return invalid("fqdn is longer than 253 characters")
	}
	labels := strings.Split(fqdn, ".")
	if len(labels) < 3 || labels[0] != name {
		// The VM is named NAME.DOMAIN (SPEC §2); anything else means the
		// caller mixed up students.
		return invalid("fqdn %q must be %s. followed by the class domain", fqdn, name)
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return invalid("fqdn %q: label %q is not a lowercase DNS label", fqdn, l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return invalid("fqdn %q: top-level label is numeric", fqdn)
	}
	return nil
}

// authorizedKey checks one authorized_keys line and returns it rebuilt from
// the parsed key, so that only base64 and a plain comment reach the VM.
// Which keys are accepted (types, RSA size) is tasks.NormalizePublicKey's
// decision, made when the key is saved; this only keeps the output
// well-formed.
func authorizedKey(what, line string) (string, ssh.PublicKey, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", nil, invalid("%s is missing", what)
	}
	// Checked before parsing: ParseAuthorizedKey would read the first line
	// and leave the rest, which is how extra YAML would get in.
	if strings.ContainsAny(line, "\r\n\x00'\"\\`$") || !utf8.ValidString(line) {
		return "", nil, invalid("%s must be one line without quotes, backslashes or '$'", what)
	}
	pub, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", nil, invalid("%s is not an SSH public key: %v", what, err)
	}
	if len(options) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return "", nil, invalid("%s must be a plain key (type, base64, comment), without options", what)
	}
	if !commentRE.MatchString(comment) {
		return "", nil, invalid("%s: comment may use letters, digits, spaces and @._+:,()/=#- only", what)
	}
	out := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		out += " " + comment
	}
	return out, pub, nil
}

// hostKey checks that priv is one unencrypted OpenSSH ed25519 key matching
// pub, and returns both re-encoded.
func hostKey(priv, pub string) (string, string, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(priv)))
	if block == nil || block.Type != "OPENSSH PRIVATE KEY" || len(block.Headers) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return "", "", invalid("host private key must be exactly one OPENSSH PRIVATE KEY PEM block")
	}
	raw, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(block))
	if err != nil {
		return "", "", invalid("host private key: %v", err)
	}
	var key ed25519.PrivateKey
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		key = *k
	case ed25519.PrivateKey:
		key = k
	default:
		return "", "", invalid("host private key must be ed25519, not %T", raw)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return "", "", invalid("host private key: %v", err)
	}
	line, parsed, err := authorizedKey("host public key", pub)
	if err != nil {
		return "", "", err
	}
	if !bytes.Equal(parsed.Marshal(), signer.PublicKey().Marshal()) {
		// The bot pins the public half; a mismatch would make its first
		// connection fail as "REMOTE HOST IDENTIFICATION HAS CHANGED".
		return "", "", invalid("host public key does not belong to the host private key")
	}
	// The comment (usually someone's user@host) is of no use in /etc/ssh.
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(parsed)))
	return string(pem.EncodeToMemory(block)), line, nil
}

// HashPassword returns the bcrypt hash (cost PasswordCost) Caddy's basicauth
// checks. It returns an error wrapping ErrInvalid for a password shorter than
// MinPasswordLen characters or longer than MaxPasswordBytes bytes.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, PasswordCost)
}

// hashPassword lets tests check the length rules without paying for
// PasswordCost on every case.
func hashPassword(pw string, cost int) (string, error) {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return "", invalid("password must be at least %d characters", MinPasswordLen)
	}
	if len(pw) > MaxPasswordBytes {
		return "", invalid("password must be at most %d bytes", MaxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}
