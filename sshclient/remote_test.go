package sshclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func TestRun(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)
	r := dial(t, d, sshd.Addr, hostPub)

	tests := []struct {
		cmd     string
		want    string
		wantErr []string // substrings of the error; nil means success
	}{
		{cmd: "echo hello", want: "hello\n"},
		{cmd: `printf 'a\000b'`, want: "a\x00b"},
		{cmd: "echo out; echo 'disk full' >&2; exit 3", want: "out\n", wantErr: []string{"exit status 3", "disk full"}},
		{cmd: "exit 1", wantErr: []string{"exit status 1", "(no standard error)"}},
		{cmd: "head -c 1048577 /dev/zero", want: strings.Repeat("\x00", MaxOutput), wantErr: []string{"exceeds"}},
	}
	for _, tt := range tests {
		got, err := r.Run(context.Background(), tt.cmd)
		if string(got) != tt.want {
			t.Errorf("Run(%q) output = %q, want %q", tt.cmd, truncate(got), truncate([]byte(tt.want)))
		}
		if tt.wantErr == nil && err != nil {
			t.Errorf("Run(%q) = %v, want success", tt.cmd, err)
		}
		for _, want := range tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run(%q) error = %v, want it to contain %q", tt.cmd, err, want)
			}
		}
	}
}

func TestRunContextCancel(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)
	r := dial(t, d, sshd.Addr, hostPub)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Run(ctx, "sleep 31.7")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run(sleep) = %v, want DeadlineExceeded", err)
	}
	// Far below the 31.7 s the command would take: it was cut off, not awaited.
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Run(sleep) returned after %v", elapsed)
	}
	// As root, OpenSSH cannot deliver the signal (it needs privilege
	// separation), so Run closed the connection instead; the VM test in
	// vm_test.go checks the signal path as the unprivileged cicf user.
	if _, err := d.Dial(context.Background(), sshd.Addr, "root", hostPub); err != nil {
		t.Errorf("Dial after a cancelled Run = %v", err)
	}
}

func TestUpload(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)
	r := dial(t, d, sshd.Addr, hostPub)
	ctx := context.Background()

	dir := filepath.Join(t.TempDir(), "with space", `it's "quoted" $HOME`)
	path := filepath.Join(dir, "data 'x'.bin")
	tests := []struct {
		name string
		data []byte
		mode uint32
	}{
		{"binary, new directories", []byte("a\x00b'c\"d\n$(reboot)`x`\xff"), 0o640},
		{"overwrite", []byte("second version\n"), 0o600},
		{"empty, executable", nil, 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Upload(ctx, path, tt.mode, tt.data); err != nil {
				t.Fatalf("Upload(%q) = %v", path, err)
			}
			got, err := r.Run(ctx, "cat "+tasks.ShellQuote(path))
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Errorf("remote cat = %q, %v, want %q", got, err, tt.data)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := uint32(info.Mode().Perm()); got != tt.mode {
				t.Errorf("mode = %04o, want %04o", got, tt.mode)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the file (no temp files left)", len(entries))
			}
		})
	}

	t.Run("parent is a file", func(t *testing.T) {
		bad := filepath.Join(path, "child")
		err := r.Upload(ctx, bad, 0o644, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "mkdir: cannot create directory") {
			t.Errorf("Upload(%q) = %v, want a remote error naming the cause", bad, err)
		}
	})
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "…"...)
	}
	return b
}
