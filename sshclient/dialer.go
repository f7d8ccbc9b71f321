package sshclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

var _ tasks.RemoteDialer = (*Dialer)(nil)

// DefaultTimeout bounds a dial (TCP connect, handshake and authentication)
// when DialerConfig.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// DialerConfig holds what NewDialer needs besides the key.
type DialerConfig struct {
	// Timeout bounds each Dial on top of the caller's context; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives debug records of connections; nil discards them.
	Logger *slog.Logger
}

// Dialer opens SSH connections to VMs as the bot, authenticating with the
// bot's own key and accepting only a VM's pinned host key.
type Dialer struct {
	signer  ssh.Signer
	timeout time.Duration
	log     *slog.Logger
}

// NewDialer returns a Dialer that authenticates with signer.
func NewDialer(signer ssh.Signer, cfg DialerConfig) *Dialer {
	d := &Dialer{signer: signer, timeout: cfg.Timeout, log: cfg.Logger}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// PublicKey returns the bot's public key in authorized_keys format, without
// a trailing newline.
func (d *Dialer) PublicKey() string {
	return authorizedKey(d.signer.PublicKey())
}

// Dial connects to addr (host:port) as user and accepts the server only if it
// proves to hold hostKey (authorized_keys format). If the server presents a
// different key, or none of hostKey's type, Dial returns an error wrapping
// tasks.ErrHostKeyMismatch that names both fingerprints; the connection is
// closed during key exchange, before authentication, so no command runs. If the host cannot be reached or does not finish the
// handshake before ctx or the dialer's timeout ends, it returns an error
// holding a tasks EUNAVAILABLE error and the cause. A rejected key or an
// invalid hostKey is an internal error.
func (d *Dialer) Dial(ctx context.Context, addr, user, hostKey string) (tasks.Remote, error) {
	c, err := d.connect(ctx, addr, user, hostKey, true)
	if err != nil {
		return nil, err
	}
	return &remote{client: c, addr: addr}, nil
}

// Handshake proves that the server at addr holds hostKey: the key exchange,
// with the server's signature checked against the pin, and no login. It
// answers as Dial does (ErrHostKeyMismatch, EUNAVAILABLE). It costs the VM
// a key exchange only, which is all an uptime check needs.
func (d *Dialer) Handshake(ctx context.Context, addr, hostKey string) error {
	_, err := d.connect(ctx, addr, "", hostKey, false)
	return err
}

// errKeyProven ends a handshake-only connection once the server has proven
// the pinned key, before authentication.
var errKeyProven = errors.New("host key proven")

// connect dials addr and runs the SSH handshake against the pinned
// hostKey; with login it authenticates as user and returns the client,
// without it stops once the key is proven and returns nil, nil.
func (d *Dialer) connect(ctx context.Context, addr, user, hostKey string, login bool) (*ssh.Client, error) {
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return nil, fmt.Errorf("ssh dial %s: parse pinned host key: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()

	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, unavailable(addr, err)
	}

	var mismatch error // set by the callback before the handshake fails
	proven := false
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(d.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			// x/crypto calls this after it checked the server's signature
			// of the exchange: a match proves the server holds the key.
			if bytes.Equal(got.Marshal(), pinned.Marshal()) {
				if !login {
					proven = true
					return errKeyProven
				}
				return nil
			}
			mismatch = mismatchError(addr, ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(pinned))
			return mismatch
		},
		// Offering only the pinned key's algorithms makes the server prove
		// possession of that key rather than of another one it may hold.
		HostKeyAlgorithms: hostKeyAlgorithms(pinned),
	}

	// x/crypto's handshake has no context; closing the connection is what
	// interrupts it, also when the server stops talking.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	interrupted := !stop()
	switch {
	case proven:
		conn.Close()
		d.log.Debug("ssh host key proven", "addr", addr, "host_key_fingerprint", ssh.FingerprintSHA256(pinned))
		return nil, nil
	case mismatch != nil:
		conn.Close()
		return nil, mismatch
	case err != nil && isHostKeyNegotiation(err):
		conn.Close()
		return nil, mismatchError(addr, "(none of type "+pinned.Type()+")", ssh.FingerprintSHA256(pinned))
	case interrupted:
		conn.Close()
		return nil, unavailable(addr, fmt.Errorf("ssh handshake: %w", context.Cause(ctx)))
	case err != nil:
		conn.Close()
		if isNetworkFailure(err) {
			return nil, unavailable(addr, err)
		}
		return nil, fmt.Errorf("ssh dial %s as %s: %w", addr, user, err)
	}
	d.log.Debug("ssh connected", "addr", addr, "user", user, "host_key_fingerprint", ssh.FingerprintSHA256(pinned))
	return ssh.NewClient(c, chans, reqs), nil
}

// hostKeyAlgorithms returns the host key signature algorithms that prove
// possession of key.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{key.Type()}
}

func mismatchError(addr, got, pinned string) error {
	return fmt.Errorf("ssh dial %s: server host key %s, pinned %s: %w", addr, got, pinned, tasks.ErrHostKeyMismatch)
}

func isHostKeyNegotiation(err error) bool {
	var neg *ssh.AlgorithmNegotiationError
	if errors.As(err, &neg) {
		return neg.What == "host key"
	}
	return strings.Contains(err.Error(), "no common algorithm for host key")
}

// isNetworkFailure reports whether err means the server went away or never
// answered, as opposed to answering with a refusal.
func isNetworkFailure(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne) && ne.Timeout()
}

func unavailable(addr string, cause error) error {
	host, _, _ := net.SplitHostPort(addr)
	if host == "" {
		host = addr
	}
	return fmt.Errorf("ssh dial %s: %w: %w", addr,
		tasks.Errorf(tasks.EUNAVAILABLE, "The VM at %s did not answer over SSH. If it was just created or powered on, it may still be booting: try again in a minute.", host),
		cause)
}
