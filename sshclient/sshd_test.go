package sshclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

const sshdPath = "/usr/sbin/sshd" // absolute: sshd re-executes itself

// testSSHD is a real OpenSSH sshd on 127.0.0.1 that accepts root with the
// keys the test lists.
type testSSHD struct {
	Addr      string
	dir       string
	cmd       *exec.Cmd
	log       *lineLog
	exited    chan struct{}
	listening chan struct{}
}

// startSSHD starts sshd with hostKeyPEM as its only host key and authorized
// as root's authorized_keys; it is killed when the test ends.
func startSSHD(t *testing.T, hostKeyPEM string, authorized ...string) *testSSHD {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("%s: %v: install openssh-server", sshdPath, err)
	}
	// sshd refuses to start without its privilege separation directory,
	// which exists only while the system's ssh service has run.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("real sshd needs root: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "host_key"), hostKeyPEM, 0o600)
	writeFile(t, filepath.Join(dir, "authorized_keys"), strings.Join(authorized, "\n")+"\n", 0o600)
	var lastErr string
	for range 5 { // the free port we picked may be taken before sshd binds it
		s := &testSSHD{dir: dir, log: &lineLog{listening: make(chan struct{}, 16)}, exited: make(chan struct{})}
		s.listening = s.log.listening
		s.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(freePort(t)))
		if s.start(t) {
			return s
		}
		lastErr = s.log.String()
	}
	t.Fatalf("sshd did not start:\n%s", lastErr)
	return nil
}

func (s *testSSHD) start(t *testing.T) bool {
	_, port, _ := net.SplitHostPort(s.Addr)
	config := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
AuthorizedKeysFile %[2]s/authorized_keys
PidFile %[2]s/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel INFO
`, port, s.dir)
	writeFile(t, filepath.Join(s.dir, "sshd_config"), config, 0o600)
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(s.dir, "sshd_config"))
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if !s.waitListening() {
		return false
	}
	t.Cleanup(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log)
		}
	})
	return true
}

// waitListening waits for sshd's next "Server listening" line and reports
// false if sshd exited instead.
func (s *testSSHD) waitListening() bool {
	select {
	case <-s.listening:
		return true
	case <-s.exited:
		return false
	case <-time.After(30 * time.Second): // a safety net, not an assertion
		return false
	}
}

// rotateHostKey replaces sshd's host key and makes it re-read it with
// SIGHUP, as a VM's systemctl reload ssh does.
func (s *testSSHD) rotateHostKey(t *testing.T, hostKeyPEM string) {
	t.Helper()
	writeFile(t, filepath.Join(s.dir, "host_key"), hostKeyPEM, 0o600)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP sshd: %v", err)
	}
	if !s.waitListening() {
		t.Fatalf("sshd did not come back after SIGHUP:\n%s", s.log)
	}
}

// accepted counts successful logins, to prove that nothing ran.
func (s *testSSHD) accepted() int {
	return strings.Count(s.log.String(), "Accepted publickey for ")
}

// lineLog collects sshd's log and signals each "Server listening" line.
type lineLog struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	partial   []byte
	listening chan struct{}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.partial[:i], []byte("Server listening on ")) {
			select {
			case l.listening <- struct{}{}:
			default: // nobody waits for that many restarts
			}
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// newHostKey returns a fresh host key as PEM and authorized_keys line.
func newHostKey(t *testing.T) (privatePEM, public string) {
	t.Helper()
	privatePEM, public, err := tasks.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	return privatePEM, public
}

// newClient returns a Dialer with a fresh key and that key's public half.
func newClient(t *testing.T) (*Dialer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDialer(signer, DialerConfig{Timeout: 20 * time.Second})
	return d, d.PublicKey()
}

// dial connects as root and closes the connection when the test ends.
func dial(t *testing.T, d *Dialer, addr, hostKey string) *remote {
	t.Helper()
	r, err := d.Dial(context.Background(), addr, "root", hostKey)
	if err != nil {
		t.Fatalf("Dial(%s) = %v", addr, err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*remote)
}
