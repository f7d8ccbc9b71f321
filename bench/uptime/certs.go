package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/cicf/cicf-bot/internal/testca"
)

// writeCerts makes a throw-away CA (valid a year) and a 90-day wildcard
// leaf for *.domain signed by it, writes them to dir, and returns the
// files and a pool trusting the CA. Caddy gets the leaf as files: its own
// internal issuer makes 12-hour leaves, which the cert check would rightly
// fail.
func writeCerts(dir string) (caFile, leafCert, leafKeyFile string, pool *x509.CertPool, err error) {
	now := time.Now()
	ca, err := testca.New("cicf-bot bench CA", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return "", "", "", nil, err
	}
	leaf, err := ca.Leaf(now.Add(-time.Hour), now.AddDate(0, 0, 90), "*."+domain)
	if err != nil {
		return "", "", "", nil, err
	}
	caFile = filepath.Join(dir, "ca.crt")
	leafCert, leafKeyFile = filepath.Join(dir, "leaf.crt"), filepath.Join(dir, "leaf.key")
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{{caFile, ca.CertPEM, 0o644}, {leafCert, leaf.CertPEM, 0o644}, {leafKeyFile, leaf.KeyPEM, 0o600}} {
		if err := os.WriteFile(f.name, f.data, f.perm); err != nil {
			return "", "", "", nil, err
		}
	}
	return caFile, leafCert, leafKeyFile, ca.Pool(), nil
}
