package tasks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// dialVM opens an SSH session to vm checked against its pinned key.
func (c *Checker) dialVM(ctx context.Context, vm VM) (Remote, error) {
	if vm.IPv4 == "" || vm.HostKey == "" {
		return nil, Errorf(EUNAVAILABLE, "%s has no address or no pinned host key yet", vm.Name)
	}
	if c.SSH == nil {
		return nil, Errorf(EUNAVAILABLE, "no SSH client configured")
	}
	user, port := c.SSHUser, c.SSHPort
	if user == "" {
		user = "cicf"
	}
	if port == 0 {
		port = 22
	}
	return c.SSH.Dial(ctx, net.JoinHostPort(vm.IPv4, strconv.Itoa(port)), user, vm.HostKey)
}

// checkSSH is the SSH handshake with the pinned key. A changed key is the
// hostkey check's finding; here it is unknown, so that one problem is one
// alert.
func (c *Checker) checkSSH(ctx context.Context, vm VM) Result {
	r, err := c.dialVM(ctx, vm)
	switch {
	case err == nil:
		r.Close()
		return c.result(vm, CheckSSH, CheckOK, "SSH answers")
	case errors.Is(err, ErrHostKeyMismatch):
		return c.result(vm, CheckSSH, CheckUnknown, detailKeyChanged)
	default:
		res := c.result(vm, CheckSSH, CheckFail, "SSH does not answer")
		res.Fix = "Power the VM on or reset it: /cicf reset " + vm.Name
		return res
	}
}

// detailKeyChanged is the ssh check's detail when the VM presented another
// key: hostKeyFromSSH reads it.
const detailKeyChanged = "host key changed"

// checkHostKey fails at once when the VM presents a key other than the pin:
// either the droplet was rebuilt behind the bot's back or someone is in the
// middle. The dial stops at the key, so nothing is sent to that host.
func (c *Checker) checkHostKey(ctx context.Context, vm VM) Result {
	r, err := c.dialVM(ctx, vm)
	switch {
	case err == nil:
		r.Close()
		return c.hostKeyResult(vm, CheckOK)
	case errors.Is(err, ErrHostKeyMismatch):
		return c.hostKeyResult(vm, CheckFail)
	default:
		return c.hostKeyResult(vm, CheckUnknown)
	}
}

// hostKeyResult is the hostkey check's result for st: ok (the key matched),
// fail (it differs) or unknown (no handshake).
func (c *Checker) hostKeyResult(vm VM, st CheckStatus) Result {
	switch st {
	case CheckOK:
		return c.result(vm, CheckHostKey, CheckOK, "host key matches the pin")
	case CheckFail:
		res := c.result(vm, CheckHostKey, CheckFail, "SSH host key differs from the pinned one; nothing was sent to the VM")
		res.Immediate = true
		res.Fix = "Do not log in. Ask an instructor to check the VM; a reset pins a new key: /cicf reset " + vm.Name
		return res
	}
	return c.result(vm, CheckHostKey, CheckUnknown, "SSH does not answer")
}

// hostKeyFromSSH is the hostkey result that the ssh check's handshake r
// already tells, so a sweep dials each VM once.
func (c *Checker) hostKeyFromSSH(vm VM, r Result) Result {
	switch {
	case r.Status == CheckOK:
		return c.hostKeyResult(vm, CheckOK)
	case r.Status == CheckUnknown && r.Detail == detailKeyChanged:
		return c.hostKeyResult(vm, CheckFail)
	}
	return c.hostKeyResult(vm, CheckUnknown)
}

// fqdn is the VM's name under the class domain.
func (c *Checker) fqdn(vm VM) string {
	if c.Domain == "" {
		return vm.Name
	}
	return vm.Name + "." + c.Domain
}

// httpsHealthy reports whether status shows the service up: Caddy answers
// 401 to a request without credentials, and redirects are fine too; 5xx
// means Caddy is up but JupyterLab behind it is not.
func httpsHealthy(status int) bool { return status >= 200 && status < 500 }

// checkHTTPS fetches https://NAME.DOMAIN/ from the droplet's address.
func (c *Checker) checkHTTPS(ctx context.Context, vm VM) Result {
	if vm.IPv4 == "" {
		return c.result(vm, CheckHTTPS, CheckUnknown, "no address")
	}
	status, days, err := c.Prober.HTTPS(ctx, vm.IPv4, c.fqdn(vm))
	if err != nil {
		res := c.result(vm, CheckHTTPS, CheckFail, "HTTPS does not answer")
		res.Fix = "Check that JupyterLab runs: sudo systemctl status jupyter-caddy"
		return res
	}
	st := CheckOK
	if !httpsHealthy(status) {
		st = CheckFail
	}
	res := c.result(vm, CheckHTTPS, st, fmt.Sprintf("HTTPS status %d", status))
	res.Value = float64(status)
	res.Numbers = map[string]float64{"cert_days": float64(days)} // certFromHTTPS reads it
	if st == CheckFail {
		res.Fix = "Restart JupyterLab: sudo systemctl restart jupyter-caddy"
	}
	return res
}

// certLevels are the days left at which a certificate warning is given;
// each crossing raises the alert's level.
var certLevels = []int{14, 7, 3, 1}

// certLevel returns 0 for a certificate with more than 14 days left, else
// the number of thresholds at or above days.
func certLevel(days int) int {
	n := 0
	for _, l := range certLevels {
		if days <= l {
			n++
		}
	}
	return n
}

// checkCert reads the days left of the certificate HTTPS presents. A failed
// fetch is the https check's finding; here it is unknown.
func (c *Checker) checkCert(ctx context.Context, vm VM) Result {
	if vm.IPv4 == "" {
		return c.result(vm, CheckCert, CheckUnknown, "no address")
	}
	_, days, err := c.Prober.HTTPS(ctx, vm.IPv4, c.fqdn(vm))
	if err != nil {
		return c.result(vm, CheckCert, CheckUnknown, "HTTPS does not answer")
	}
	return c.certResult(vm, days)
}

// certFromHTTPS is the cert result that the https check's fetch r already
// tells, so a sweep fetches each VM's page once.
func (c *Checker) certFromHTTPS(vm VM, r Result) Result {
	days, ok := r.Numbers["cert_days"]
	if !ok {
		return c.result(vm, CheckCert, CheckUnknown, "HTTPS does not answer")
	}
	return c.certResult(vm, int(days))
}

// certResult judges a certificate with days left.
func (c *Checker) certResult(vm VM, days int) Result {
	res := c.result(vm, CheckCert, CheckOK, fmt.Sprintf("certificate valid %d more days", days))
	res.Value = float64(days)
	if res.Level = certLevel(days); res.Level > 0 {
		res.Status, res.Immediate = CheckFail, true
		res.Detail = fmt.Sprintf("certificate expires in %d days", days)
		res.Fix = "Caddy renews by itself when ports 80 and 443 are open; check: sudo journalctl -u jupyter-caddy"
	}
	return res
}
