package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// finishRun records a new run of vm with data as ended in state at the
// store's clock, the way the runner does, and returns it.
func finishRun(t *testing.T, runs *store.RunService, vm string, kind tasks.RunKind, state string, data tasks.RunData, at time.Time) *tasks.Run {
	t.Helper()
	ctx := context.Background()
	r := &tasks.Run{VM: vm, Kind: kind, Steps: []string{"Create"}, StepIDs: []string{"create"}, RequestedBy: "U0TEACH01", Channel: "U0TEACH01", Data: data}
	if err := runs.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Step = 1
	if err := runs.UpdateRun(ctx, r); err != nil { // a step saved while running
		t.Fatal(err)
	}
	r.State, r.FinishedAt = state, at
	if err := runs.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A run recorded done queues its DM in the same write; a running or failed
// run, or one that tells no one, queues none; saving a done run again
// queues nothing more.
func TestStudentDMQueue_queuedWithTheRunDone(t *testing.T) {
	db := MustOpenDB(t)
	runs, dms := store.NewRunService(db), store.NewStudentDMQueue(db)
	finished := testNow.Add(-time.Minute)
	for i, tt := range []struct {
		name     string
		kind     tasks.RunKind
		state    string
		data     tasks.RunData
		wantKind tasks.DMKind
		wantTo   string
	}{
		{"reset by someone else", tasks.RunReset, tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"}, tasks.DMReset, "U0EMMA001"},
		{"first provision", tasks.RunProvision, tasks.RunDone, tasks.RunData{Welcome: "U0NOAH001"}, tasks.DMWelcome, "U0NOAH001"},
		{"failed reset", tasks.RunReset, tasks.RunFailed, tasks.RunData{Notify: "U0EMMA001"}, "", ""},
		{"still running", tasks.RunReset, tasks.RunRunning, tasks.RunData{Notify: "U0EMMA001"}, "", ""},
		{"own reset", tasks.RunReset, tasks.RunDone, tasks.RunData{}, "", ""},
	} {
		vm := fmt.Sprintf("vm%d", i)
		t.Run(tt.name, func(t *testing.T) {
			r := finishRun(t, runs, vm, tt.kind, tt.state, tt.data, finished)
			got, err := dms.DMOfRun(t.Context(), r.ID)
			if tt.wantTo == "" {
				if tasks.ErrorCode(err) != tasks.ENOTFOUND {
					t.Fatalf("DMOfRun(%s run) = %+v, %v; want ENOTFOUND", tt.state, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.wantKind || got.To != tt.wantTo || got.VM != r.VM || got.Tries != 0 || !got.NotBefore.Equal(finished) || !got.DoneAt.IsZero() {
				t.Errorf("DMOfRun = %+v, want a %s DM to %s for %s, due at %v, untried", got, tt.wantKind, tt.wantTo, r.VM, finished)
			}
			if err := runs.UpdateRun(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			if queued, err := dms.QueueDM(t.Context(), tasks.StudentDM{RunID: r.ID, Kind: tt.wantKind, VM: r.VM, To: tt.wantTo}); err != nil || queued {
				t.Errorf("QueueDM for a run that has its DM = %v, %v; want false", queued, err)
			}
			claimed, err := dms.ClaimDMs(t.Context(), "a", testNow, testNow.Add(time.Minute), 10)
			if err != nil || len(claimed) != 1 || claimed[0].ID != got.ID {
				t.Errorf("ClaimDMs after saving the done run twice = %+v, %v; want the one DM", claimed, err)
			}
		})
	}
}

// One DM through its life: due only from its time, held by one claimer
// until the claim lapses, handed back only by its holder, a refund keeps
// the count of tries, done once.
func TestStudentDMQueue_claimRetryDone(t *testing.T) {
	db := MustOpenDB(t)
	ctx := t.Context()
	runs, dms := store.NewRunService(db), store.NewStudentDMQueue(db)
	t0 := testNow
	r := finishRun(t, runs, "emma", tasks.RunReset, tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"}, t0)
	lease := 2 * time.Minute
	claim := func(owner string, at time.Time, wantTries int) tasks.StudentDM {
		t.Helper()
		got, err := dms.ClaimDMs(ctx, owner, at, at.Add(lease), 10)
		if err != nil {
			t.Fatal(err)
		}
		if wantTries == 0 {
			if len(got) != 0 {
				t.Fatalf("ClaimDMs(%s, %v) = %+v, want none", owner, at.Sub(t0), got)
			}
			return tasks.StudentDM{}
		}
		if len(got) != 1 || got[0].RunID != r.ID || got[0].Tries != wantTries {
			t.Fatalf("ClaimDMs(%s, %v) = %+v, want run %d's DM on try %d", owner, at.Sub(t0), got, r.ID, wantTries)
		}
		return got[0]
	}
	claim("a", t0.Add(-time.Second), 0) // not due yet
	dm := claim("a", t0, 1)
	claim("b", t0.Add(lease-time.Second), 0) // a holds it
	if ok, err := dms.RetryDM(ctx, dm.ID, "b", t0, false); err != nil || ok {
		t.Fatalf("RetryDM by a non-holder = %v, %v; want false", ok, err)
	}
	if ok, err := dms.RetryDM(ctx, dm.ID, "a", t0.Add(5*time.Second), false); err != nil || !ok {
		t.Fatalf("RetryDM by the holder = %v, %v; want true", ok, err)
	}
	claim("b", t0.Add(4*time.Second), 0) // handed back for later
	dm = claim("b", t0.Add(5*time.Second), 2)
	if ok, err := dms.RetryDM(ctx, dm.ID, "b", t0.Add(6*time.Second), true); err != nil || !ok {
		t.Fatalf("RetryDM with refund = %v, %v; want true", ok, err)
	}
	dm = claim("a", t0.Add(6*time.Second), 2) // the refund took back b's try
	// a dies while sending; its claim lapses and b takes the DM over.
	t1 := t0.Add(6*time.Second + lease)
	dm = claim("b", t1, 3)
	if ok, err := dms.RetryDM(ctx, dm.ID, "a", t1, false); err != nil || ok {
		t.Errorf("RetryDM by the holder of a lapsed claim = %v, %v; want false", ok, err)
	}
	if err := dms.DoneDM(ctx, dm.ID, tasks.DMSent, "", t1); err != nil {
		t.Fatal(err)
	}
	if err := dms.DoneDM(ctx, dm.ID, tasks.DMGaveUp, "late", t1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := dms.RetryDM(ctx, dm.ID, "b", t1, false); err != nil || ok {
		t.Errorf("RetryDM of a done DM = %v, %v; want false", ok, err)
	}
	claim("b", t1.Add(time.Hour), 0)
	got, err := dms.DMOfRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != tasks.DMSent || !got.DoneAt.Equal(t1) || got.Tries != 3 || got.Detail != "" {
		t.Errorf("DMOfRun = %+v, want sent at %v after 3 tries (the first outcome stays)", got, t1)
	}
	if err := dms.DoneDM(ctx, 999, tasks.DMSent, "", t1); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("DoneDM(999) = %v, want ENOTFOUND", err)
	}
}

// Two replicas (two handles on one file) claiming at once never get the
// same DM, and between them get every one.
func TestStudentDMQueue_twoClaimersOneWins(t *testing.T) {
	const n = 40
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	clock := newClock(testNow)
	dbs := []*store.DB{MustOpenDBAt(t, path, clock.Now), MustOpenDBAt(t, path, clock.Now)}
	runs := store.NewRunService(dbs[0])
	for i := range n {
		finishRun(t, runs, fmt.Sprintf("s%02d", i), tasks.RunProvision, tasks.RunDone, tasks.RunData{Welcome: fmt.Sprintf("U0S%06d", i)}, testNow)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		got   = map[int64][]string{}
		start = make(chan struct{})
	)
	for g := range 4 {
		owner := fmt.Sprintf("replica%d-%d", g%2, g)
		q := store.NewStudentDMQueue(dbs[g%2])
		wg.Go(func() {
			<-start
			for range n + 1 { // bounded: a claim that hands out a held DM must fail, not spin
				claimed, err := q.ClaimDMs(context.Background(), owner, testNow, testNow.Add(time.Minute), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, dm := range claimed {
					got[dm.ID] = append(got[dm.ID], owner)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(got) != n {
		t.Errorf("%d DMs claimed, want all %d", len(got), n)
	}
	for id, owners := range got {
		if len(owners) != 1 {
			t.Errorf("DM %d claimed by %v, want one claimer", id, owners)
		}
	}
}

// Claims take the DMs due longest ago first (of those due together, the
// one queued first), up to the limit.
func TestStudentDMQueue_claimOldestFirst(t *testing.T) {
	db := MustOpenDB(t)
	runs, dms := store.NewRunService(db), store.NewStudentDMQueue(db)
	var want []int64
	for _, c := range []struct {
		vm  string
		due time.Duration
	}{{"late", 2 * time.Second}, {"early", 0}, {"mid", time.Second}, {"tie", 0}} {
		r := finishRun(t, runs, c.vm, tasks.RunProvision, tasks.RunDone, tasks.RunData{Welcome: "U0" + strings.ToUpper(c.vm)}, testNow.Add(c.due))
		want = append(want, r.ID)
	}
	want = []int64{want[1], want[3], want[2]} // early, tie (queued later), mid
	got, err := dms.ClaimDMs(t.Context(), "a", testNow.Add(time.Minute), testNow.Add(2*time.Minute), 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, dm := range got {
		ids = append(ids, dm.RunID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("ClaimDMs(limit 3) = runs %v, want %v (oldest due first, then oldest queued)", ids, want)
	}
}
