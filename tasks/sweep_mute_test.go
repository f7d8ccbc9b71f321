package tasks_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// A mute keeps state but says nothing; when it ends with the failure still
// there, the firing message comes at once.
func TestSweep_muteAndExpiry(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	if err := e.alerts.Mute(t.Context(), tasks.Mute{VM: "emma", Until: e.now.Add(10 * time.Minute), By: "U0TEACH01"}, e.now); err != nil {
		t.Fatal(err)
	}
	e.setService(t, "emma", false)
	for range 4 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "muted emma/")
	if st := e.state(t, "emma", tasks.CheckHTTPS); !st.Firing || st.Announced != 0 {
		t.Fatalf("muted emma/https = %+v, want firing, not announced", st)
	}
	e.now = e.now.Add(10 * time.Minute)
	// The resources sweep does not look at HTTPS, yet the mute's end
	// announces its failure at once.
	e.sweep(t, tasks.SweepResources)
	wantEvents(t, e, "muted emma/", "unmuted emma/", "firing emma/https")
}

// A mute lifted by hand: the firewall alert it held back is told at the
// next sweep of any kind, not at the next (hourly) firewall sweep.
func TestSweep_unmuteByHand(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	if err := e.alerts.Mute(t.Context(), tasks.Mute{VM: "emma", Until: e.now.Add(time.Hour), By: "U0TEACH01"}, e.now); err != nil {
		t.Fatal(err)
	}
	e.setService(t, "emma", false) // vmsim: 80 and 443 closed, so no firewall finding; use https
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	if err := e.alerts.Unmute(t.Context(), "emma", "U0TEACH02", e.now); err != nil {
		t.Fatal(err)
	}
	e.sweep(t, tasks.SweepResources) // does not look at HTTPS
	wantEvents(t, e, "muted emma/", "unmuted emma/", "firing emma/https")
}

// A firing alert whose own sweep is rare still gets its reminder on time,
// from whatever sweep runs.
func TestSweep_reminderFromOtherSweep(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...) // remind_every 1h
	e.setService(t, "emma", false)
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	e.now = e.now.Add(58 * time.Minute)
	e.sweep(t, tasks.SweepResources) // 59 min after firing: not yet
	wantEvents(t, e, "firing emma/https")
	e.sweep(t, tasks.SweepResources)
	wantEvents(t, e, "firing emma/https", "reminder emma/https")
}

// A restarted bot (a new engine over a reopened file) neither repeats the
// firing message nor loses the resolve.
func TestSweep_restart(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	for range 4 {
		e.sweep(t, tasks.SweepUptime)
	}
	e.db.Close()
	e.open(t)
	e.engine = e.newEngine()
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/https")
	e.setService(t, "emma", true)
	e.sweep(t, tasks.SweepUptime)
	e.db.Close()
	e.open(t)
	e.engine = e.newEngine()
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/https", "resolved emma/https")
}

// A VM that a run is changing (a reset) is not checked: its SSH going away
// for a while is no outage.
func TestSweep_skipsVMsUnderARun(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	runs := store.NewRunService(e.db)
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: e.alerts, Runs: runs,
		Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	run := &tasks.Run{VM: "emma", Kind: tasks.RunReset, Steps: []string{"Create the droplet"}, StepIDs: []string{"create-droplet"}}
	if err := runs.CreateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	e.moveVM(t, "emma", "198.18.0.200") // the old droplet is gone
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e)
	rs, err := e.engine.CheckNow(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != tasks.CheckUnknown || rs[0].Detail != "not checked: a reset is under way" {
		t.Errorf("CheckNow during a reset: %+v", rs[0])
	}
	run.State = tasks.RunDone
	if err := runs.UpdateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing emma/ssh")
}

// Flapping through the store: four changes within 2 h make one flapping
// message, then quiet while it keeps changing, then one resolve once it has
// been stable for an hour.
func TestSweep_flapping(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: e.alerts,
		Config: tasks.AlertConfig{FireAfter: 1, ResolveAfter: 1}, Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	for i := range 8 {
		e.setService(t, "emma", i%2 == 1) // down, up, down, up, ...
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing emma/https", "resolved emma/https", "firing emma/https", "flapping emma/https")
	e.now = e.now.Add(time.Hour)
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/https", "resolved emma/https", "firing emma/https", "flapping emma/https", "resolved emma/https")
}

// A VM powered off while its alert fires is quiet: no reminders while off;
// back on and fixed, its resolve comes.
func TestSweep_offVMIsQuiet(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...) // remind_every 1h
	e.setService(t, "emma", false)
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	vm, err := e.vms.FindVM(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	vm.Status = "off"
	if err := e.vms.UpsertVM(t.Context(), vm); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(2 * time.Hour)
	e.sweep(t, tasks.SweepUptime)
	e.sweep(t, tasks.SweepResources)
	wantEvents(t, e, "firing emma/https")
	vm.Status = "active"
	if err := e.vms.UpsertVM(t.Context(), vm); err != nil {
		t.Fatal(err)
	}
	e.setService(t, "emma", true)
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing emma/https", "resolved emma/https")
}
