package testvm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Where a VM keeps the intermediate CA its Caddy signs with (read by the
// systemctl stand-in).
const (
	caIntermediateCertPath = "/etc/cicf-testvm/intermediate.crt"
	caIntermediateKeyPath  = "/etc/cicf-testvm/intermediate.key"
)

// intermediateLifetime outlasts the 90-day certificates the VMs serve:
// Caddy cuts a certificate to its intermediate's end, and the one Caddy
// 2.6 makes itself lasts 7 days (no setting changes that before 2.7).
const intermediateLifetime = 365 * 24 * time.Hour

// caFiles returns the files a VM's Caddy needs to serve HTTPS from the test
// CA: its root (caCert, caKey) and an intermediate it signed, by path in
// the VM.
func caFiles(caCert, caKey []byte) (map[string][]byte, error) {
	cb, _ := pem.Decode(caCert)
	kb, _ := pem.Decode(caKey)
	if cb == nil || kb == nil {
		return nil, errors.New("testvm: the test CA's certificate or key is not PEM")
	}
	root, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testvm: the test CA's certificate: %w", err)
	}
	rootKey, err := parseSigner(kb)
	if err != nil {
		return nil, fmt.Errorf("testvm: the test CA's key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "cicf-bot test intermediate CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(intermediateLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("testvm: sign the intermediate CA: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		caCertPath:             caCert,
		caKeyPath:              caKey,
		caIntermediateCertPath: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		caIntermediateKeyPath:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

// parseSigner reads a private key in SEC 1 ("EC PRIVATE KEY") or PKCS #8
// ("PRIVATE KEY") form, whichever the test CA writes.
func parseSigner(b *pem.Block) (crypto.Signer, error) {
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", k)
	}
	return signer, nil
}
