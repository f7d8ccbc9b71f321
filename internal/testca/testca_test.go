package testca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

var (
	from  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := New("testca test", from.AddDate(-1, 0, 0), until.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestLeafVerifies(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	leaf, err := ca.Leaf(from, until, "*.cicf.cloud")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(leaf.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotBefore.Equal(from) || !cert.NotAfter.Equal(until) {
		t.Errorf("leaf valid %v..%v, want %v..%v", cert.NotBefore, cert.NotAfter, from, until)
	}
	mid := from.AddDate(0, 1, 0)
	tests := []struct {
		name    string
		dns     string
		roots   *x509.CertPool
		at      time.Time
		wantErr any // pointer to the error type expected, or nil
	}{
		{"wildcard matches", "emma.cicf.cloud", ca.Pool(), mid, nil},
		{"other domain", "emma.example.org", ca.Pool(), mid, new(x509.HostnameError)},
		{"other CA", "emma.cicf.cloud", other.Pool(), mid, new(x509.UnknownAuthorityError)},
		{"after NotAfter", "emma.cicf.cloud", ca.Pool(), until.Add(time.Second), new(x509.CertificateInvalidError)},
		{"before NotBefore", "emma.cicf.cloud", ca.Pool(), from.Add(-time.Second), new(x509.CertificateInvalidError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{DNSName: tt.dns, Roots: tt.roots, CurrentTime: tt.at})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Verify(%s at %v) = %v, want nil", tt.dns, tt.at, err)
			}
			if tt.wantErr != nil && (err == nil || !errors.As(err, tt.wantErr)) {
				t.Fatalf("Verify(%s at %v) = %v, want a %T", tt.dns, tt.at, err, tt.wantErr)
			}
		})
	}
}

// TestPEM: what a file-reading server (Caddy) gets is the same key pair.
func TestPEM(t *testing.T) {
	ca := mustCA(t)
	leaf, err := ca.Leaf(from, until, "emma.cicf.cloud", "cicf.cloud")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatalf("leaf PEM: %v", err)
	}
	if string(pair.Certificate[0]) != string(leaf.TLS.Certificate[0]) {
		t.Error("leaf CertPEM is not the certificate in TLS")
	}
	if pair.Leaf.Subject.CommonName != "emma.cicf.cloud" || len(pair.Leaf.DNSNames) != 2 {
		t.Errorf("leaf CN %q, names %q, want emma.cicf.cloud and both names", pair.Leaf.Subject.CommonName, pair.Leaf.DNSNames)
	}
	caPair, err := tls.X509KeyPair(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("CA PEM: %v", err)
	}
	if !caPair.Leaf.IsCA || caPair.Leaf.KeyUsage&x509.KeyUsageCertSign == 0 || !caPair.Leaf.Equal(ca.Cert) {
		t.Errorf("CA PEM: IsCA %v, usage %b, same cert %v", caPair.Leaf.IsCA, caPair.Leaf.KeyUsage, caPair.Leaf.Equal(ca.Cert))
	}
	again, err := ca.Leaf(from, until, "emma.cicf.cloud")
	if err != nil {
		t.Fatal(err)
	}
	if again.TLS.Leaf == nil {
		again.TLS.Leaf, _ = x509.ParseCertificate(again.TLS.Certificate[0])
	}
	if again.TLS.Leaf.SerialNumber.Cmp(pair.Leaf.SerialNumber) == 0 {
		t.Error("two leaves share a serial number")
	}
	if _, err := ca.Leaf(from, until); err == nil {
		t.Error("Leaf with no name succeeded")
	}
}

// TestHandshake serves the leaf over loopback TLS and trusts only the CA.
func TestHandshake(t *testing.T) {
	ca := mustCA(t)
	now := time.Now()
	leaf, err := ca.Leaf(now.Add(-time.Hour), now.Add(time.Hour), "emma.cicf.cloud")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer func() { l.Close(); <-done }()
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		c.Close()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "emma.cicf.cloud"})
	if err != nil {
		t.Fatalf("handshake trusting the test CA: %v", err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "emma.cicf.cloud" {
		t.Errorf("served %q, want emma.cicf.cloud", got)
	}
}
