// Package sshclient connects to students' VMs over SSH with
// golang.org/x/crypto/ssh, always checking the server against its pinned host
// key. It implements tasks.RemoteDialer.
package sshclient

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// keyComment is stored in the bot's private key so that a human who finds the
// file, or the public key in a VM's authorized_keys, knows whose it is.
const keyComment = "cicf-bot"

// LoadOrCreateKey returns the bot's own SSH key stored at path in OpenSSH PEM
// format. On first run it creates an ed25519 key there with mode 0600,
// creating the parent directory with mode 0700. It returns an error, and
// does not read the key, if the file grants any permission to group or
// others; it also returns an error if the file cannot be read, parsed or
// written.
func LoadOrCreateKey(path string) (ssh.Signer, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createKey(path)
	case err != nil:
		return nil, fmt.Errorf("load ssh key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("load ssh key: %s is accessible by group or others (mode %04o); the bot's private key must be private: run chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load ssh key %s: %w", path, err)
	}
	return signer, nil
}

func createKey(path string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create ssh key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, keyComment)
	if err != nil {
		return nil, fmt.Errorf("create ssh key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create ssh key: %w", err)
	}
	// O_EXCL: if another process created the key meanwhile, fail rather
	// than silently replace a key that VMs may already trust.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create ssh key: %w", err)
	}
	_, werr := f.Write(pem.EncodeToMemory(block))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("create ssh key: %w", werr)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("create ssh key: %w", err)
	}
	return signer, nil
}

// GenerateHostKey returns a new ed25519 host key for a VM: the private key in
// OpenSSH PEM format (for cloud-init's ssh_keys.ed25519_private) and the
// public key in authorized_keys format, without a trailing newline (to pin
// and for ssh_keys.ed25519_public). It returns an error only if the system's
// random source fails.
func GenerateHostKey() (privatePEM, publicAuthorized string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", "", fmt.Errorf("generate host key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("generate host key: %w", err)
	}
	return string(pem.EncodeToMemory(block)), authorizedKey(sshPub), nil
}

// Fingerprint returns the SHA256 fingerprint of a public key in
// authorized_keys format as ssh-keygen -lf prints it ("SHA256:…", unpadded
// base64). It returns "" if authorizedKey is not a valid public key.
func Fingerprint(authorizedKey string) string {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pub)
}

// authorizedKey returns pub in authorized_keys format without the newline.
func authorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
}
