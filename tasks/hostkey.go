package tasks

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// NewHostKey returns a fresh ed25519 SSH host key: the private half in
// OpenSSH PEM (for the droplet's user-data, never stored) and the public half
// in authorized_keys format (pinned). It fails only if the system's random
// source does.
func NewHostKey() (privatePEM, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", "", fmt.Errorf("marshal host key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("host public key: %w", err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), nil
}

// randomPassword returns a password nobody knows: the JupyterLab login stays
// closed until the student sets their own.
func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Fingerprint returns the SHA256 fingerprint of an authorized_keys line as
// ssh-keygen -lf prints it ("SHA256:…"), or "" if it does not parse.
func Fingerprint(authorizedKey string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pk)
}
