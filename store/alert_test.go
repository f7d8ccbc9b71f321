package store_test

import (
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func firingState(vm string) tasks.AlertState {
	return tasks.AlertState{VM: vm, Check: tasks.CheckHTTPS, Firing: true, Announced: 1, Fails: 3, Checks: 3, Level: 2,
		Detail: "HTTPS status 502", Fix: "restart", Since: testNow.Add(-3 * time.Minute), FiredAt: testNow,
		Reminded: testNow, Changes: []time.Time{testNow}, Incident: 1, UpdatedAt: testNow}
}

func TestAlertService_saveAndRead(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	st := firingState("emma")
	if err := s.SaveAlert(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	quiet := tasks.AlertState{VM: "ana", Check: tasks.CheckSSH, Oks: 5, UpdatedAt: testNow}
	if err := s.SaveAlert(ctx, quiet, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.AlertStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].VM != "ana" || all[1].VM != "emma" {
		t.Fatalf("AlertStates = %+v, want ana then emma", all)
	}
	got := all[1]
	st.Version = 1
	if !reflect.DeepEqual(normalize(got), normalize(st)) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, st)
	}
	open, err := s.OpenAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].VM != "emma" {
		t.Errorf("OpenAlerts = %+v, want only emma", open)
	}
}

// normalize makes times comparable with DeepEqual (the store returns UTC).
func normalize(st tasks.AlertState) tasks.AlertState {
	for _, p := range []*time.Time{&st.Since, &st.FiredAt, &st.Resolved, &st.Reminded, &st.UpdatedAt} {
		*p = p.UTC()
	}
	ch := make([]time.Time, len(st.Changes))
	for i, c := range st.Changes {
		ch[i] = c.UTC()
	}
	st.Changes = ch
	return st
}

// Two writers read the same version; the second write must fail with
// ECONFLICT and queue none of its events.
func TestAlertService_saveConflict(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	ev := func(kind tasks.EventKind) []tasks.AlertEvent {
		return []tasks.AlertEvent{{Kind: kind, VM: "emma", Check: tasks.CheckHTTPS, Incident: 1, At: testNow}}
	}
	st := firingState("emma")
	if err := s.SaveAlert(ctx, st, ev(tasks.EventFiring)); err != nil {
		t.Fatal(err)
	}
	// A second replica that also found no state stored.
	if err := s.SaveAlert(ctx, st, ev(tasks.EventFiring)); tasks.ErrorCode(err) != tasks.ECONFLICT {
		t.Fatalf("second insert = %v, want ECONFLICT", err)
	}
	st.Version = 1
	a, b := st, st
	a.Fails, b.Fails = 4, 5
	if err := s.SaveAlert(ctx, a, ev(tasks.EventReminder)); err != nil {
		t.Fatalf("first update = %v", err)
	}
	if err := s.SaveAlert(ctx, b, ev(tasks.EventReminder)); tasks.ErrorCode(err) != tasks.ECONFLICT {
		t.Fatalf("stale update = %v, want ECONFLICT", err)
	}
	all, err := s.AlertStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Fails != 4 || all[0].Version != 2 {
		t.Errorf("stored Fails %d version %d, want 4 and 2", all[0].Fails, all[0].Version)
	}
	evs, err := s.EventsSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != tasks.EventFiring || evs[1].Kind != tasks.EventReminder {
		t.Errorf("outbox = %+v, want one firing and one reminder", evs)
	}
}

// Two handles on one file (two replicas) save the same state at once, many
// times: each round exactly one wins.
func TestAlertService_saveConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	svcs := []*store.AlertService{
		store.NewAlertService(MustOpenDBAt(t, path, time.Now)),
		store.NewAlertService(MustOpenDBAt(t, path, time.Now)),
	}
	ctx := t.Context()
	const rounds = 20
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				st := firingState("emma")
				st.Version = int64(round)
				errs[i] = svcs[i%2].SaveAlert(ctx, st, []tasks.AlertEvent{{Kind: tasks.EventFiring, VM: "emma", At: testNow}})
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch tasks.ErrorCode(err) {
			case "":
				wins++
			case tasks.ECONFLICT:
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won, want 1", round, wins)
		}
	}
	evs, err := svcs[0].EventsSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != rounds {
		t.Errorf("%d events queued, want %d (one per round)", len(evs), rounds)
	}
}

func TestAlertService_results(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	r1 := tasks.Result{VM: "emma", Check: tasks.CheckResources, Status: tasks.CheckFail, Detail: "CPU 99%", Fix: "kill 42",
		Value: 99, Numbers: map[string]float64{"cpu_percent": 99, "top_pid": 42}, Immediate: true, Level: 1,
		Since: testNow.Add(-10 * time.Minute), At: testNow}
	r2 := tasks.Result{VM: "ana", Check: tasks.CheckSSH, Status: tasks.CheckOK, Numbers: map[string]float64{}, At: testNow}
	if err := s.SaveResults(ctx, []tasks.Result{r1, r2}); err != nil {
		t.Fatal(err)
	}
	newer := r1
	newer.Status, newer.Value, newer.At = tasks.CheckOK, 3, testNow.Add(time.Minute)
	newer.Since = time.Time{}
	if err := s.SaveResults(ctx, []tasks.Result{newer}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestResults(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != tasks.CheckOK || got[0].Value != 3 || !got[0].Since.IsZero() || !got[0].At.Equal(newer.At) ||
		got[0].Numbers["top_pid"] != 42 || got[0].Detail != "CPU 99%" {
		t.Errorf("LatestResults(emma) = %+v, want the newer result", got)
	}
	all, err := s.LatestResults(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].VM != "ana" || all[1].VM != "emma" {
		t.Errorf("LatestResults(\"\") = %+v, want ana and emma", all)
	}
}

func TestAlertService_deleteAlert(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	st := firingState("emma")
	if err := s.SaveAlert(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveResults(ctx, []tasks.Result{
		{VM: "emma", Check: tasks.CheckHTTPS, Status: tasks.CheckFail, At: testNow},
		{VM: "emma", Check: tasks.CheckSSH, Status: tasks.CheckOK, At: testNow},
	}); err != nil {
		t.Fatal(err)
	}
	gone := []tasks.AlertEvent{{Kind: tasks.EventResolved, VM: "emma", Check: tasks.CheckHTTPS, Incident: 1, At: testNow}}
	if err := s.DeleteAlert(ctx, st, gone); tasks.ErrorCode(err) != tasks.ECONFLICT { // version 0 is stale
		t.Fatalf("DeleteAlert with a stale version = %v, want ECONFLICT", err)
	}
	st.Version = 1
	if err := s.DeleteAlert(ctx, st, gone); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlert(ctx, st, gone); tasks.ErrorCode(err) != tasks.ECONFLICT {
		t.Errorf("second DeleteAlert = %v, want ECONFLICT", err)
	}
	if all, err := s.AlertStates(ctx); err != nil || len(all) != 0 {
		t.Errorf("states %+v, %v; want none", all, err)
	}
	rs, err := s.LatestResults(ctx, "emma")
	if err != nil || len(rs) != 1 || rs[0].Check != tasks.CheckSSH {
		t.Errorf("results %+v, %v; want only ssh left", rs, err)
	}
	evs, err := s.EventsSince(ctx, time.Time{})
	if err != nil || len(evs) != 1 {
		t.Errorf("events %+v, %v; want the one resolve", evs, err)
	}
}
