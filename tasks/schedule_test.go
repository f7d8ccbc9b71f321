package tasks_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// waitFor polls cond until it holds, failing after a generous deadline:
// cron runs on the wall clock, but no assertion here depends on its speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopWithin stops s, cancelling runs still going after d.
func stopWithin(t *testing.T, s *tasks.Scheduler, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// stopWaits checks that Stop returns only after the run in flight, which
// ends when release is closed and then counts itself in finished.
func stopWaits(t *testing.T, s *tasks.Scheduler, release chan struct{}, finished *atomic.Int32) {
	t.Helper()
	stopped := make(chan int32, 1)
	go func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		stopped <- finished.Load()
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a run was in flight")
	case <-time.After(300 * time.Millisecond): // only a weaker test if slow
	}
	close(release)
	if n := <-stopped; n != 1 {
		t.Errorf("Stop returned with %d runs finished, want 1", n)
	}
}

// A run due while the last one still goes is skipped, never overlapped;
// Stop waits for the run in flight.
func TestScheduler_skipsAndStopWaits(t *testing.T) {
	s := tasks.NewScheduler(time.UTC, nil)
	release := make(chan struct{})
	var running, maxRunning, finished atomic.Int32
	err := s.Add("slow", "@every 1s", time.Minute, func(ctx context.Context) error {
		n := running.Add(1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		<-release
		running.Add(-1)
		finished.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "a skipped run", func() bool { return s.Stats("slow").Skipped >= 1 })
	if st := s.Stats("slow"); st.Started != 1 || st.Running != 1 || maxRunning.Load() != 1 {
		t.Fatalf("stats %+v, max running %d; want one run in flight", st, maxRunning.Load())
	}
	stopWaits(t, s, release, &finished)
}

// Each run has a deadline; a failed run is counted with its error.
func TestScheduler_deadline(t *testing.T) {
	s := tasks.NewScheduler(nil, nil)
	if err := s.Add("stuck", "@every 1s", 20*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer stopWithin(t, s, 5*time.Second)
	waitFor(t, "a finished run", func() bool { return s.Stats("stuck").Finished >= 1 })
	if st := s.Stats("stuck"); !errors.Is(st.LastErr, context.DeadlineExceeded) || st.Failed < 1 {
		t.Errorf("stats %+v, want a run ended by its deadline", st)
	}
}

func TestScheduler_timeZoneAndSpecs(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	s := tasks.NewScheduler(loc, nil)
	noop := func(context.Context) error { return nil }
	if err := s.Add("digest", "0 8 * * *", time.Minute, noop); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("uptime", "every minute", time.Minute, noop); tasks.ErrorCode(err) != tasks.EINVALID || !strings.Contains(err.Error(), "alerts.uptime") {
		t.Errorf("bad spec: %v, want EINVALID naming alerts.uptime", err)
	}
	if err := s.Add("digest", "@hourly", time.Minute, noop); tasks.ErrorCode(err) != tasks.EINVALID {
		t.Errorf("second digest job: %v, want EINVALID", err)
	}
	s.Start()
	defer s.Stop(context.Background())
	next := s.Next("digest")
	if next.In(loc).Hour() != 8 || next.UTC().Hour() != 7 || next.In(loc).Minute() != 0 {
		t.Errorf("digest next at %v, want 08:00 CET (07:00 UTC)", next)
	}
}

// The alert jobs run real sweeps on their specs, and the digest job queues
// one digest for the day however often it runs.
func TestScheduleAlerts(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	e.setService(t, "emma", false)
	e.engine = tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: e.alerts,
		Config: tasks.AlertConfig{Uptime: "@every 1s", Firewall: "@every 1s", Resources: "@every 1s", Digest: "@every 1s", FireAfter: 1},
		Now:    time.Now,
	})
	s := tasks.NewScheduler(time.UTC, nil)
	if err := tasks.ScheduleAlerts(s, e.engine); err != nil {
		t.Fatal(err)
	}
	s.Start()
	jobs := []string{tasks.JobUptime, tasks.JobFirewall, tasks.JobResources, tasks.JobDigest}
	waitFor(t, "every job to run twice", func() bool {
		for _, j := range jobs {
			if s.Stats(j).Finished < 2 {
				return false
			}
		}
		return true
	})
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if st := s.Stats(j); st.Failed != 0 {
			t.Errorf("%s: %+v, want no failed run", j, st)
		}
	}
	digests, err := e.alerts.EventsSince(t.Context(), time.Time{}, tasks.EventDigest)
	if err != nil {
		t.Fatal(err)
	}
	firing, err := e.alerts.EventsSince(t.Context(), time.Time{}, tasks.EventFiring)
	if err != nil {
		t.Fatal(err)
	}
	// Run near midnight, two days' digests are right; more are not.
	if len(digests) < 1 || len(digests) > 2 {
		t.Errorf("%d digests queued, want one a day", len(digests))
	}
	if len(firing) != 1 || firing[0].VM != "emma" || firing[0].Check != tasks.CheckHTTPS {
		t.Errorf("firing events %+v, want emma/https once", firing)
	}
}

// A job marked to run at start runs at once, though its schedule is a year
// away, and Stop waits for that run too.
func TestScheduler_runAtStart(t *testing.T) {
	s := tasks.NewScheduler(time.UTC, nil)
	release := make(chan struct{})
	var finished atomic.Int32
	if err := s.Add("yearly", "0 0 1 1 *", time.Minute, func(ctx context.Context) error {
		<-release
		finished.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunAtStart("nope"); tasks.ErrorCode(err) != tasks.EINVALID {
		t.Errorf("RunAtStart(nope) = %v, want EINVALID", err)
	}
	if err := s.RunAtStart("yearly"); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "the run at start", func() bool { return s.Stats("yearly").Started == 1 })
	stopWaits(t, s, release, &finished)
}
