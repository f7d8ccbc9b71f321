package handlers_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/testclock"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// dmEnv is a DM sender over a real store file and the Slack stand-in, on a
// clock the test moves.
type dmEnv struct {
	sim    *slacksim.Server
	clock  *testclock.Clock
	path   string
	db     *store.DB
	runs   *store.RunService
	queue  *store.StudentDMQueue
	sender *handlers.StudentDMSender
}

func newDMEnv(t *testing.T, cfg handlers.StudentDMConfig) *dmEnv {
	t.Helper()
	sim := slacksim.New(slacksim.Options{})
	t.Cleanup(sim.Close)
	e := &dmEnv{sim: sim, clock: testclock.New(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)), path: filepath.Join(t.TempDir(), "bot.db")}
	e.start(t, cfg)
	return e
}

// start is a new process: a handle of its own on the database file and a
// new sender with cfg.
func (e *dmEnv) start(t *testing.T, cfg handlers.StudentDMConfig) {
	t.Helper()
	db, err := store.Open(context.Background(), e.path, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if cfg.Domain == "" {
		cfg.Domain = "cicf.cloud"
	}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: e.sim.APIURL()})
	e.db, e.runs, e.queue = db, store.NewRunService(db), store.NewStudentDMQueue(db)
	e.sender = handlers.NewStudentDMSender(cfg, e.queue, e.runs, api, slogFor(testWriter{t}), e.clock.Now)
}

// finish records a run of kind on vm, asked for by the teacher, first
// running, then ended in state now, as the runner saves it.
func (e *dmEnv) finish(t *testing.T, kind tasks.RunKind, vm, state string, data tasks.RunData) *tasks.Run {
	t.Helper()
	ctx := context.Background()
	r := &tasks.Run{VM: vm, Kind: kind, Steps: []string{"Create", "Boot"}, RequestedBy: "U0TEACH01", Channel: "U0TEACH01", Data: data}
	if err := e.runs.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Step = 1
	if err := e.runs.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if state != tasks.RunRunning {
		r.Step, r.State, r.FinishedAt = 2, state, e.clock.Now()
		if err := e.runs.UpdateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// tick runs the sender once, then moves the clock by d.
func (e *dmEnv) tick(t *testing.T, d time.Duration) {
	t.Helper()
	if _, err := e.sender.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(d)
}

// dm returns the stored DM of run r.
func (e *dmEnv) dm(t *testing.T, r *tasks.Run) tasks.StudentDM {
	t.Helper()
	dm, err := e.queue.DMOfRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return dm
}

func countPosts(sim *slacksim.Server, channel string) int {
	n := 0
	for _, c := range sim.Calls() {
		if (c.Method == "chat.postMessage" || c.Method == "chat.update") && c.Param("channel") == channel {
			n++
		}
	}
	return n
}

// The student whose VM someone else reset learns who did it and the new
// host key to accept.
func TestStudentDMTellsTheStudentAboutAReset(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	key := newPublicKey(t, "")
	r := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001", HostKey: key})
	e.tick(t, time.Minute)
	msgs := e.sim.Messages("U0EMMA001")
	if len(msgs) != 1 {
		t.Fatalf("%d messages to the student, want 1", len(msgs))
	}
	for _, w := range []string{"was reset by <@U0TEACH01>", "ssh-keygen -R emma.cicf.cloud", tasks.Fingerprint(key)} {
		if !strings.Contains(msgs[0].Text, w) {
			t.Errorf("message to the student = %q, want %q", msgs[0].Text, w)
		}
	}
	if dm := e.dm(t, r); dm.Outcome != tasks.DMSent || dm.Tries != 1 {
		t.Errorf("stored DM = %+v, want sent on the first try", dm)
	}
}

// A student who cannot be messaged (deactivated, a bot, a mistyped ID) is
// tried once.
func TestStudentDMUnreachable(t *testing.T) {
	for _, code := range []string{"user_not_found", "cannot_dm_bot", "account_inactive", "channel_not_found"} {
		t.Run(code, func(t *testing.T) {
			e := newDMEnv(t, handlers.StudentDMConfig{})
			e.sim.Unreachable("U0GONE001", code)
			r := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0GONE001"})
			for range 4 {
				e.tick(t, time.Minute)
			}
			if n := countPosts(e.sim, "U0GONE001"); n != 1 {
				t.Errorf("%d tries to message the unreachable student, want 1 (%s is permanent)", n, code)
			}
			if dm := e.dm(t, r); dm.Outcome != tasks.DMUnreachable || dm.Detail != code || dm.Tries != 1 {
				t.Errorf("stored DM = %+v, want unreachable (%s) after 1 try", dm, code)
			}
		})
	}
}

// An error that may pass is retried after a pause, three tries in all,
// then given up; a 429 waits its Retry-After and does not count as a try.
func TestStudentDMRetriesThenGivesUp(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	e.sim.Unreachable("U0EMMA001", "internal_error")
	e.sim.RateLimit("chat.postMessage", 1, 2*time.Second)
	r := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"})
	for i, step := range []struct {
		advance time.Duration // after the tick
		posts   int           // to the student, so far
		tries   int
		outcome tasks.DMOutcome
	}{
		{time.Second, 1, 0, ""},           // 429: no try counted
		{time.Second, 1, 0, ""},           // still inside Retry-After
		{4 * time.Second, 2, 1, ""},       // try 1
		{time.Second, 2, 1, ""},           // 4 s later: inside the pause
		{5 * time.Second, 3, 2, ""},       // try 2
		{time.Hour, 4, 3, tasks.DMGaveUp}, // try 3, given up
		{time.Hour, 4, 3, tasks.DMGaveUp}, // nothing more
	} {
		e.tick(t, step.advance)
		dm := e.dm(t, r)
		if n := countPosts(e.sim, "U0EMMA001"); n != step.posts || dm.Tries != step.tries || dm.Outcome != step.outcome {
			t.Fatalf("after tick %d: %d posts, DM %+v; want %d posts, %d tries, outcome %q", i, n, dm, step.posts, step.tries, step.outcome)
		}
	}
	if dm := e.dm(t, r); dm.Detail != "internal_error" {
		t.Errorf("stored detail = %q, want Slack's error code", dm.Detail)
	}
}

// The student hears of a reset once it is done, not while it runs, and not
// when it failed.
func TestStudentDMOnlyWhenDone(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	e.finish(t, tasks.RunReset, "emma", tasks.RunRunning, tasks.RunData{Notify: "U0EMMA001"})
	e.finish(t, tasks.RunReset, "noah", tasks.RunFailed, tasks.RunData{Notify: "U0NOAH001"})
	for range 3 {
		e.tick(t, time.Minute)
	}
	if n := countPosts(e.sim, "U0EMMA001") + countPosts(e.sim, "U0NOAH001"); n != 0 {
		t.Fatalf("%d messages about runs not done, want 0", n)
	}
}

// Two DMs to one student go a second apart (Slack's pace per channel);
// the one that waits keeps its tries.
func TestStudentDMOnePerStudentPerTick(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	welcome := e.finish(t, tasks.RunProvision, "emma", tasks.RunDone, tasks.RunData{Welcome: "U0EMMA001"})
	reset := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"})
	e.finish(t, tasks.RunProvision, "noah", tasks.RunDone, tasks.RunData{Welcome: "U0NOAH001"})
	e.tick(t, 999*time.Millisecond)
	if a, b := countPosts(e.sim, "U0EMMA001"), countPosts(e.sim, "U0NOAH001"); a != 1 || b != 1 {
		t.Fatalf("first tick: %d DMs to emma, %d to noah; want 1 each", a, b)
	}
	if dm := e.dm(t, reset); dm.Outcome != "" || dm.Tries != 0 {
		t.Errorf("the DM that waited = %+v, want owed with no try", dm)
	}
	e.tick(t, time.Millisecond)
	if n := countPosts(e.sim, "U0EMMA001"); n != 1 {
		t.Fatalf("%d DMs to emma within a second, want 1", n)
	}
	e.tick(t, time.Minute)
	if n := countPosts(e.sim, "U0EMMA001"); n != 2 {
		t.Fatalf("%d DMs to emma after a second, want 2", n)
	}
	if w, r := e.dm(t, welcome), e.dm(t, reset); w.Outcome != tasks.DMSent || r.Outcome != tasks.DMSent {
		t.Errorf("outcomes %q, %q; want both sent", w.Outcome, r.Outcome)
	}
}

// A 429 holds every DM, not only the one Slack refused, and none of them
// loses a try.
func TestStudentDMRateLimitHoldsAll(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	e.sim.RateLimit("chat.postMessage", 1, 3*time.Second)
	emma := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"})
	noah := e.finish(t, tasks.RunReset, "noah", tasks.RunDone, tasks.RunData{Notify: "U0NOAH001"})
	t0 := e.clock.Now()
	e.tick(t, 2*time.Second)
	if dm := e.dm(t, noah); !dm.NotBefore.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("noah's DM is due again at +%v, want +3s, when Retry-After ends", dm.NotBefore.Sub(t0))
	}
	e.tick(t, time.Second)
	if a, b := countPosts(e.sim, "U0EMMA001"), countPosts(e.sim, "U0NOAH001"); a != 1 || b != 0 {
		t.Fatalf("within Retry-After: %d posts to emma, %d to noah; want the one refused, then none", a, b)
	}
	for _, r := range []*tasks.Run{emma, noah} {
		if dm := e.dm(t, r); dm.Tries != 0 || dm.Outcome != "" {
			t.Errorf("DM of %s within Retry-After = %+v, want owed, untried", r.VM, dm)
		}
	}
	e.tick(t, time.Minute)
	if a, b := countPosts(e.sim, "U0EMMA001"), countPosts(e.sim, "U0NOAH001"); a != 2 || b != 1 {
		t.Errorf("after Retry-After: %d posts to emma, %d to noah; want 2 and 1", a, b)
	}
}
