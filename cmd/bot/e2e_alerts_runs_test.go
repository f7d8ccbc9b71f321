package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// This file holds the alert scenarios about certificates and runs; they
// run in TestServeAlerts on its class.

// shortCert makes name's Caddy serve a certificate that lasts 3 days, as
// after failed renewals: a certificate warning at the first sweep that sees
// it; a 90-day one ends it.
func (e *alertEnv) shortCert(t *testing.T, name string) {
	start := time.Now()
	vm := e.vms[name]
	if err := vm.SetCertLifetime(72 * time.Hour); err != nil {
		t.Fatal(err)
	}
	r := e.waitResult(t, name, tasks.CheckCert, tasks.CheckFail, start)
	if r.Value > 3 {
		t.Errorf("%s's certificate failed with %v days left, want at most 3", name, r.Value)
	}
	e.waitMessage(t, name+"'s certificate alert", about(start, false, name+".cicf.cloud", "certificate"))
	// At once: the firing event holds the failed checks counted when it
	// fired (the state moves on with later sweeps).
	evs, err := store.NewAlertService(e.db).EventsSince(context.Background(), start, tasks.EventFiring)
	if err != nil {
		t.Fatal(err)
	}
	fired := 0
	for _, ev := range evs {
		if ev.VM == name && ev.Check == tasks.CheckCert {
			fired++
			if ev.Checks != 1 {
				t.Errorf("%s's certificate fired after %d failed checks, want 1 (at once)", name, ev.Checks)
			}
		}
	}
	if fired != 1 {
		t.Errorf("%s's certificate fired %d times, want once", name, fired)
	}
	renewed := time.Now()
	if err := vm.SetCertLifetime(90 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	e.waitMessage(t, name+"'s certificate resolve", about(start, true, name+".cicf.cloud", "certificate", "fine again"))
	if r := e.result(t, name, tasks.CheckCert); r.Status != tasks.CheckOK || r.Value < 89 || !r.At.After(renewed) {
		t.Errorf("%s's certificate after renewal = %+v, want ok with 89 days or more", name, r)
	}
}

// underReset resets name: the VM a run is changing is not checked (a reset
// is no outage), and it is checked again once the run ends. The run is held
// in "Wait for SSH and cloud-init" for more sweeps than fire_after; there
// the VM record already points at the new droplet, whose Caddy has not
// started (HTTPS refused), so a check would count a failure.
func (e *alertEnv) underReset(t *testing.T, name string) {
	ctx := context.Background()
	start := time.Now()
	held, release := make(chan struct{}), make(chan struct{})
	var holdOnce, freeOnce sync.Once
	free := func() { freeOnce.Do(func() { close(release) }) }
	e.fleet.SetBeforeRuncmd(func(host string) {
		if host == name+".cicf.cloud" {
			holdOnce.Do(func() { close(held) })
			<-release
		}
	})
	// A failing test must not leave the VM's boot waiting: the fleet waits
	// for its boots when the test ends.
	t.Cleanup(func() { e.fleet.SetBeforeRuncmd(nil); free() })
	old := e.ips[name]

	value := buttonValue(t, e.serveEnv, e.sendAcked(t, e2eTeacher, "reset "+name))
	e.click(t, e2eTeacher, "cicf_confirm", value)
	vms := store.NewVMService(e.db)
	e.waitFor(t, "the reset to hold and point "+name+" at its new droplet", func() bool {
		select {
		case <-held:
		default:
			return false
		}
		vm, err := vms.FindVM(ctx, name)
		return err == nil && vm.IPv4 != old
	})
	e.sweeps(t, "amy", e2eFireAfter+1)
	for _, c := range []string{tasks.CheckSSH, tasks.CheckHostKey, tasks.CheckHTTPS, tasks.CheckCert} {
		if st := e.state(t, name, c); st.Fails != 0 || st.Firing {
			t.Errorf("%s's %s counted during its reset: %+v", name, c, st)
		}
	}
	if r := e.result(t, name, tasks.CheckHTTPS); r.Status != tasks.CheckUnknown {
		t.Errorf("%s's HTTPS during its reset = %+v, want unknown (not checked)", name, r)
	}

	free()
	if line := waitRunOf(t, e.serveEnv, "reset of "+name); !strings.Contains(line, "done") {
		t.Fatalf("reset = %q, want done", line)
	}
	ended := time.Now()
	for _, c := range []string{tasks.CheckSSH, tasks.CheckHTTPS, tasks.CheckCert} {
		e.waitResult(t, name, c, tasks.CheckOK, ended)
	}
	if r := e.result(t, name, tasks.CheckCert); r.Value < 89 {
		t.Errorf("the new %s's certificate lasts %v days, want 90", name, r.Value)
	}
	if got := e.messages(about(start, false, name+".cicf.cloud")); len(got) != 0 {
		t.Errorf("the reset of %s posted %+v", name, got)
	}
	if got := e.messages(about(start, true, name+".cicf.cloud")); len(got) != 0 {
		t.Errorf("the reset of %s posted in threads %+v", name, got)
	}
	e.refreshVM(t, name)
}

// e2eFireAfter is alertsConfig's fire_after.
const e2eFireAfter = 3

// sweeps waits for n more uptime sweeps, each told by vm's SSH result
// stored anew.
func (e *alertEnv) sweeps(t *testing.T, vm string, n int) {
	t.Helper()
	last, seen := e.result(t, vm, tasks.CheckSSH).At, 0
	e.waitFor(t, fmt.Sprintf("%d uptime sweeps", n), func() bool {
		if at := e.result(t, vm, tasks.CheckSSH).At; at.After(last) {
			last, seen = at, seen+1
		}
		return seen >= n
	})
}

// refreshVM points e at name's droplet after a reset replaced it.
func (e *alertEnv) refreshVM(t *testing.T, name string) {
	t.Helper()
	for _, d := range e.do.Droplets() {
		if d.Name == name+".cicf.cloud" && d.IPv4 != e.ips[name] {
			e.vms[name], e.ips[name] = e.fleet.VM(d.ID), d.IPv4
		}
	}
}
