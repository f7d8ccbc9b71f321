package tasks_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// racingStore is the real store where, just before the first save of one
// (VM, check), a second replica saves it first (through its own handle), as
// if it had swept a moment earlier.
type racingStore struct {
	*store.AlertService
	other        *store.AlertService
	vm, check    string
	once         sync.Once
	otherAt      time.Time // when the other replica stepped; zero: at its last sweep
	otherStepped tasks.AlertState
}

func (s *racingStore) SaveAlert(ctx context.Context, st tasks.AlertState, evs []tasks.AlertEvent) error {
	if st.VM == s.vm && st.Check == s.check {
		var err error
		s.once.Do(func() {
			all, e := s.other.AlertStates(ctx)
			if e != nil {
				err = e
				return
			}
			for _, o := range all {
				if o.VM == s.vm && o.Check == s.check {
					o.Fails++ // the other replica counted its own failure
					if s.otherAt.After(o.UpdatedAt) {
						o.UpdatedAt = s.otherAt
					}
					s.otherStepped = o
					err = s.other.SaveAlert(ctx, o, nil)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return s.AlertService.SaveAlert(ctx, st, evs)
}

// A conflicting write is reloaded and the step retried on the fresh state:
// the other replica's count is kept and the alert fires once.
func TestSweep_conflictRetried(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	e.sweep(t, tasks.SweepUptime) // emma/https: 1 failure, version 1
	other := *e
	other.open(t)
	rs := &racingStore{AlertService: e.alerts, other: other.alerts, vm: "emma", check: tasks.CheckHTTPS}
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: rs,
		Config: tasks.AlertConfig{FireAfter: 3}, Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	e.now = e.now.Add(time.Minute)
	if _, err := e.engine.Sweep(t.Context(), tasks.SweepUptime); err != nil {
		t.Fatal(err)
	}
	if rs.otherStepped.Fails != 2 {
		t.Fatalf("the other replica's write did not happen: %+v", rs.otherStepped)
	}
	st := e.state(t, "emma", tasks.CheckHTTPS)
	if st.Fails != 3 || !st.Firing || st.Version != 3 {
		t.Errorf("emma/https = %+v, want 3 failures, firing, version 3", st)
	}
	wantEvents(t, e, "firing emma/https")
}

// Two replicas sweeping together: the one that lost the race finds that the
// winner stepped after its own result was taken, and does not count the same
// sweep twice.
func TestSweep_conflictSameSweepCountedOnce(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	e.sweep(t, tasks.SweepUptime) // emma/https: 1 failure
	other := *e
	other.open(t)
	e.now = e.now.Add(time.Minute)
	rs := &racingStore{AlertService: e.alerts, other: other.alerts, vm: "emma", check: tasks.CheckHTTPS, otherAt: e.now}
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: rs,
		Config: tasks.AlertConfig{FireAfter: 3}, Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	if _, err := e.engine.Sweep(t.Context(), tasks.SweepUptime); err != nil {
		t.Fatal(err)
	}
	if st := e.state(t, "emma", tasks.CheckHTTPS); st.Fails != 2 || st.Firing || st.Version != 3 {
		t.Errorf("emma/https = %+v, want 2 failures (one per sweep), not firing, version 3", st)
	}
	wantEvents(t, e)
}

// stuckNetwork is vmsim behind a network where one address swallows
// packets: dials and requests there hang until their deadline.
type stuckNetwork struct {
	tasks.RemoteDialer
	tasks.Prober
	stuck string
	waits *atomic.Int32 // calls that waited out a deadline
	calls *atomic.Int32 // every dial and fetch
}

func (n stuckNetwork) Dial(ctx context.Context, addr, user, hostKey string) (tasks.Remote, error) {
	n.calls.Add(1)
	if addr == n.stuck+":22" {
		n.waits.Add(1)
		<-ctx.Done()
		return nil, tasks.Errorf(tasks.EUNAVAILABLE, "dial %s: timed out", addr)
	}
	return n.RemoteDialer.Dial(ctx, addr, user, hostKey)
}

func (n stuckNetwork) HTTPS(ctx context.Context, ip, fqdn string) (int, int, error) {
	n.calls.Add(1)
	if ip == n.stuck {
		n.waits.Add(1)
		<-ctx.Done()
		return 0, 0, ctx.Err()
	}
	return n.Prober.HTTPS(ctx, ip, fqdn)
}

// One VM that never answers holds one slot for its checks' deadlines; with
// a single slot the others are still checked, and it is down, not unknown.
func TestSweep_slowVMDoesNotStall(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	emma, err := e.vms.FindVM(t.Context(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	netw := stuckNetwork{RemoteDialer: e.sim, Prober: e.sim, stuck: emma.IPv4, waits: new(atomic.Int32), calls: new(atomic.Int32)}
	short := 100 * time.Millisecond
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: netw, Prober: netw, Scanner: proberScanner{e.sim}, Store: e.alerts, Parallel: 1,
		Timeouts: map[string]time.Duration{tasks.CheckSSH: short, tasks.CheckHostKey: short, tasks.CheckHTTPS: short, tasks.CheckCert: short},
		Now:      e.clock, Logger: slog.New(slog.DiscardHandler),
	})
	e.sweep(t, tasks.SweepUptime)
	rs, err := e.alerts.LatestResults(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tasks.CheckStatus{}
	for _, r := range rs {
		got[r.VM+"/"+r.Check] = r.Status
	}
	for _, n := range fleet4 {
		want := tasks.CheckOK
		if n == "emma" {
			want = tasks.CheckFail
		}
		if got[n+"/ssh"] != want || (n != "emma" && got[n+"/https"] != tasks.CheckOK) {
			t.Errorf("%s: ssh %s https %s, want ssh %s", n, got[n+"/ssh"], got[n+"/https"], want)
		}
	}
	// One handshake and one fetch per VM: hostkey and cert are read from
	// them, so the stuck VM too waited out one deadline each.
	if n := netw.calls.Load(); n != 2*int32(len(fleet4)) {
		t.Errorf("%d dials and fetches, want 2 per VM", n)
	}
	if n := netw.waits.Load(); n != 2 || got["emma/hostkey"] != tasks.CheckUnknown || got["emma/cert"] != tasks.CheckUnknown {
		t.Errorf("%d calls waited out a deadline (want 2); hostkey %s, cert %s (want unknown)", n, got["emma/hostkey"], got["emma/cert"])
	}
	if got["emma/https"] != tasks.CheckFail {
		t.Errorf("emma/https stored %s, want what was found (fail); only counting skips it", got["emma/https"])
	}
}
