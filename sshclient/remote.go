package sshclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

const (
	// MaxOutput is how much of a command's standard output Run keeps; more
	// is an error, because a truncated result would be silently wrong.
	MaxOutput = 1 << 20
	// maxStderr is how much standard error is kept for the error message.
	maxStderr = 64 << 10
	// stderrInError is how much of the end of standard error an error shows.
	stderrInError = 2000
	// killGrace is how long a cancelled command may take to die after
	// SIGKILL before the whole connection is closed to free the caller.
	killGrace = 2 * time.Second
)

// remote is one authenticated SSH connection; each command gets its own
// session on it.
type remote struct {
	client *ssh.Client
	addr   string
}

// Run runs cmd through the remote user's shell and returns its standard
// output. A non-zero exit returns an error holding the exit status and the
// end of standard error, along with the output so far. If ctx ends first,
// the command is sent SIGKILL, its session closed, and Run returns ctx's
// error; if the command does not die promptly, the connection is closed too
// and later calls fail. Output beyond MaxOutput is an error.
func (r *remote) Run(ctx context.Context, cmd string) ([]byte, error) {
	return r.run(ctx, cmd, nil)
}

// Upload writes data to p with mode, atomically: a temporary file in the
// same directory is written, chmod-ed and renamed over p, creating parent
// directories (mode 0755) first. It runs as the connected user
// and returns an error if any step fails remotely or ctx ends.
func (r *remote) Upload(ctx context.Context, p string, mode uint32, data []byte) error {
	if p == "" || strings.HasSuffix(p, "/") {
		return fmt.Errorf("upload to %s: %q is not a file path", r.addr, p)
	}
	dir := tasks.ShellQuote(path.Dir(p))
	// The temp file is private (umask 077) until chmod gives it its mode;
	// the trap removes it if any step fails.
	script := fmt.Sprintf(`set -e
umask 022
mkdir -p -- %[1]s
umask 077
t=$(mktemp -- %[1]s/.cicf-upload.XXXXXXXX)
trap 'rm -f -- "$t"' EXIT
cat >"$t"
chmod %04[3]o -- "$t"
mv -f -- "$t" %[2]s
trap - EXIT`, dir, tasks.ShellQuote(p), mode&0o7777)
	if _, err := r.run(ctx, "sh -c "+tasks.ShellQuote(script), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("upload %s: %w", p, err)
	}
	return nil
}

// Close closes the connection; commands still running are cut off.
func (r *remote) Close() error {
	return r.client.Close()
}

func (r *remote) run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sess, err := r.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh session on %s: %w", r.addr, err)
	}
	defer sess.Close()
	stdout := &capped{max: MaxOutput}
	stderr := &capped{max: maxStderr, keepTail: true}
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	if err := sess.Start(cmd); err != nil {
		return nil, fmt.Errorf("ssh start on %s: %w", r.addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		select {
		case <-done:
		case <-time.After(killGrace):
			// The server keeps the channel open while anything holds the
			// command's output open; closing the connection frees us and
			// makes Wait return, so the goroutine ends before we do.
			r.client.Close()
			<-done
		}
		return stdout.Bytes(), fmt.Errorf("ssh run on %s: %w", r.addr, context.Cause(ctx))
	}

	out := stdout.Bytes()
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		status := fmt.Sprintf("exit status %d", exit.ExitStatus())
		if exit.Signal() != "" {
			status = "killed by signal " + exit.Signal()
		}
		return out, fmt.Errorf("ssh run on %s: %s: %s: %w", r.addr, status, stderr.tail(stderrInError), err)
	case err != nil:
		return out, fmt.Errorf("ssh run on %s: %w", r.addr, err)
	case stdout.overflow:
		return out, fmt.Errorf("ssh run on %s: standard output exceeds %d bytes", r.addr, MaxOutput)
	}
	return out, nil
}

// capped is an io.Writer that keeps at most max bytes (the first ones, or
// the last ones with keepTail) and drains the rest, so the remote command
// never blocks on a full channel.
type capped struct {
	mu       sync.Mutex
	buf      []byte
	max      int
	keepTail bool
	overflow bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if len(c.buf)+n > c.max {
		c.overflow = true
		if !c.keepTail {
			p = p[:max(0, c.max-len(c.buf))]
		}
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) > c.max {
		c.buf = append(c.buf[:0], c.buf[len(c.buf)-c.max:]...)
	}
	return n, nil
}

func (c *capped) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf)
}

// tail returns the last n bytes, trimmed, marked when cut.
func (c *capped) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.TrimSpace(string(c.buf))
	if len(s) > n || c.overflow {
		s = "…" + s[max(0, len(s)-n):]
	}
	if s == "" {
		return "(no standard error)"
	}
	return s
}
