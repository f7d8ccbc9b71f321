package tasks_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// movedClock is a clock only tests move.
type movedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movedClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// replica is one bot process's scheduler over its own handle to a shared
// SQLite file, with its own lease holder ID; runs counts its job runs.
type replica struct {
	sched  *tasks.Scheduler
	leases *store.LeaseService
	runs   map[string]*atomic.Int32
}

// newReplicas returns n schedulers sharing one database file whose clock
// is clk, each with jobs on spec (deadline a minute).
func newReplicas(t *testing.T, clk *movedClock, n int, spec string, jobs ...string) []*replica {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cicf.db")
	rs := make([]*replica, n)
	for i := range rs {
		db, err := store.Open(t.Context(), path, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r := &replica{sched: tasks.NewScheduler(time.UTC, nil), leases: store.NewLeaseService(db), runs: map[string]*atomic.Int32{}}
		r.sched.ShareLeases(r.leases, string(rune('A'+i)))
		for _, name := range jobs {
			count := &atomic.Int32{}
			r.runs[name] = count
			if err := r.sched.Add(name, spec, time.Minute, func(context.Context) error { count.Add(1); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		rs[i] = r
	}
	return rs
}

// Two replicas ticking on the same spec: every tick of each job runs in
// one of them, the holder of its lease, and the other leaves it.
func TestScheduler_twoReplicasRunOncePerTick(t *testing.T) {
	clk := &movedClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)} // still: leases never expire
	jobs := []string{tasks.JobUptime, tasks.JobReconcile}
	rs := newReplicas(t, clk, 2, "@every 1s", jobs...)
	for _, r := range rs {
		r.sched.Start()
	}
	waitFor(t, "three ticks of every job in both replicas", func() bool {
		for _, r := range rs {
			for _, j := range jobs {
				if st := r.sched.Stats(j); st.Started+st.Passed < 3 {
					return false
				}
			}
		}
		return true
	})
	for _, r := range rs {
		stopWithin(t, r.sched, 10*time.Second)
	}
	for _, j := range jobs {
		a, b := rs[0].sched.Stats(j), rs[1].sched.Stats(j)
		if (a.Started == 0) == (b.Started == 0) {
			t.Errorf("%s ran %d times in A and %d in B, want it in one replica only", j, a.Started, b.Started)
		}
		if ran := rs[0].runs[j].Load() + rs[1].runs[j].Load(); int(ran) != a.Started+b.Started || a.Passed+b.Passed < 3 {
			t.Errorf("%s: %d runs, stats A %+v, B %+v; want every tick run once and left once", j, ran, a, b)
		}
	}
}

// recordedLeases is the real lease store, noting the lease each ask wants.
type recordedLeases struct {
	tasks.Leases
	mu  sync.Mutex
	ttl map[string]time.Duration
}

func (r *recordedLeases) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	r.ttl[name] = ttl
	r.mu.Unlock()
	return r.Leases.Acquire(ctx, name, holder, ttl)
}

// A lease lasts the deadline, and at least the period of an "@every"
// spec (replicas tick at different moments), plus a margin.
func TestScheduler_leaseTTL(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "cicf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leases := &recordedLeases{Leases: store.NewLeaseService(db), ttl: map[string]time.Duration{}}
	s := tasks.NewScheduler(time.UTC, nil)
	s.ShareLeases(leases, "A")
	for _, tc := range []struct {
		spec    string
		timeout time.Duration
		want    time.Duration
	}{
		{"@every 1m", 30 * time.Second, time.Minute + 15*time.Second},
		{"@every 1m", 2 * time.Minute, 2*time.Minute + 15*time.Second},
		{"@hourly", 15 * time.Minute, 15*time.Minute + 15*time.Second}, // same moments on every replica
		{"0 8 * * *", time.Minute, time.Minute + 15*time.Second},
	} {
		name := tc.spec + "/" + tc.timeout.String()
		if err := s.Add(name, tc.spec, tc.timeout, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		if got := leases.ttl[name]; got != tc.want {
			t.Errorf("lease of %q with deadline %s = %s, want %s", tc.spec, tc.timeout, got, tc.want)
		}
	}
}

// The lease passes on when its holder dies (at expiry, by the moved
// clock) or stops (at once: Stop releases it), and not before.
func TestScheduler_leasePassesOn(t *testing.T) {
	clk := &movedClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	rs := newReplicas(t, clk, 2, tasks.ReconcileSpec, tasks.JobReconcile)
	a, b := rs[0], rs[1]
	const ttl = time.Minute + 15*time.Second // @every 1m, deadline 1m: TestScheduler_leaseTTL
	// A replica that took the lease and died without a word.
	if ok, err := a.leases.Acquire(t.Context(), tasks.JobReconcile, "dead", ttl); !ok || err != nil {
		t.Fatalf("the dead replica's Acquire = %v, %v", ok, err)
	}
	for _, step := range []struct {
		what    string
		move    time.Duration
		r       *replica
		stop    bool // stop r instead of running
		wantRan bool
	}{
		{what: "A, while the dead replica's lease lasts", r: a},
		{what: "B, at its expiry", move: ttl, r: b},
		{what: "B, just past it", move: time.Nanosecond, r: b, wantRan: true},
		{what: "A, now B holds it", r: a},
		{what: "B, renewing", move: 50 * time.Second, r: b, wantRan: true},
		{what: "A, past B's first lease, not its renewal", move: 50 * time.Second, r: a},
		{what: "B stops", r: b, stop: true},
		{what: "A, at once after B stopped", r: a, wantRan: true},
		{what: "B, stopped", r: b},
	} {
		clk.Add(step.move)
		if step.stop {
			stopWithin(t, step.r.sched, 10*time.Second)
			continue
		}
		before := step.r.runs[tasks.JobReconcile].Load()
		if err := step.r.sched.Run(t.Context(), tasks.JobReconcile); err != nil {
			t.Fatalf("%s: Run = %v", step.what, err)
		}
		if ran := step.r.runs[tasks.JobReconcile].Load() > before; ran != step.wantRan {
			t.Fatalf("%s: ran = %v, want %v", step.what, ran, step.wantRan)
		}
	}
	if st := a.sched.Stats(tasks.JobReconcile); st.Started != 1 || st.Passed != 3 {
		t.Errorf("A's stats %+v, want 1 run started and 3 left to another replica", st)
	}
	if err := a.sched.Run(t.Context(), "nope"); tasks.ErrorCode(err) != tasks.EINVALID {
		t.Errorf("Run(nope) = %v, want EINVALID", err)
	}
	stopWithin(t, a.sched, 10*time.Second)
}

// A lease store that fails: the job does not run (it might run twice),
// and the run counts as failed with the store's error.
func TestScheduler_leaseStoreFails(t *testing.T) {
	clk := &movedClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "cicf.db"), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := tasks.NewScheduler(time.UTC, nil)
	s.ShareLeases(store.NewLeaseService(db), "A")
	var ran atomic.Int32
	if err := s.Add(tasks.JobReconcile, tasks.ReconcileSpec, time.Minute, func(context.Context) error { ran.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context(), tasks.JobReconcile); err == nil {
		t.Error("Run with a closed store = nil, want its error")
	}
	if st := s.Stats(tasks.JobReconcile); ran.Load() != 0 || st.Failed != 1 || st.Started != 0 || st.LastErr == nil {
		t.Errorf("ran %d times, stats %+v; want no run, one failure", ran.Load(), st)
	}
}
