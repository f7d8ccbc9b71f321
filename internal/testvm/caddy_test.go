package testvm

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// caddyVMIndex is this file's test VM (245–254 are the alert tests').
const caddyVMIndex = 245

// TestCaddyCertificateLifetime pins the certificates a VM's Caddy serves:
// 90 days from the test CA, as Let's Encrypt's (Caddy's internal issuer
// alone gives 12 hours, which the bot's certificate check calls expiring),
// and what SetCertLifetime asks for after it.
func TestCaddyCertificateLifetime(t *testing.T) {
	ca := NewCA(t)
	const domain = "certs.cicf.cloud"
	ud := userData("certs", newHostKey(t), `runcmd:
  - mkdir -p /home/cicf/data
  - printf '{$DOMAIN} {\n\trespond "ok"\n}\n' > /home/cicf/data/Caddyfile
  - echo "DOMAIN='`+domain+`'" > /home/cicf/data/.env
  - systemctl enable --now jupyter-caddy.service
`)
	vm := StartWithCA(t, caddyVMIndex, ud, ca.CertPEM, ca.KeyPEM)
	leaf := func() time.Duration {
		t.Helper()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", net.JoinHostPort(vm.IP(), "443"),
			&tls.Config{ServerName: domain, RootCAs: ca.Pool})
		if err != nil {
			t.Fatalf("TLS to the VM's Caddy: %v\n%s", err, mustExec(t, vm, "cat", "/var/log/cicf-caddy.log"))
		}
		defer conn.Close()
		return time.Until(conn.ConnectionState().PeerCertificates[0].NotAfter)
	}
	if left := leaf(); left < 89*24*time.Hour || left > 90*24*time.Hour {
		t.Errorf("the VM's certificate lasts %v more, want 90 days", left.Round(time.Hour))
	}
	if err := vm.SetCertLifetime(72 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if left := leaf(); left < 71*time.Hour || left > 72*time.Hour {
		t.Errorf("after SetCertLifetime(72h) the certificate lasts %v more, want 72 h", left.Round(time.Minute))
	}
}
