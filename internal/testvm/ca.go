package testvm

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/testca"
)

// CA is a throw-away certificate authority for test VMs' HTTPS.
type CA struct {
	CertPEM, KeyPEM []byte
	Pool            *x509.CertPool
	// File is CertPEM written to a temp file, for SSL_CERT_FILE.
	File string
}

// NewCA returns a fresh test CA, valid for a day; it fails the test if
// one cannot be made.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	c, err := testca.New("cicf-bot test CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	ca := &CA{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM, Pool: c.Pool()}
	ca.File = filepath.Join(tb.TempDir(), "ca.pem")
	if err := os.WriteFile(ca.File, ca.CertPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	return ca
}
