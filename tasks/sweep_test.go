package tasks_test

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

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
	e.setService(t, "emma", false)
	e.do.FailNext(100, 503, 0)
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
	want := []string{"cert=unknown", "firewall=ok", "hostkey=ok", "https=fail", "resources=unknown", "ssh=ok"}
	if !slices.Equal(got, want) {
		t.Errorf("CheckNow = %v, want %v", got, want)
	}
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 1 {
		t.Errorf("emma/https Fails = %d after CheckNow, want 1", st.Fails)
	}
}
