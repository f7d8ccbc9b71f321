package sshclient

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func TestDialPinnedKey(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)

	r := dial(t, d, sshd.Addr, hostPub)
	out, err := r.Run(context.Background(), "id -un")
	if got, want := string(out), "root\n"; err != nil || got != want {
		t.Fatalf("Run(id -un) = %q, %v, want %q", got, err, want)
	}
	if !strings.HasPrefix(d.PublicKey(), "ssh-ed25519 ") || strings.Contains(d.PublicKey(), "\n") {
		t.Errorf("PublicKey() = %q, want one ssh-ed25519 line", d.PublicKey())
	}
}

func TestDialHostKeyMismatch(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)
	_, otherPub := newHostKey(t)
	ecdsaPub := keygen(t, "ecdsa")

	tests := []struct {
		name, pinned, wantGot string
	}{
		{"other ed25519 key", otherPub, tasks.Fingerprint(hostPub)},
		{"key type the server lacks", ecdsaPub, "(none of type ecdsa-sha2-nistp256)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sshd.accepted()
			r, err := d.Dial(context.Background(), sshd.Addr, "root", tt.pinned)
			if err == nil {
				r.Close()
				t.Fatalf("Dial(pinned %s) succeeded, want mismatch", tasks.Fingerprint(tt.pinned))
			}
			if !errors.Is(err, tasks.ErrHostKeyMismatch) {
				t.Fatalf("Dial() = %v, want ErrHostKeyMismatch in chain", err)
			}
			for _, want := range []string{tt.wantGot, tasks.Fingerprint(tt.pinned)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Dial() = %q, want it to name %q", err, want)
				}
			}
			if got := tasks.ErrorCode(err); got != tasks.ECONFLICT {
				t.Errorf("ErrorCode = %q, want %q", got, tasks.ECONFLICT)
			}
			if got := sshd.accepted(); got != before {
				t.Errorf("sshd accepted %d logins during a mismatched dial, want none", got-before)
			}
		})
	}
}

func TestDialUnavailable(t *testing.T) {
	_, hostPub := newHostKey(t)
	d, _ := newClient(t)

	// A port nobody listens on: refused at once.
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	// A listener that accepts and never speaks: only ctx ends the handshake.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	tests := []struct {
		name, addr string
		wantCause  error
	}{
		{"refused", closed, syscall.ECONNREFUSED},
		{"silent", silent.Addr().String(), context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			r, err := d.Dial(ctx, tt.addr, "root", hostPub)
			if err == nil {
				r.Close()
				t.Fatalf("Dial(%s) succeeded", tt.addr)
			}
			if got := tasks.ErrorCode(err); got != tasks.EUNAVAILABLE {
				t.Errorf("ErrorCode(%v) = %q, want %q", err, got, tasks.EUNAVAILABLE)
			}
			if !errors.Is(err, tt.wantCause) {
				t.Errorf("Dial() = %v, want %v in chain", err, tt.wantCause)
			}
		})
	}
}

func TestDialKeyRejected(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	_, authorizedPub := newClient(t)
	sshd := startSSHD(t, hostPEM, authorizedPub)
	stranger, _ := newClient(t)

	r, err := stranger.Dial(context.Background(), sshd.Addr, "root", hostPub)
	if err == nil {
		r.Close()
		t.Fatal("Dial with an unlisted key succeeded")
	}
	if got := tasks.ErrorCode(err); got != tasks.EINTERNAL {
		t.Errorf("ErrorCode(%v) = %q, want %q", err, got, tasks.EINTERNAL)
	}
	if errors.Is(err, tasks.ErrHostKeyMismatch) {
		t.Errorf("Dial() = %v, a rejected client key is not a host key mismatch", err)
	}
}

// TestHostKeyRotation replaces the server's host key the way provisioning
// does (new key file, SIGHUP): the old pin must stop working.
func TestHostKeyRotation(t *testing.T) {
	oldPEM, oldPub := newHostKey(t)
	newPEM, newPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, oldPEM, clientPub)

	dial(t, d, sshd.Addr, oldPub)
	sshd.rotateHostKey(t, newPEM)

	_, err := d.Dial(context.Background(), sshd.Addr, "root", oldPub)
	if !errors.Is(err, tasks.ErrHostKeyMismatch) {
		t.Fatalf("Dial(old pin) after rotation = %v, want ErrHostKeyMismatch", err)
	}
	r := dial(t, d, sshd.Addr, newPub)
	if _, err := r.Run(context.Background(), "true"); err != nil {
		t.Fatalf("Run over the new pin: %v", err)
	}
}

// keygen makes a key of type with ssh-keygen and returns its public line.
func keygen(t *testing.T, typ string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -t %s: %v\n%s: install openssh-client", typ, err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}
