package sshclient

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "id_ed25519")

	created, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(new) = %v", err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %04o, want %04o", p, got, want)
		}
	}
	if got := created.PublicKey().Type(); got != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want %s", got, ssh.KeyAlgoED25519)
	}
	pem, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(pem), "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("key file does not start with an OpenSSH PEM header")
	}

	loaded, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(existing) = %v", err)
	}
	if got, want := authorizedKey(loaded.PublicKey()), authorizedKey(created.PublicKey()); got != want {
		t.Errorf("reloaded key = %s, want %s", got, want)
	}

	// OpenSSH itself must accept the file: derive the public key from it.
	out, err := exec.Command("ssh-keygen", "-y", "-f", path).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v: install openssh-client", err)
	}
	if got, want := strings.Fields(string(out))[1], strings.Fields(authorizedKey(created.PublicKey()))[1]; got != want {
		t.Errorf("ssh-keygen -y = %s, want %s", got, want)
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadOrCreateKey(mode %04o) = %v, want a refusal saying chmod 600", mode, err)
		}
	}
}

func TestLoadOrCreateKeyGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	writeFile(t, path, "not a key\n", 0o600)
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Error("LoadOrCreateKey(garbage) succeeded")
	}
}

func TestNewHostKey(t *testing.T) {
	privatePEM, public, err := tasks.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(privatePEM))
	if err != nil {
		t.Fatalf("ParsePrivateKey(NewHostKey) = %v", err)
	}
	if got := authorizedKey(signer.PublicKey()); got != public {
		t.Errorf("public key = %q, want the private key's %q", public, got)
	}
}

// TestFingerprint uses ssh-keygen -lf as the oracle.
func TestFingerprint(t *testing.T) {
	_, generated := newHostKey(t)
	keys := map[string]string{"generated": generated}
	for _, typ := range []string{"ed25519", "rsa", "ecdsa"} {
		keys[typ] = keygen(t, typ)
	}
	for name, key := range keys {
		path := filepath.Join(t.TempDir(), "key.pub")
		writeFile(t, path, key+"\n", 0o644)
		out, err := exec.Command("ssh-keygen", "-lf", path).Output()
		if err != nil {
			t.Fatalf("ssh-keygen -lf: %v", err)
		}
		want := strings.Fields(string(out))[1]
		if got := tasks.Fingerprint(key); got != want {
			t.Errorf("tasks.Fingerprint(%s key) = %q, want %q", name, got, want)
		}
	}
	for _, bad := range []string{"", "ssh-ed25519", "ssh-ed25519 AAAA", "hello world"} {
		if got := tasks.Fingerprint(bad); got != "" {
			t.Errorf("tasks.Fingerprint(%q) = %q, want \"\"", bad, got)
		}
	}
}

func FuzzFingerprint(f *testing.F) {
	for _, seed := range []string{
		"",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cicf",
		"ssh-rsa AAAA",
		"# comment\n",
		"command=\"x\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := tasks.Fingerprint(key)
		if got != "" && (!strings.HasPrefix(got, "SHA256:") || strings.HasSuffix(got, "=")) {
			t.Errorf("tasks.Fingerprint(%q) = %q, want \"\" or SHA256:<unpadded base64>", key, got)
		}
	})
}
