package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/testca"
)

// The tests' CA is made once per process: Go reads SSL_CERT_FILE only
// once, so every test must trust the same CA.
var (
	caOnce    sync.Once
	sharedCA  *testca.CA
	notBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

func newCA(tb testing.TB) *testca.CA {
	tb.Helper()
	ca, err := testca.New("cicf test CA", notBefore.AddDate(-1, 0, 0), notAfter.AddDate(1, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

func theCA(tb testing.TB) *testca.CA {
	caOnce.Do(func() { sharedCA = newCA(tb) })
	return sharedCA
}

// leaf returns a server certificate for name, valid notBefore..notAfter.
func leaf(tb testing.TB, ca *testca.CA, name string) tls.Certificate {
	tb.Helper()
	l, err := ca.Leaf(notBefore, notAfter, name)
	if err != nil {
		tb.Fatal(err)
	}
	return l.TLS
}

// caddyLike answers like Caddy's basicauth without credentials.
func caddyLike(w http.ResponseWriter, r *http.Request) {
	if r.Host != "emma.cicf.cloud" {
		http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
		return
	}
	w.Header().Set("Www-Authenticate", `Basic realm="restricted"`)
	w.WriteHeader(http.StatusUnauthorized)
}

// redirecting sends / to /login, which would answer 200.
func redirecting(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		http.Redirect(w, r, "/login", http.StatusFound)
	}
}

// startServer serves h over TLS on loopback with a certificate for
// emma.cicf.cloud from ca.
func startServer(t *testing.T, ca *testca.CA, h http.HandlerFunc) (ip string, port int) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf(t, ca, "emma.cicf.cloud")}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return host, port
}

func TestHTTPS(t *testing.T) {
	ca := theCA(t)
	ip, port := startServer(t, ca, caddyLike)
	_, redirectPort := startServer(t, ca, redirecting)
	other := newCA(t)
	// 30 days and 5 hours before expiry: 30 whole days left.
	now := func() time.Time { return notAfter.Add(-30*24*time.Hour - 5*time.Hour) }

	tests := []struct {
		name, fqdn string
		port       int
		roots      *x509.CertPool
		wantStatus int
		wantDays   int
		wantErr    any // pointer to the error type expected in the chain
	}{
		{"basic auth answers 401", "emma.cicf.cloud", port, ca.Pool(), 401, 30, nil},
		{"redirect not followed", "emma.cicf.cloud", redirectPort, ca.Pool(), 302, 30, nil},
		{"wrong server name", "bob.cicf.cloud", port, ca.Pool(), 0, 0, new(x509.HostnameError)},
		{"untrusted CA", "emma.cicf.cloud", port, other.Pool(), 0, 0, new(x509.UnknownAuthorityError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Prober{HTTPSPort: tt.port, RootCAs: tt.roots, Now: now}
			status, days, err := p.HTTPS(context.Background(), ip, tt.fqdn)
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("HTTPS(%s) = %d, %d, %v, want a %T", tt.fqdn, status, days, err, tt.wantErr)
				}
				return
			}
			if err != nil || status != tt.wantStatus || days != tt.wantDays {
				t.Errorf("HTTPS(%s) = %d, %d, %v, want %d, %d, nil", tt.fqdn, status, days, err, tt.wantStatus, tt.wantDays)
			}
		})
	}
}

// TestHTTPSSystemRoots uses the production path: no RootCAs, the CA comes
// from SSL_CERT_FILE as in the bot's end-to-end tests.
func TestHTTPSSystemRoots(t *testing.T) {
	ca := theCA(t)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", file)
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	ip, port := startServer(t, ca, caddyLike)

	p := &Prober{HTTPSPort: port, Now: func() time.Time { return notBefore }}
	status, days, err := p.HTTPS(context.Background(), ip, "emma.cicf.cloud")
	if err != nil || status != 401 || days != 90 {
		t.Errorf("HTTPS = %d, %d, %v, want 401, 90, nil", status, days, err)
	}
}

func TestHTTPSUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &Prober{HTTPSPort: port, RootCAs: theCA(t).Pool()}
	if _, _, err := p.HTTPS(context.Background(), "127.0.0.1", "emma.cicf.cloud"); err == nil {
		t.Error("HTTPS to a closed port succeeded")
	}
	if _, _, err := p.HTTPS(context.Background(), "emma.cicf.cloud", "emma.cicf.cloud"); err == nil {
		t.Error("HTTPS with a name instead of an IP succeeded")
	}
}
