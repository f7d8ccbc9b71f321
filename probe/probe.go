// Package probe checks a VM from outside, as a student's browser or a
// scanner would: an HTTPS request with the VM's name as TLS server name, and
// a TCP connect scan. It implements tasks.Prober.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

var _ tasks.Prober = (*Prober)(nil)

// Defaults for the zero Prober.
const (
	DefaultHTTPSPort   = 443
	DefaultConcurrency = 200
	// maxBody is how much of a response body is read before closing, so
	// that a large page cannot hold a check up.
	maxBody = 64 << 10
)

// Prober implements tasks.Prober. The zero value is ready to use: port 443,
// the system's CA roots (on Linux, SSL_CERT_FILE and SSL_CERT_DIR replace
// them), 200 connections at a time.
type Prober struct {
	// HTTPSPort is the port HTTPS dials; zero means 443.
	HTTPSPort int
	// RootCAs, if set, replaces the system roots.
	RootCAs *x509.CertPool
	// Concurrency bounds the connections OpenPorts has open at once; zero
	// means DefaultConcurrency.
	Concurrency int
	// Now is the clock for certificate validity and days left; nil means
	// time.Now.
	Now func() time.Time
}

// HTTPS fetches https://fqdn/ by dialling ip on HTTPSPort with fqdn as TLS
// server name and Host, so that stale DNS never matters. It does not follow
// redirects. It returns the status code and the whole days until the leaf
// certificate expires. It returns an error if the connection, the TLS
// handshake (including an untrusted or misnamed certificate) or the request
// fails, or ctx ends.
func (p *Prober) HTTPS(ctx context.Context, ip, fqdn string) (status int, certDaysLeft int, err error) {
	return p.get(ctx, ip, fqdn, nil)
}

// get is HTTPS, with basic-auth credentials when auth is not nil.
func (p *Prober) get(ctx context.Context, ip, fqdn string, auth *basicAuth) (status int, certDaysLeft int, err error) {
	if net.ParseIP(ip) == nil {
		return 0, 0, fmt.Errorf("https probe: %q is not an IP address", ip)
	}
	port := p.HTTPSPort
	if port == 0 {
		port = DefaultHTTPSPort
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	var dialer net.Dialer
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{ServerName: fqdn, RootCAs: p.RootCAs, Time: now},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+fqdn+"/", nil)
	if err != nil {
		return 0, 0, fmt.Errorf("https probe %s at %s: %w", fqdn, addr, err)
	}
	req.Header.Set("User-Agent", "cicf-bot-probe")
	if auth != nil {
		req.SetBasicAuth(auth.user, auth.password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("https probe %s at %s: %w", fqdn, addr, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return 0, 0, fmt.Errorf("https probe %s at %s: no server certificate", fqdn, addr)
	}
	left := resp.TLS.PeerCertificates[0].NotAfter.Sub(now())
	return resp.StatusCode, int(left / (24 * time.Hour)), nil
}

// OpenPorts connects to each of ports on ip, at most Concurrency at a time,
// each attempt bounded by timeout, and returns those that accepted, sorted
// and without duplicates. A refused, reset or timed-out attempt means closed
// or filtered; a zero timeout leaves only ctx to bound an attempt. It
// returns an error for a port outside 1..65535, when ctx ends, or when the
// scanner itself runs out of sockets, because a partial scan would hide
// open ports. It is one Scanner call with a fixed timeout and no retry.
func (p *Prober) OpenPorts(ctx context.Context, ip string, ports []int, timeout time.Duration) ([]int, error) {
	if net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("port scan: %q is not an IP address", ip)
	}
	if len(ports) == 0 {
		return nil, nil // the Scanner reads nil as the top 1000
	}
	if timeout <= 0 {
		timeout = math.MaxInt64
	}
	workers := p.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	s := &Scanner{MaxSockets: workers, MinTimeout: timeout, InitialTimeout: timeout, MaxTimeout: timeout, Retries: -1}
	res, err := s.Scan(ctx, []string{ip}, ports, nil)
	if err != nil {
		return nil, fmt.Errorf("port scan %s: %w", ip, err)
	}
	if len(res[0].Open) == 0 {
		return nil, nil
	}
	return res[0].Open, nil
}
