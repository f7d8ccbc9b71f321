package tasks_test

import (
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

var fleet4 = []string{"ana", "bob", "emma", "zoe"}

func wantEvents(t *testing.T, e *alertEnv, want ...string) {
	t.Helper()
	if got := e.events(t); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("outbox %q, want %q", got, want)
	}
}

// HTTPS down on one VM fires after fire_after sweeps and resolves after
// resolve_after; the results are stored for status cards.
func TestSweep_firesAndResolves(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	e.sweep(t, tasks.SweepUptime)
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e)
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 2 || st.Firing {
		t.Fatalf("after 2 sweeps emma/https = %+v, want 2 fails, not firing", st)
	}
	sum := e.sweep(t, tasks.SweepUptime)
	if sum.VMs != 4 || sum.Results != 16 || len(sum.Grouped) != 0 {
		t.Errorf("summary %+v, want 4 VMs, 16 results, none grouped", sum)
	}
	wantEvents(t, e, "firing emma/https")
	rs, err := e.alerts.LatestResults(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tasks.CheckStatus{}
	for _, r := range rs {
		got[r.Check] = r.Status
	}
	want := map[string]tasks.CheckStatus{"ssh": "ok", "hostkey": "ok", "https": "fail", "cert": "unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored results %v, want %v", got, want)
	}
	e.setService(t, "emma", true)
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/https")
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/https", "resolved emma/https")
}

// A VM whose SSH does not answer fires one SSH alert; its HTTPS failure is
// not counted (unknown is not down).
func TestSweep_unknownIsNotDown(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.moveVM(t, "emma", "198.18.0.200")
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing emma/ssh")
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 0 || st.Firing {
		t.Errorf("emma/https = %+v, want no counted failure", st)
	}
	// The resources sweep, which has no SSH result of its own, uses the
	// stored one.
	e.sweep(t, tasks.SweepResources)
	if st := e.state(t, "emma", tasks.CheckResources); st.Fails != 0 {
		t.Errorf("emma/resources = %+v, want no counted failure", st)
	}
}

// The same failure on half the class (3 of 4) is one class-wide alert, and
// no VM's own counter moves.
func TestSweep_grouped(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	for _, n := range []string{"ana", "bob", "emma"} {
		e.setService(t, n, false)
	}
	var sum tasks.SweepSummary
	for range 3 {
		sum = e.sweep(t, tasks.SweepUptime)
	}
	if !slices.Equal(sum.Grouped, []string{tasks.CheckHTTPS}) {
		t.Errorf("Grouped = %v, want [https]", sum.Grouped)
	}
	wantEvents(t, e, "firing /group:https")
	for _, n := range []string{"ana", "bob", "emma"} {
		if st := e.state(t, n, tasks.CheckHTTPS); st.Fails != 0 {
			t.Errorf("%s/https Fails = %d, want 0 while grouped", n, st.Fails)
		}
	}
	if st := e.state(t, "", "group:https"); st.Detail != "https fails on 3 of 4 VMs: ana, bob, emma" {
		t.Errorf("group detail %q", st.Detail)
	}
	// Two VMs recover: below the group threshold, emma alone now counts.
	e.setService(t, "ana", true)
	e.setService(t, "bob", true)
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:https", "resolved /group:https")
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 2 {
		t.Errorf("emma/https Fails = %d, want 2 after the group ended", st.Fails)
	}
}

// Two of four failing is not class-wide (fewer than GroupMin).
func TestSweep_notGroupedBelowMin(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "ana", false)
	e.setService(t, "bob", false)
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing ana/https", "firing bob/https")
	if st := e.state(t, "", "group:https"); st.Version != 0 {
		t.Errorf("group:https stored %+v; a class that never failed has no row", st)
	}
}

// DigitalOcean unreachable: one class-wide alert, no VM counter moves.
func TestSweep_cloudDown(t *testing.T) {
	e := newAlertEnv(t, true, fleet4...)
	e.do.FailNext(100, 503, 0)
	e.reconcileFails(t)
	cloudDownFreezes(t, e)
}

// cloudDownFreezes sweeps three times with emma's HTTPS down while
// DigitalOcean is unreachable: one class-wide alert, emma's counter still.
func cloudDownFreezes(t *testing.T, e *alertEnv) {
	t.Helper()
	e.setService(t, "emma", false)
	for range 3 {
		if sum := e.sweep(t, tasks.SweepUptime); !sum.Cloud {
			t.Fatal("summary does not say DigitalOcean is down")
		}
	}
	wantEvents(t, e, "firing /group:cloud")
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 0 {
		t.Errorf("emma/https Fails = %d, want 0 while DigitalOcean is down", st.Fails)
	}
}

// A host key other than the pin fires at the first sweep.
func TestSweep_hostKeyAtOnce(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	_, other, err := tasks.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	vm, _ := e.vms.FindVM(t.Context(), "emma")
	e.sim.Add(vm.IPv4, other, true) // the VM now presents another key
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing emma/hostkey")
	if st := e.state(t, "emma", tasks.CheckSSH); st.Fails != 0 {
		t.Errorf("emma/ssh Fails = %d, want 0: a changed key is one alert", st.Fails)
	}
}

// Two replicas sweeping the same database at the same moments fire once.
func TestSweep_twoReplicas(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	second := newAlertEnvOn(t, e)
	for range 4 {
		e.now = e.now.Add(time.Minute)
		var wg sync.WaitGroup
		for _, eng := range []*tasks.Alerts{e.engine, second} {
			wg.Go(func() {
				if _, err := eng.Sweep(t.Context(), tasks.SweepUptime); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	wantEvents(t, e, "firing emma/https")
}

// newAlertEnvOn returns a second engine on its own handle to e's file.
func newAlertEnvOn(t *testing.T, e *alertEnv) *tasks.Alerts {
	t.Helper()
	other := *e
	other.open(t)
	return other.newEngine()
}

func TestCheckNow(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	if _, err := e.engine.CheckNow(t.Context(), "nobody"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Fatalf("CheckNow(nobody) = %v, want ENOTFOUND", err)
	}
	e.setService(t, "emma", false)
	rs, err := e.engine.CheckNow(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Check+"="+string(r.Status))
	}
	// vmsim answers the resources commands from its state (an idle VM).
	want := []string{"cert=unknown", "firewall=ok", "hostkey=ok", "https=fail", "resources=ok", "ssh=ok"}
	if !slices.Equal(got, want) {
		t.Errorf("CheckNow = %v, want %v", got, want)
	}
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 1 {
		t.Errorf("emma/https Fails = %d after CheckNow, want 1", st.Fails)
	}
}

// A VM that is gone (destroyed) takes its alert states with it; an
// announced incident is told to have ended, so its thread closes.
func TestSweep_forgetsGoneVMs(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	if err := e.vms.DeleteVM(t.Context(), "emma"); err != nil {
		t.Fatal(err)
	}
	if sum := e.sweep(t, tasks.SweepUptime); sum.VMs != 3 {
		t.Errorf("swept %d VMs, want 3", sum.VMs)
	}
	wantEvents(t, e, "firing emma/https", "resolved emma/https")
	evs, err := e.alerts.EventsSince(t.Context(), time.Time{}, tasks.EventResolved)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Detail != "the VM is gone" || evs[0].Incident != 1 || evs[0].Duration != 3*time.Minute {
		t.Errorf("resolved event %+v, want incident 1 gone after 3m", evs[0])
	}
	all, err := e.alerts.AlertStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.VM == "emma" {
			t.Errorf("state of the gone VM kept: %+v", st)
		}
	}
	if rs, err := e.alerts.LatestResults(t.Context(), "emma"); err != nil || len(rs) != 0 {
		t.Errorf("results of the gone VM: %+v, %v; want none", rs, err)
	}
}

// With the reconcile job's stored view, a failed last call to DigitalOcean
// is the class-wide alert, without an API call of the sweep's own.
func TestSweep_cloudDownFromView(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	views := store.NewCloudViewStore(e.db)
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: e.alerts, Views: views, Tag: "cicf",
		Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	if sum := e.sweep(t, tasks.SweepUptime); sum.Cloud { // before any reconcile: nothing to say
		t.Fatal("cloud down before any reconcile")
	}
	save := func(errText string) {
		t.Helper()
		if _, err := views.SaveCloudView(t.Context(), &tasks.CloudView{Tag: "cicf", CheckedAt: e.now, Err: errText}); err != nil {
			t.Fatal(err)
		}
	}
	save("DigitalOcean did not answer in time.")
	cloudDownFreezes(t, e)
	save("")
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:cloud", "resolved /group:cloud")
}

// A class-wide certificate alert does not resolve (and fire again) because
// one VM's HTTPS went down, leaving its certificate unknown: it resolves
// when the certificates are renewed.
func TestSweep_groupHoldsThroughUnknowns(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	ip := map[string]string{}
	for _, n := range fleet4 {
		vm, err := e.vms.FindVM(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		ip[n] = vm.IPv4
		e.sim.SetCertDays(vm.IPv4, 5)
	}
	e.sweep(t, tasks.SweepUptime)
	wantEvents(t, e, "firing /group:cert")
	// Two VMs' HTTPS goes down: two certificates failing, two unknown.
	e.setService(t, "ana", false)
	e.setService(t, "bob", false)
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:cert", "firing ana/https", "firing bob/https")
	e.setService(t, "ana", true)
	e.setService(t, "bob", true)
	for _, n := range fleet4 {
		e.sim.SetCertDays(ip[n], 80)
	}
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:cert", "firing ana/https", "firing bob/https", "resolved ana/https", "resolved bob/https", "resolved /group:cert")
}

// VMs powered off are not among the unknowns that hold a class-wide alert:
// it resolves once the VMs still on answer.
func TestSweep_groupResolvesWithVMsOff(t *testing.T) {
	names := []string{"ana", "bob", "cyd", "dan", "emma", "zoe"}
	e := newAlertEnv(t, false, names...)
	for _, n := range names[:3] {
		e.setService(t, n, false)
	}
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:https")
	for _, n := range names[:3] {
		vm, err := e.vms.FindVM(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		vm.Status = "off"
		if err := e.vms.UpsertVM(t.Context(), vm); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	wantEvents(t, e, "firing /group:https", "resolved /group:https")
}
