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

// authorizedKey returns pub in authorized_keys format without the newline.
func authorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
}
