package tasks_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/tasks"
)

// A server that accepts TCP and never answers (a hung Caddy) is HTTPS down
// once the check's deadline passes, not unknown; a check stopped by its
// sweep's end is unknown.
func TestChecker_deadlineIsFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	c := &tasks.Checker{
		Prober:   &probe.Prober{HTTPSPort: ln.Addr().(*net.TCPAddr).Port},
		Timeouts: map[string]time.Duration{tasks.CheckHTTPS: 200 * time.Millisecond},
	}
	vm := tasks.VM{Name: "emma", IPv4: "127.0.0.1"}
	if r := c.Run(t.Context(), tasks.CheckHTTPS, vm); r.Status != tasks.CheckFail {
		t.Errorf("hung HTTPS: %+v, want fail", r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r := c.Run(ctx, tasks.CheckHTTPS, vm); r.Status != tasks.CheckUnknown {
		t.Errorf("sweep ended: %+v, want unknown", r)
	}
}

// A part not wired is an unknown result naming it, not a crash.
func TestChecker_missingParts(t *testing.T) {
	c := &tasks.Checker{}
	vm := tasks.VM{Name: "emma", IPv4: "127.0.0.1", HostKey: "ssh-ed25519 AAAA"}
	for check, want := range map[string]string{
		tasks.CheckSSH:       "not checked: no SSH client configured",
		tasks.CheckHostKey:   "not checked: no SSH client configured",
		tasks.CheckResources: "not checked: no SSH client configured",
		tasks.CheckFirewall:  "not checked: no port scanner configured",
		tasks.CheckHTTPS:     "not checked: no HTTPS prober configured",
		tasks.CheckCert:      "not checked: no HTTPS prober configured",
	} {
		if r := c.Run(t.Context(), check, vm); r.Status != tasks.CheckUnknown || r.Detail != want {
			t.Errorf("%s: %+v, want unknown %q", check, r, want)
		}
	}
}

// Without SSH the firewall check still scans; it cannot name the process.
func TestChecker_firewallWithoutSSH(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	c := &tasks.Checker{Scanner: proberScanner{&probe.Prober{}}, ScanPorts: []int{port}, Config: tasks.DefaultAlertConfig()}
	r := c.Run(t.Context(), tasks.CheckFirewall, tasks.VM{Name: "emma", IPv4: "127.0.0.1", HostKey: "ssh-ed25519 AAAA"})
	if r.Status != tasks.CheckFail || !strings.Contains(r.Detail, "process unknown") {
		t.Errorf("%+v, want the open port, process unknown", r)
	}
}
