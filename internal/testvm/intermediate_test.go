package testvm

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

// TestCAFiles checks the intermediate a VM's Caddy signs with: signed by
// the test CA whichever form its key is in, a CA itself, and lasting past
// the VMs' 90-day certificates.
func TestCAFiles(t *testing.T) {
	ca := NewCA(t)
	kb, _ := pem.Decode(ca.KeyPEM)
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(mustPEM(t, ca.CertPEM).Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for name, keyPEM := range map[string][]byte{
		"SEC 1":   ca.KeyPEM,
		"PKCS #8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		t.Run(name, func(t *testing.T) {
			files, err := caFiles(ca.CertPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			inter, err := x509.ParseCertificate(mustPEM(t, files[caIntermediateCertPath]).Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if err := inter.CheckSignatureFrom(root); err != nil {
				t.Errorf("the intermediate is not signed by the test CA: %v", err)
			}
			if !inter.IsCA || inter.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("the intermediate cannot sign certificates: IsCA %v, key usage %v", inter.IsCA, inter.KeyUsage)
			}
			if left := time.Until(inter.NotAfter); left < 91*24*time.Hour {
				t.Errorf("the intermediate lasts %v more, less than the VMs' certificates", left.Round(time.Hour))
			}
			if string(files[caCertPath]) != string(ca.CertPEM) || string(files[caKeyPath]) != string(keyPEM) {
				t.Error("the root's files are not the test CA's")
			}
		})
	}
	if _, err := caFiles([]byte("not PEM"), ca.KeyPEM); err == nil {
		t.Error("caFiles took a certificate that is not PEM")
	}
}

func mustPEM(t *testing.T, data []byte) *pem.Block {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("not PEM: %q", data)
	}
	return b
}
