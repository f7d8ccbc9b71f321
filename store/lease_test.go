package store_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
)

// Two handles on one file, as two replicas have, with one moved clock: the
// holder renews, the other is refused until the lease expires or is
// released.
func TestLeaseService_Acquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	clk := newClock(testNow)
	replicas := map[string]*store.LeaseService{
		"a": store.NewLeaseService(MustOpenDBAt(t, path, clk.Now)),
		"b": store.NewLeaseService(MustOpenDBAt(t, path, clk.Now)),
	}
	const ttl = time.Minute
	for _, step := range []struct {
		what    string
		move    time.Duration // clock moves by this first
		holder  string
		lease   string
		release bool // release instead of acquire
		want    bool
	}{
		{what: "a takes a free lease", holder: "a", lease: "uptime", want: true},
		{what: "b is refused while a holds it", move: 30 * time.Second, holder: "b", lease: "uptime", want: false},
		{what: "b takes another job's lease", holder: "b", lease: "digest", want: true},
		{what: "a renews before it expires", move: 20 * time.Second, holder: "a", lease: "uptime", want: true},
		{what: "b is refused where a's first lease would have expired", move: 20 * time.Second, holder: "b", lease: "uptime", want: false},
		{what: "b is refused at the renewed expiry itself", move: 40 * time.Second, holder: "b", lease: "uptime", want: false},
		{what: "b takes it just after it expires", move: time.Nanosecond, holder: "b", lease: "uptime", want: true},
		{what: "a is refused now", holder: "a", lease: "uptime", want: false},
		{what: "a releasing b's lease does nothing", holder: "a", lease: "uptime", release: true},
		{what: "so a is still refused", holder: "a", lease: "uptime", want: false},
		{what: "b releases", holder: "b", lease: "uptime", release: true},
		{what: "a takes the released lease at once", holder: "a", lease: "uptime", want: true},
	} {
		clk.Advance(step.move)
		// Each replica writes through its own handle; the holder's name
		// picks it.
		l := replicas[step.holder]
		if step.release {
			if err := l.Release(t.Context(), step.lease, step.holder); err != nil {
				t.Fatalf("%s: Release(%s, %s) = %v", step.what, step.lease, step.holder, err)
			}
			continue
		}
		got, err := l.Acquire(t.Context(), step.lease, step.holder, ttl)
		if err != nil || got != step.want {
			t.Fatalf("%s: Acquire(%s, %s) = %v, %v; want %v", step.what, step.lease, step.holder, got, err, step.want)
		}
	}
}

func TestLeaseService_emptyHolder(t *testing.T) {
	l := store.NewLeaseService(MustOpenDB(t))
	if ok, err := l.Acquire(t.Context(), "uptime", "", time.Minute); err == nil || ok {
		t.Errorf("Acquire with no holder = %v, %v; want an error", ok, err)
	}
}

// Many replicas asking at the same moment: exactly one gets the lease.
func TestLeaseService_concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	clk := newClock(testNow)
	const n = 8
	var wg sync.WaitGroup
	got := make([]bool, n)
	errs := make([]error, n)
	leases := make([]*store.LeaseService, n)
	for i := range leases {
		leases[i] = store.NewLeaseService(MustOpenDBAt(t, path, clk.Now))
	}
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = leases[i].Acquire(t.Context(), "reconcile", string(rune('a'+i)), time.Minute)
		})
	}
	wg.Wait()
	held := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if got[i] {
			held++
		}
	}
	if held != 1 {
		t.Errorf("%d replicas got the lease, want 1", held)
	}
}
