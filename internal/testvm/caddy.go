package testvm

import (
	"fmt"
	"testing"
	"time"
)

// StartWithCA is Start for a VM that also serves HTTPS the way the real one
// would after provisioning: when the bot enables jupyter-caddy.service, the
// systemctl stand-in runs the real Caddy from the Caddyfile and .env the bot
// uploaded, with certificates from this test CA instead of Let's Encrypt,
// lasting 90 days as theirs do (there is no Docker here; 401 without
// credentials is what the bot checks).
func StartWithCA(tb testing.TB, index int, userData, caCertPEM, caKeyPEM []byte) *VM {
	tb.Helper()
	return startWithCA(tb, index, userData, caCertPEM, caKeyPEM, nil)
}

func startWithCA(tb testing.TB, index int, userData, caCertPEM, caKeyPEM []byte, hold func()) *VM {
	tb.Helper()
	files, err := caFiles(caCertPEM, caKeyPEM)
	if err != nil {
		tb.Fatalf("testvm.StartWithCA: %v", err)
	}
	return start(tb, index, userData, files, hold)
}

// Where StartWithCA puts the test CA inside the VM (read by the systemctl
// stand-in).
const (
	caCertPath = "/etc/cicf-testvm/ca.crt"
	caKeyPath  = "/etc/cicf-testvm/ca.key"
)

// certLifetimePath holds the lifetime of the certificates the VM's Caddy
// issues (read by the systemctl stand-in; 90 days without it).
const certLifetimePath = "/etc/cicf-testvm/cert_lifetime"

// caddyCertificates is where the VM's Caddy keeps the certificates it
// issued (its XDG_DATA_HOME is /var/lib/cicf-caddy).
const caddyCertificates = "/var/lib/cicf-caddy/caddy/certificates"

// SetCertLifetime makes the VM's Caddy (a VM of StartWithCA or a Debian VM,
// running jupyter-caddy.service) serve a certificate that lasts d from now,
// as a VM whose renewals failed would: it records d, forgets the stored
// certificates and restarts the unit, which issues a new one at once.
func (vm *VM) SetCertLifetime(d time.Duration) error {
	if d < time.Minute {
		return fmt.Errorf("testvm: certificate lifetime %v is under a minute", d)
	}
	// Through the VM's own view of its files: writing the overlay's upper
	// directory behind its back is not supported.
	script := fmt.Sprintf("echo %ds > %s && rm -rf %s && systemctl restart jupyter-caddy.service",
		int64(d/time.Second), certLifetimePath, caddyCertificates)
	_, err := vm.Exec("/bin/sh", "-c", script)
	return err
}
