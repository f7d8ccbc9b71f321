package deploy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/syncbuf"
	"github.com/cicf/cicf-bot/internal/testca"
)

// caddyEnv is the environment compose gives Caddy: the rendered .env.
func caddyEnv(t *testing.T, pl *Payload, extra ...string) []string {
	t.Helper()
	var env []string
	for k, v := range parseEnv(t, payloadFile(t, pl, DataDir+"/.env").Data) {
		env = append(env, k+"="+v)
	}
	return isolatedEnv(t, append(env, extra...)...)
}

func TestCaddyfileValidates(t *testing.T) {
	bin := needTool(t, "caddy", "caddy")
	p := mustParams(t)
	pl := mustRender(t, p)
	path := writeTemp(t, "Caddyfile", payloadFile(t, pl, DataDir+"/Caddyfile").Data, 0o644)
	env := caddyEnv(t, pl)

	var stderr bytes.Buffer
	adapt := exec.Command(bin, "adapt", "--config", path, "--adapter", "caddyfile")
	adapt.Env, adapt.Stderr = env, &stderr
	out, err := adapt.Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr.String())
	}
	// Caddy warns about unformatted input and the like; the file we ship
	// should not need `caddy fmt`.
	if strings.Contains(stderr.String(), `"warn"`) {
		t.Errorf("caddy adapt warns:\n%s", stderr.String())
	}
	for _, want := range []string{`"http_basic"`, `"cicf"`, p.CaddyPasswordHash, `"emma.cicf.cloud"`, `"dial":"jupyter:8888"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("caddy adapt output lacks %s:\n%s", want, out)
		}
	}

	validate := exec.Command(bin, "validate", "--config", path, "--adapter", "caddyfile")
	validate.Env = env
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
}

// TestCaddyServes runs the rendered Caddyfile in a real Caddy, on loopback,
// with certificates from a test CA, in front of a stand-in for Jupyter.
func TestCaddyServes(t *testing.T) {
	t.Parallel() // slow: a cost-12 hash, and Caddy checks it per request
	bin := needTool(t, "caddy", "caddy")
	password := testPassword
	hash, err := testPasswordHash()
	if err != nil {
		t.Fatal(err)
	}
	p := mustParams(t)
	p.CaddyPasswordHash = hash
	pl := mustRender(t, p)

	var mu sync.Mutex
	var proxied []string
	jupyter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied = append(proxied, r.Host+r.URL.Path)
		mu.Unlock()
		fmt.Fprint(w, "jupyterlab stand-in")
	}))
	t.Cleanup(jupyter.Close)

	dir := t.TempDir()
	caPool := writeTestCA(t, dir)
	httpPort, httpsPort := freePort(t), freePort(t)
	// Test-only global options: certificates from the test CA instead of
	// Let's Encrypt, loopback high ports, no admin endpoint.
	global := fmt.Sprintf(`{
	admin off
	http_port %d
	https_port %d
	default_bind 127.0.0.1
	local_certs
	skip_install_trust
	pki {
		ca local {
			root {
				cert %s
				key %s
			}
		}
	}
}

`, httpPort, httpsPort, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	caddyfile := filepath.Join(dir, "Caddyfile")
	data := append([]byte(global), payloadFile(t, pl, DataDir+"/Caddyfile").Data...)
	if err := os.WriteFile(caddyfile, data, 0o644); err != nil {
		t.Fatal(err)
	}

	var logs syncbuf.Buffer
	cmd := exec.Command(bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Env = caddyEnv(t, pl, "JUPYTER_UPSTREAM="+jupyter.Listener.Addr().String())
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("caddy output:\n%s", logs.String())
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	tlsConf := &tls.Config{RootCAs: caPool, ServerName: p.FQDN}
	waitTLS(t, addr, tlsConf, exited)

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: tlsConf,
			// Whatever the URL says, only Caddy on loopback is dialled.
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}
	t.Cleanup(client.CloseIdleConnections)
	tests := []struct {
		name       string
		user, pass string
		auth       bool
		want       int
	}{
		{"no credentials", "", "", false, http.StatusUnauthorized},
		{"wrong password", "cicf", password + "x", true, http.StatusUnauthorized},
		{"wrong user", "root", password, true, http.StatusUnauthorized},
		{"right credentials", "cicf", password, true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "https://"+p.FQDN+"/lab", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET /lab: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET /lab as %q = %d, want %d", tt.user, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate: browsers would not ask for a password")
			}
			if tt.want == http.StatusOK && string(body) != "jupyterlab stand-in" {
				t.Errorf("body = %q, want the upstream's", body)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	// Caddy keeps the Host header, which Jupyter's origin check relies on.
	if want := []string{p.FQDN + "/lab"}; strings.Join(proxied, ",") != strings.Join(want, ",") {
		t.Errorf("upstream saw %q, want only the authenticated %q", proxied, want)
	}
}

// writeTestCA writes ca.crt and ca.key into dir and returns a pool trusting it.
func writeTestCA(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	ca, err := testca.New("cicf-bot deploy test CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.key"), ca.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca.Pool()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitTLS waits until addr completes a handshake that conf trusts, which
// is when Caddy has its certificate; it fails if Caddy exits first.
func waitTLS(t *testing.T, addr string, conf *tls.Config, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("caddy exited before serving %s", addr)
		default:
		}
		var conn *tls.Conn
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, conf)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("caddy did not serve a trusted certificate on %s: %v", addr, err)
}
