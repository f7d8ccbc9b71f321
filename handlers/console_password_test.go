package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/syncbuf"
)

// openPTY returns the master and the slave side of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx (a Linux pty): %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// On a terminal the console reads the password with echo off: the terminal
// shows the command typed before it, not the password; echo is back after.
func TestConsolePasswordIsNotEchoedOnATerminal(t *testing.T) {
	env := accessEnv(t)
	master, slave := openPTY(t)
	var out syncbuf.Buffer
	c := &handlers.Console{Router: env.router, UserID: emmaID, In: slave, Out: &out, Prompt: "cicf> "}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	waitFor := func(what string) {
		t.Helper()
		// A liveness bound, not a speed target: bcrypt under -race on two
		// busy cores took ~9 s, and once over 10.
		for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), what); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("console never printed %q:\n%s", what, out.String())
			}
		}
	}
	const pw = "terminal secret words 5"
	if _, err := master.WriteString("password\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("(not shown): ")
	if _, err := master.WriteString(pw + "\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("password is set")
	if _, err := master.WriteString("help\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("Getting started")
	// What the terminal echoed back to the person typing: read while the
	// master has something (poll, so that no read blocks).
	var echoed bytes.Buffer
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(master.Fd()), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 200); err != nil || n == 0 || fds[0].Revents&unix.POLLIN == 0 {
			break
		}
		n, err := unix.Read(int(master.Fd()), buf)
		if n <= 0 || err != nil {
			break
		}
		echoed.Write(buf[:n])
	}
	got := echoed.String()
	if !strings.Contains(got, "password") || !strings.Contains(got, "help") {
		t.Errorf("terminal echo = %q, want the commands typed around the password", got)
	}
	if strings.Contains(got, pw) || strings.Contains(out.String(), pw) {
		t.Errorf("the password was shown: echo %q, output %q", got, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("console Run = %v", err)
	}
}
