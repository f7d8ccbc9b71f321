package sshclient

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

// Handshake proves the pinned key with a key exchange and never logs in.
func TestHandshake(t *testing.T) {
	hostPEM, hostPub := newHostKey(t)
	d, clientPub := newClient(t)
	sshd := startSSHD(t, hostPEM, clientPub)
	_, otherPub := newHostKey(t)
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))

	for _, tt := range []struct {
		name, addr, pinned string
		want               func(error) bool
	}{
		{"pinned key", sshd.Addr, hostPub, func(err error) bool { return err == nil }},
		{"another key", sshd.Addr, otherPub, func(err error) bool { return errors.Is(err, tasks.ErrHostKeyMismatch) }},
		{"nobody listening", closed, hostPub, func(err error) bool { return tasks.ErrorCode(err) == tasks.EUNAVAILABLE }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Handshake(context.Background(), tt.addr, tt.pinned); !tt.want(err) {
				t.Errorf("Handshake(%s, %s) = %v", tt.addr, tasks.Fingerprint(tt.pinned), err)
			}
		})
	}
	if n := sshd.accepted(); n != 0 {
		t.Errorf("sshd accepted %d logins during handshakes, want none", n)
	}
	// The same Dialer still logs in with Dial.
	r := dial(t, d, sshd.Addr, hostPub)
	r.Close()
	if n := sshd.accepted(); n != 1 {
		t.Errorf("sshd accepted %d logins after one Dial, want 1", n)
	}
}
