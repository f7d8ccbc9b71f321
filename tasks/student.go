package tasks

import (
	"context"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// nameRE is a DNS label short enough to leave room for the class domain.
var nameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$`)

// keyCommentRE is what a key comment may hold; deploy.Validate accepts it.
var keyCommentRE = regexp.MustCompile(`^[A-Za-z0-9 @._+:,()/=#-]{1,100}$`)

// slackIDRE matches Slack user IDs (U… or W… for Enterprise Grid).
var slackIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Student is one roster entry: a person and the VM named after them.
type Student struct {
	Name      string // DNS label; the VM is Name.Domain
	SlackID   string // the only thing authorization trusts
	Email     string // optional
	PublicKey string // optional until provisioning; authorized_keys format
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StudentService keeps the roster.
type StudentService interface {
	// FindStudent returns ENOTFOUND when no student has that name.
	FindStudent(ctx context.Context, name string) (*Student, error)
	// FindStudentBySlackID returns ENOTFOUND when no student has that ID.
	FindStudentBySlackID(ctx context.Context, slackID string) (*Student, error)
	// ListStudents returns the roster sorted by name.
	ListStudents(ctx context.Context) ([]*Student, error)
	// CreateStudent returns ECONFLICT when the name or Slack ID is taken.
	CreateStudent(ctx context.Context, s *Student) error
	// UpdateStudent replaces email and key of an existing student; ENOTFOUND if absent.
	UpdateStudent(ctx context.Context, s *Student) error
	// DeleteStudent returns ENOTFOUND when no student has that name.
	DeleteStudent(ctx context.Context, name string) error
}

// reservedNames are names no student may take, each with the reason given
// back. Host names: a student's VM is NAME.<class domain>, so a name that
// the domain already uses for a service (web, mail, name servers) would have
// provisioning rewrite that record and destroying delete it. Command words:
// `destroy all` or `power on off` must mean one thing; handlers tests assert
// that every registered verb is listed here, so a new verb cannot be missed.
// Names starting with `_` (SRV, DKIM, ACME records) and `@` (the apex) never
// pass nameRE, so they need no entry.
var reservedNames = func() map[string]string {
	m := map[string]string{}
	const host = "it is a host name the class domain may use for a service"
	for _, n := range []string{
		"www", "mail", "smtp", "imap", "pop", "pop3", "mx", "ns", "ns1", "ns2", "ns3", "ns4",
		"ftp", "api", "admin", "webmail", "autoconfig", "autodiscover", "localhost", "wpad",
		"cicf", "bot", "jupyter", "status", "help", "support",
	} {
		m[n] = host
	}
	const word = "it is a command word in `/cicf`"
	for _, n := range []string{
		// verbs (handlers registers these; a test keeps the lists in step)
		"help", "status", "roster", "key", "provision", "reset", "destroy", "power",
		"cost", "runs", "confirm", "cancel", "ssh-config", "password",
		"alerts", "mute", "unmute", "check", "scan",
		// words with meaning in arguments
		"all", "on", "off", "list", "add", "remove", "rm", "delete", "yes", "no",
	} {
		m[n] = word
	}
	return m
}()

// ReservedName reports whether name is reserved, and why.
func ReservedName(name string) (reason string, reserved bool) {
	reason, reserved = reservedNames[name]
	return reason, reserved
}

// ValidateName returns EINVALID unless name can be a student's VM name.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(EINVALID, "%q is not a valid name: use 1–31 lowercase letters, digits or dashes, starting with a letter and not ending with a dash (e.g. `emma`).", clip(name, 40))
	}
	if why, ok := reservedNames[name]; ok {
		return Errorf(EINVALID, "%q cannot be a student name: %s. Pick another, e.g. `%s-1`.", name, why, name)
	}
	return nil
}

// invisibleRune reports characters that change how text displays without
// showing themselves: bidi embeddings and overrides (U+202A–U+202E),
// isolates (U+2066–U+2069), zero-width space/joiners (U+200B–U+200D) and
// the byte-order mark (U+FEFF). In a roster field they make the roster
// list show one thing while the store holds another.
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069,
			r >= 0x200B && r <= 0x200D, r == 0xFEFF, r == 0x200E, r == 0x200F:
			return r, true
		}
	}
	return 0, false
}

// ValidateSlackID returns EINVALID unless id looks like a Slack user ID.
func ValidateSlackID(id string) error {
	if slackIDRE.MatchString(id) {
		return nil
	}
	return Errorf(EINVALID, "%q is not a Slack user: mention them with @, e.g. `@emma`.", clip(id, 40))
}

// NormalizePublicKey parses an SSH public key in authorized_keys format and
// returns it re-encoded as "TYPE BASE64 [COMMENT]". It returns EINVALID for
// anything else, including private keys pasted by mistake.
func NormalizePublicKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if strings.Contains(key, "PRIVATE KEY") {
		return "", Errorf(EINVALID, "That is a *private* key: never share it. Paste the contents of your `~/.ssh/id_ed25519.pub` instead, and consider making a new key pair.")
	}
	pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil && isDSA(key) {
		// x/crypto/ssh no longer parses DSA keys; the student deserves the
		// real reason rather than "not a key".
		return "", Errorf(EINVALID, "That is a DSA (`ssh-dss`) key: DSA is obsolete and OpenSSH no longer accepts it. Make an ed25519 key with `ssh-keygen -t ed25519` and paste `~/.ssh/id_ed25519.pub`.")
	}
	if err != nil || len(strings.TrimSpace(string(rest))) > 0 {
		return "", Errorf(EINVALID, "That is not an SSH public key. Paste one line from `~/.ssh/id_ed25519.pub` (it starts with `ssh-ed25519`).")
	}
	switch pk.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	case ssh.KeyAlgoRSA:
		if cpk, ok := pk.(ssh.CryptoPublicKey); ok {
			if rk, ok := cpk.CryptoPublicKey().(interface{ Size() int }); ok && rk.Size()*8 < MinRSABits {
				return "", Errorf(EINVALID, "That RSA key has %d bits; keys under %d bits are too weak to protect your VM (NIST SP 800-57). Make an ed25519 key: `ssh-keygen -t ed25519`.", rk.Size()*8, MinRSABits)
			}
		}
	default:
		return "", Errorf(EINVALID, "Key type %s is not supported. Make an ed25519 key: `ssh-keygen -t ed25519`.", pk.Type())
	}
	comment = strings.TrimSpace(comment)
	// A second key on the same line would pass as the comment, and only the
	// first would work; handlers join a multi-line paste into one line.
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(comment)); err == nil {
		return "", Errorf(EINVALID, "That is more than one SSH public key. Paste just one line from `~/.ssh/id_ed25519.pub`.")
	}
	out := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	// The comment is cosmetic; keep it only if it is plain enough to travel
	// into user-data and authorized_keys unquoted (deploy checks the same).
	if keyCommentRE.MatchString(comment) {
		out += " " + comment
	}
	return out, nil
}

// MinRSABits is the shortest RSA key NormalizePublicKey accepts: 3072 bits
// give the 128-bit security an ed25519 key has.
const MinRSABits = 3072

// isDSA reports whether the first line of key holds an ssh-dss key type,
// with or without authorized_keys options before it.
func isDSA(key string) bool {
	line, _, _ := strings.Cut(key, "\n")
	return slices.Contains(strings.Fields(line), "ssh-dss")
}

// Validate checks every field and normalizes the key; it returns EINVALID
// with a message naming the first bad field.
func (s *Student) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if err := ValidateSlackID(s.SlackID); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{{"email", s.Email}, {"SSH key", s.PublicKey}} {
		if r, bad := invisibleRune(f.v); bad {
			return Errorf(EINVALID, "The %s contains an invisible character (%U) that would make the roster list show something else. Retype it rather than pasting it.", f.what, r)
		}
	}
	if s.Email != "" {
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Address != s.Email || len(s.Email) > 254 {
			return Errorf(EINVALID, "%q is not an email address.", clip(s.Email, 60))
		}
	}
	if s.PublicKey != "" {
		k, err := NormalizePublicKey(s.PublicKey)
		if err != nil {
			return err
		}
		s.PublicKey = k
	}
	return nil
}

// clip shortens s for quoting it back to a person.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
