package sshclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/tasks"
)

// TestVM runs the adapter against a test VM as the unprivileged user cicf,
// the way the bot works: there, OpenSSH delivers the signal that stops a
// cancelled command, so the connection survives the cancellation.
func TestVM(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	vm := testvm.Start(t, 231, testvm.UserData(hostPEM, hostPub, clientPub))
	ctx := context.Background()

	_, otherPub := newHostKey(t)
	if _, err := d.Dial(ctx, vm.Addr(), "cicf", otherPub); !errors.Is(err, tasks.ErrHostKeyMismatch) {
		t.Errorf("Dial(VM, other pin) = %v, want ErrHostKeyMismatch", err)
	}
	r, err := d.Dial(ctx, vm.Addr(), "cicf", hostPub)
	if err != nil {
		t.Fatalf("Dial(VM as cicf) = %v", err)
	}
	defer r.Close()

	path := "/home/cicf/jupyter/it's here/.env"
	if err := r.Upload(ctx, path, 0o600, []byte("CADDY_USERNAME=emma\n")); err != nil {
		t.Fatalf("Upload(%q) = %v", path, err)
	}
	got, err := vm.Exec("stat", "-c", "%U %a %s", path)
	if want := "cicf 600 20\n"; err != nil || string(got) != want {
		t.Errorf("VM: stat %q = %q, %v, want %q", path, got, err, want)
	}
	if err := r.Upload(ctx, "/etc/cicf.conf", 0o644, []byte("x")); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Upload(/etc/cicf.conf) as cicf = %v, want permission denied", err)
	}

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := r.Run(cctx, "sleep 31.7"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run(sleep) = %v, want DeadlineExceeded", err)
	}
	out, err := r.Run(ctx, "pgrep -fx 'sleep 31.7' || echo none")
	if got := strings.TrimSpace(string(out)); err != nil || got != "none" {
		t.Errorf("after cancel, pgrep over the same connection = %q, %v, want none", got, err)
	}
}
