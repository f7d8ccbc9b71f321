package tasks_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// countingDialer counts the logins (Dial) per address; handshakes pass.
type countingDialer struct {
	tasks.RemoteDialer
	mu    sync.Mutex
	dials map[string]int
}

func (d *countingDialer) Dial(ctx context.Context, addr, user, hostKey string) (tasks.Remote, error) {
	d.mu.Lock()
	d.dials[addr]++
	d.mu.Unlock()
	return d.RemoteDialer.Dial(ctx, addr, user, hostKey)
}

func (d *countingDialer) count(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials[addr]
}

// engineWith is e's engine with ssh and scanner in place of the defaults.
func (e *alertEnv) engineWith(ssh tasks.RemoteDialer, scanner tasks.PortScanner, timeouts map[string]time.Duration) *tasks.Alerts {
	return tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: ssh, Prober: e.sim, Scanner: scanner, Store: e.alerts, Timeouts: timeouts,
		Config: tasks.AlertConfig{FireAfter: 3, ResolveAfter: 2, RemindEvery: time.Hour},
		Domain: "cicf.cloud", Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
}

// A resources sweep does not log in to a VM whose SSH failed at the last
// uptime sweep (its result would not count), and does again once SSH
// answers.
func TestSweep_noLoginWhileSSHFails(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	ssh := &countingDialer{RemoteDialer: e.sim, dials: map[string]int{}}
	e.engine = e.engineWith(ssh, proberScanner{e.sim}, nil)
	emma, err := e.vms.FindVM(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Cut(emma.IPv4, true)
	e.sweep(t, tasks.SweepUptime)
	e.sweep(t, tasks.SweepResources)
	if n := ssh.count(emma.IPv4 + ":22"); n != 0 {
		t.Errorf("resources sweep logged in to emma (SSH failing) %d times, want 0", n)
	}
	bob, _ := e.vms.FindVM(t.Context(), "bob")
	if n := ssh.count(bob.IPv4 + ":22"); n != 1 {
		t.Errorf("resources sweep logged in to bob %d times, want 1", n)
	}
	if r := latest(t, e, "emma", tasks.CheckResources); r.Status != tasks.CheckUnknown || !strings.Contains(r.Detail, "SSH") {
		t.Errorf("emma/resources = %s %q, want unknown, saying SSH", r.Status, r.Detail)
	}

	e.sim.Cut(emma.IPv4, false)
	e.sweep(t, tasks.SweepUptime)
	e.sweep(t, tasks.SweepResources)
	if n := ssh.count(emma.IPv4 + ":22"); n != 1 {
		t.Errorf("resources sweep after SSH came back logged in to emma %d times, want 1", n)
	}
	if r := latest(t, e, "emma", tasks.CheckResources); r.Status != tasks.CheckOK {
		t.Errorf("emma/resources after SSH came back = %s %q, want ok", r.Status, r.Detail)
	}
}

// blockingScanner stands for a scan of a host that never answers: it
// returns when its context ends, or after a long fallback that says the
// check waited out its own deadline.
type blockingScanner struct{ waitedOut chan bool }

func (s blockingScanner) ScanPorts(ctx context.Context, addrs []string, _ []int) (map[string][]int, error) {
	select {
	case <-ctx.Done():
		s.waitedOut <- false
		return nil, ctx.Err()
	case <-time.After(20 * time.Second):
		s.waitedOut <- true
		return map[string][]int{addrs[0]: nil}, nil
	}
}

// check NAME on a VM whose SSH fails stops the firewall check at once
// instead of letting it wait out its own (here hour-long) deadline.
func TestCheckNow_stopsLoginChecksWhenSSHFails(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	scan := blockingScanner{waitedOut: make(chan bool, 1)}
	e.engine = e.engineWith(e.sim, scan, map[string]time.Duration{tasks.CheckFirewall: time.Hour})
	emma, err := e.vms.FindVM(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Cut(emma.IPv4, true)
	rs, err := e.engine.CheckNow(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	if <-scan.waitedOut {
		t.Errorf("the firewall scan waited for its own deadline after SSH had failed")
	}
	for _, r := range rs {
		if r.Check == tasks.CheckFirewall && (r.Status != tasks.CheckUnknown || !strings.Contains(r.Detail, "SSH")) {
			t.Errorf("firewall = %s %q, want unknown, saying SSH", r.Status, r.Detail)
		}
		if r.Check == tasks.CheckSSH && r.Status != tasks.CheckFail {
			t.Errorf("ssh = %s, want fail", r.Status)
		}
	}
}

// latest returns the stored latest result of (vm, check).
func latest(t *testing.T, e *alertEnv, vm, check string) tasks.Result {
	t.Helper()
	rs, err := e.alerts.LatestResults(t.Context(), vm)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no stored %s/%s result", vm, check)
	return tasks.Result{}
}
