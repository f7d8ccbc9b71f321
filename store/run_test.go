package store_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

var (
	resetSteps   = []string{"Power off", "Rebuild droplet", "Wait for SSH", "Install payload"}
	resetStepIDs = []string{"power-off", "rebuild", "wait-ssh", "install"}
)

// diffRun returns "" if got and want are the same run, else what differs.
// Empty and nil Steps and StepIDs are the same.
func diffRun(got, want *tasks.Run) string {
	var d []string
	g, w := *got, *want
	g.Steps, w.Steps, g.StepIDs, w.StepIDs = nil, nil, nil, nil
	g.CreatedAt, g.UpdatedAt, g.FinishedAt = time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.UpdatedAt, w.FinishedAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		d = append(d, fmt.Sprintf("got %+v, want %+v", g, w))
	}
	if !slices.Equal(got.Steps, want.Steps) {
		d = append(d, fmt.Sprintf("Steps = %q, want %q", got.Steps, want.Steps))
	}
	if !slices.Equal(got.StepIDs, want.StepIDs) {
		d = append(d, fmt.Sprintf("StepIDs = %q, want %q", got.StepIDs, want.StepIDs))
	}
	d = append(d, diffTimes(
		timeField{"CreatedAt", got.CreatedAt, want.CreatedAt},
		timeField{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
		timeField{"FinishedAt", got.FinishedAt, want.FinishedAt},
	)...)
	return strings.Join(d, "; ")
}

// runIDs returns the IDs of runs, in order, for messages.
func runIDs(runs []*tasks.Run) []int64 {
	var ids []int64
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestRunService(t *testing.T) {
	clk := newClock(testNow)
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "cicf-bot.db"), clk.Now)
	s := store.NewRunService(db)

	// No student "emma" exists: runs do not need one.
	r := &tasks.Run{VM: "emma", Kind: tasks.RunReset, Steps: resetSteps, StepIDs: resetStepIDs, RequestedBy: "UTEACHER"}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatalf("CreateRun(%s) = %v", r.Title(), err)
	}
	if r.ID == 0 {
		t.Errorf("CreateRun(%s) left ID 0", r.Title())
	}
	want := &tasks.Run{ID: r.ID, VM: "emma", Kind: tasks.RunReset, State: tasks.RunRunning, Steps: resetSteps,
		StepIDs: resetStepIDs, RequestedBy: "UTEACHER", CreatedAt: testNow, UpdatedAt: testNow}
	if d := diffRun(r, want); d != "" {
		t.Errorf("CreateRun(%s) left %s", r.Title(), d)
	}
	got, err := s.FindRun(t.Context(), r.ID)
	if err != nil {
		t.Fatalf("FindRun(%d) = %v", r.ID, err)
	}
	if d := diffRun(got, want); d != "" {
		t.Errorf("FindRun(%d): %s", r.ID, d)
	}

	finished := testNow.Add(3*time.Minute + 7)
	for _, tc := range []struct {
		name   string
		change func(r *tasks.Run)
	}{
		{"learn data", func(r *tasks.Run) {
			r.Step = 2
			r.Data.DropletID = 123456789
			r.Data.HostKey = hostKey
			r.Data.CreateSent = true
		}},
		{"fail", func(r *tasks.Run) {
			r.State, r.Error, r.FinishedAt = tasks.RunFailed, "SSH did not answer in 5 minutes.", finished
		}},
		{"clear data", func(r *tasks.Run) { r.Data = tasks.RunData{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(time.Minute)
			tc.change(r)
			if err := s.UpdateRun(t.Context(), r); err != nil {
				t.Fatalf("UpdateRun(%d) = %v", r.ID, err)
			}
			want := *r
			want.CreatedAt, want.UpdatedAt = testNow, clk.Now()
			if d := diffRun(r, &want); d != "" {
				t.Errorf("UpdateRun(%d) left %s", r.ID, d)
			}
			got, err := s.FindRun(t.Context(), r.ID)
			if err != nil {
				t.Fatalf("FindRun(%d) = %v", r.ID, err)
			}
			if d := diffRun(got, &want); d != "" {
				t.Errorf("FindRun(%d) after update: %s", r.ID, d)
			}
		})
	}

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"FindRun", func() error { _, err := s.FindRun(t.Context(), 999); return err }},
		{"UpdateRun", func() error { return s.UpdateRun(t.Context(), &tasks.Run{ID: 999, VM: "emma", State: tasks.RunDone}) }},
		{"ActiveRun", func() error { _, err := s.ActiveRun(t.Context(), "emma"); return err }},
	} {
		t.Run("missing "+tc.name, func(t *testing.T) {
			if err := tc.call(); tasks.ErrorCode(err) != tasks.ENOTFOUND {
				t.Errorf("%s = %v, want ENOTFOUND", tc.name, err)
			}
		})
	}
}

func TestRunService_ListRuns(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewRunService(db)
	var runs []*tasks.Run // in creation order
	for _, c := range []struct {
		vm    string
		kind  tasks.RunKind
		state string
	}{
		{"emma", tasks.RunProvision, tasks.RunDone},
		{"noah", tasks.RunProvision, tasks.RunRunning},
		{"emma", tasks.RunReset, tasks.RunFailed},
		{"emma", tasks.RunPowerOff, tasks.RunRunning},
		{"orphan-123", tasks.RunDestroy, tasks.RunRunning},
	} {
		r := &tasks.Run{VM: c.vm, Kind: c.kind, Steps: []string{"one", "two"}}
		if err := s.CreateRun(t.Context(), r); err != nil {
			t.Fatalf("CreateRun(%s) = %v", r.Title(), err)
		}
		if c.state != tasks.RunRunning {
			r.State, r.FinishedAt = c.state, testNow
			if err := s.UpdateRun(t.Context(), r); err != nil {
				t.Fatalf("UpdateRun(%s) = %v", r.Title(), err)
			}
		}
		runs = append(runs, r)
	}
	ids := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, runs[i].ID)
		}
		return out
	}

	for _, tc := range []struct {
		vm    string
		limit int
		want  []int64
	}{
		{"", 10, ids(4, 3, 2, 1, 0)},
		{"", 2, ids(4, 3)},
		{"emma", 10, ids(3, 2, 0)},
		{"emma", 1, ids(3)},
		{"noah", 10, ids(1)},
		{"liam", 10, nil},
		{"emma", 0, nil},
		{"", -1, nil},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.vm, tc.limit), func(t *testing.T) {
			got, err := s.ListRuns(t.Context(), tc.vm, tc.limit)
			if err != nil {
				t.Fatalf("ListRuns(%q, %d) = %v", tc.vm, tc.limit, err)
			}
			if !slices.Equal(runIDs(got), tc.want) {
				t.Errorf("ListRuns(%q, %d) = %v, want %v", tc.vm, tc.limit, runIDs(got), tc.want)
			}
		})
	}

	active, err := s.ActiveRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := runIDs(active), ids(1, 3, 4); !slices.Equal(got, want) {
		t.Errorf("ActiveRuns() = %v, want %v (oldest first)", got, want)
	}
	for _, r := range active {
		if r.State != tasks.RunRunning {
			t.Errorf("ActiveRuns() has run %d in state %q", r.ID, r.State)
		}
	}
	got, err := s.ActiveRun(t.Context(), "emma")
	if err != nil {
		t.Fatalf("ActiveRun(%q) = %v", "emma", err)
	}
	if d := diffRun(got, runs[3]); d != "" {
		t.Errorf("ActiveRun(%q): %s", "emma", d)
	}
}

// TestRunService_busy walks one VM through runs that must and must not start.
func TestRunService_busy(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewRunService(db)
	first := &tasks.Run{VM: "emma", Kind: tasks.RunReset, Steps: resetSteps}

	for _, tc := range []struct {
		name string
		do   func() error
		code string
		msg  []string // parts of the message, when code is not ""
	}{
		{name: "first run", do: func() error { return s.CreateRun(t.Context(), first) }},
		{name: "progress", do: func() error { first.Step = 1; return s.UpdateRun(t.Context(), first) }},
		{name: "second run on the same vm", code: tasks.ECONFLICT, msg: []string{"reset of emma", "step 2/4", "Rebuild droplet"},
			do: func() error { return s.CreateRun(t.Context(), &tasks.Run{VM: "emma", Kind: tasks.RunPowerOff}) }},
		{name: "another vm", do: func() error {
			return s.CreateRun(t.Context(), &tasks.Run{VM: "noah", Kind: tasks.RunReset, Steps: resetSteps})
		}},
		{name: "first done", do: func() error {
			first.State, first.Step, first.FinishedAt = tasks.RunDone, len(resetSteps), testNow
			return s.UpdateRun(t.Context(), first)
		}},
		{name: "new run after done", do: func() error {
			return s.CreateRun(t.Context(), &tasks.Run{VM: "emma", Kind: tasks.RunPowerOff, Steps: []string{"Power off"}})
		}},
		{name: "restart the finished run", code: tasks.ECONFLICT, msg: []string{"power off of emma", "step 1/1"},
			do: func() error { first.State = tasks.RunRunning; return s.UpdateRun(t.Context(), first) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("got %v, want code %q", err, tc.code)
			}
			for _, m := range tc.msg {
				if got := tasks.ErrorMessage(err); !strings.Contains(got, m) {
					t.Errorf("message = %q, want it to contain %q", got, m)
				}
			}
		})
	}

	active, err := s.ActiveRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range active {
		got = append(got, r.Title())
	}
	if want := []string{"reset of noah", "power off of emma"}; !slices.Equal(got, want) {
		t.Errorf("ActiveRuns() = %q, want %q", got, want)
	}
}

// TestRunService_CreateRun_concurrent starts runs on one VM from many
// goroutines through two handles, as a double click or two bots would.
func TestRunService_CreateRun_concurrent(t *testing.T) {
	const goroutines = 8
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	dbs := []*store.DB{MustOpenDBAt(t, path, time.Now), MustOpenDBAt(t, path, time.Now)}

	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for g := range goroutines {
		s := store.NewRunService(dbs[g%len(dbs)])
		wg.Go(func() {
			errs[g] = s.CreateRun(t.Context(), &tasks.Run{VM: "emma", Kind: tasks.RunReset, Steps: resetSteps,
				RequestedBy: fmt.Sprintf("U%d", g)})
		})
	}
	wg.Wait()

	ok := 0
	for g, err := range errs {
		switch tasks.ErrorCode(err) {
		case "":
			ok++
		case tasks.ECONFLICT:
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, "reset") || !strings.Contains(msg, "step") {
				t.Errorf("CreateRun #%d message = %q, want it to name the reset and its step", g, msg)
			}
		default:
			t.Errorf("CreateRun #%d = %v, want nil or ECONFLICT", g, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d CreateRun calls succeeded, want 1", ok, goroutines)
	}
	runs, err := store.NewRunService(dbs[0]).ListRuns(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Errorf("ListRuns() has %d runs, want 1", len(runs))
	}
}

// TestRunService_resume checks what a restarted bot relies on: a run left
// running by a crash is still there, with its step and data, after a reopen.
func TestRunService_resume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	db, err := store.Open(t.Context(), path, newClock(testNow).Now)
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewRunService(db)
	done := &tasks.Run{VM: "noah", Kind: tasks.RunPowerOn, Steps: []string{"Power on"}}
	if err := s.CreateRun(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	done.State, done.Step, done.FinishedAt = tasks.RunDone, 1, testNow
	if err := s.UpdateRun(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	r := &tasks.Run{VM: "emma", Kind: tasks.RunProvision, Steps: resetSteps, RequestedBy: "console",
		Data: tasks.RunData{IPv4: "198.18.1.2"}}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	r.Step = 2
	r.Data.DropletID = 123456789
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	// The progress message survives the restart, so the resumed run edits it.
	r.Channel, r.MessageTS = "D0123", "1712345678.000100"
	if err := s.SetRunMessage(t.Context(), r.ID, r.Channel, r.MessageTS); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpenDBAt(t, path, newClock(testNow.Add(time.Hour)).Now)
	active, err := store.NewRunService(db).ActiveRuns(t.Context())
	if err != nil {
		t.Fatalf("ActiveRuns() after reopen = %v", err)
	}
	if len(active) != 1 {
		t.Fatalf("ActiveRuns() after reopen = runs %v, want [%d]", runIDs(active), r.ID)
	}
	if d := diffRun(active[0], r); d != "" {
		t.Errorf("ActiveRuns() after reopen: %s", d)
	}
}

// TestOpen_migrateFrom0001 opens a file that an older bot created, with only
// the first migration, and checks that the runs table is added and the
// roster kept.
func TestOpen_migrateFrom0001(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	schema, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	old := testNow.Add(-24 * time.Hour)
	sdb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL) STRICT`,
		string(schema),
		`INSERT INTO schema_migrations VALUES ('0001_init.sql', '` + old.UTC().Format(time.RFC3339Nano) + `')`,
		`INSERT INTO students (name, slack_id, created_at, updated_at) VALUES ('emma', 'UEMMA', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
	} {
		if _, err := sdb.ExecContext(t.Context(), q); err != nil {
			sdb.Close()
			t.Fatalf("set up old database: %v", err)
		}
	}
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}

	db := MustOpenDBAt(t, path, newClock(testNow).Now)
	applied := migrations(t, path)
	for name, want := range map[string]time.Time{"0001_init.sql": old, "0002_runs.sql": testNow} {
		if got, ok := applied[name]; !ok || !got.Equal(want) {
			t.Errorf("migration %s applied at %v (recorded %t), want %v", name, got, ok, want)
		}
	}
	if _, err := store.NewStudentService(db).FindStudent(t.Context(), "emma"); err != nil {
		t.Errorf("FindStudent(%q) after migration = %v", "emma", err)
	}
	s := store.NewRunService(db)
	r := &tasks.Run{VM: "emma", Kind: tasks.RunReset, Steps: resetSteps}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatalf("CreateRun(%s) after migration = %v", r.Title(), err)
	}
	if err := s.CreateRun(t.Context(), &tasks.Run{VM: "emma", Kind: tasks.RunReset}); tasks.ErrorCode(err) != tasks.ECONFLICT {
		t.Errorf("second CreateRun after migration = %v, want ECONFLICT", err)
	}
}

// TestSetRunMessage checks that the runner's saves, which carry no message,
// never undo what the progress reporter recorded.
func TestSetRunMessage(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewRunService(db)
	r := &tasks.Run{VM: "emma", Kind: tasks.RunProvision, Steps: []string{"a", "b"}, RequestedBy: "U0TEACH01", Channel: "U0TEACH01"}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRunMessage(t.Context(), r.ID, "D0DM00001", "1712345678.000100"); err != nil {
		t.Fatalf("SetRunMessage = %v", err)
	}
	r.Step = 1 // the runner's copy still has the old channel and no ts
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Channel != "D0DM00001" || got.MessageTS != "1712345678.000100" || got.Step != 1 {
		t.Errorf("FindRun = channel %q ts %q step %d, want D0DM00001 1712345678.000100 1", got.Channel, got.MessageTS, got.Step)
	}
	if err := s.SetRunMessage(t.Context(), 9999, "D0", "1"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("SetRunMessage(unknown) = %v, want %s", err, tasks.ENOTFOUND)
	}
}
