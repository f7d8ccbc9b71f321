package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// newestAudit returns the newest audit entry with verb.
func newestAudit(t *testing.T, env *testEnv, verb string) *tasks.AuditEntry {
	t.Helper()
	entries, err := env.audit.ListAudit(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Verb == verb {
			return e
		}
	}
	t.Fatalf("no audit entry %q among %d", verb, len(entries))
	return nil
}

// runsOf returns how many runs vm has had.
func runsOf(t *testing.T, env *testEnv, vm string) int {
	t.Helper()
	env.runner.Wait()
	runs, err := env.runs.ListRuns(context.Background(), vm, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

func TestConfirmSurvivesARestart(t *testing.T) {
	env := classEnv(t)
	id := offerID(t, env.run(t, instructorID, "destroy emma"))
	// A new Router over the same store is the bot after a restart.
	restarted := handlers.NewRouter(env.deps)
	if got := restarted.Confirm(context.Background(), instructorID, id).String(); !strings.Contains(got, "Destroying `emma`") {
		t.Fatalf("confirm after restart = %s", got)
	}
	if r := env.lastRun(t, "emma"); r.Kind != tasks.RunDestroy || r.State != tasks.RunDone {
		t.Errorf("run after confirm = %s %s: %s", r.Kind, r.State, r.Error)
	}
}

// The role is checked again at confirm: a student removed or an instructor
// demoted within the offer's life gets a refusal, and nothing runs.
func TestConfirmRechecksTheRole(t *testing.T) {
	const teacher2 = emmaID // also an instructor, until demoted
	for _, tc := range []struct {
		name, asker, ask string
		change           func(env *testEnv)
		want, wantArgs   string
	}{
		{"student removed", emmaID, "reset", func(env *testEnv) {
			// Straight in the store, as another replica's import would: the
			// Slack verb refuses while emma still has a droplet.
			if err := env.deps.Students.DeleteStudent(context.Background(), "emma"); err != nil {
				t.Fatal(err)
			}
		}, "no longer on the class roster", "reset emma"},
		{"instructor demoted", teacher2, "destroy emma", func(env *testEnv) {
			delete(env.deps.Directory.Instructors, teacher2)
		}, "You may no longer destroy emma", "destroy emma"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := classEnv(t)
			if tc.name == "instructor demoted" {
				env.deps.Directory.Instructors[teacher2] = true
			}
			id := offerID(t, env.run(t, tc.asker, tc.ask))
			tc.change(env)
			before := len(env.sim.Droplets())
			if got := env.router.Confirm(context.Background(), tc.asker, id).String(); !strings.Contains(got, tc.want) {
				t.Fatalf("confirm = %s\nwant %q", got, tc.want)
			}
			if n := runsOf(t, env, "emma"); n != 0 {
				t.Errorf("%d runs on emma after a refused confirm, want 0", n)
			}
			if n := len(env.sim.Droplets()); n != before {
				t.Errorf("droplets %d -> %d after a refused confirm", before, n)
			}
			e := newestAudit(t, env, "confirm")
			if e.Outcome != tasks.EFORBIDDEN || e.Args != tc.wantArgs || e.UserID != tc.asker {
				t.Errorf("audit = %+v, want outcome %s, args %q, user %s", e, tasks.EFORBIDDEN, tc.wantArgs, tc.asker)
			}
		})
	}
}

// Defect 7: the offer follows the person, not the name.
func TestConfirmRefusesWhenTheNameChangedHands(t *testing.T) {
	env := classEnv(t)
	id := offerID(t, env.run(t, instructorID, "reset emma"))
	// The roster changes in the store, as another replica's import would:
	// the Slack verb refuses to remove emma while she has a droplet.
	if err := env.deps.Students.DeleteStudent(context.Background(), "emma"); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, instructorID, "roster add emma <@U0OTHER01|emma> "+newPublicKey(t, "other@laptop"), "Added `emma`")
	env.mustRun(t, instructorID, "confirm "+id, "not the same roster entry as when you asked")
	if n := runsOf(t, env, "emma"); n != 0 {
		t.Errorf("%d runs on emma, want 0: the offer was for the previous emma", n)
	}
	if e := newestAudit(t, env, "confirm"); e.Outcome != tasks.ECONFLICT || e.Args != "reset emma" {
		t.Errorf("audit = %+v, want outcome ECONFLICT for reset emma", e)
	}
}

// Defect 6: a cancel leaves an audit record, and so does a confirm.
func TestConfirmAndCancelAreAudited(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	id := offerID(t, env.run(t, instructorID, "destroy emma"))
	if got := env.router.Cancel(ctx, emmaID, id).String(); !strings.Contains(got, "Only the person who asked") {
		t.Fatalf("cancel by another = %s", got)
	}
	if e := newestAudit(t, env, "cancel"); e.Outcome != tasks.EFORBIDDEN || e.UserID != emmaID || e.Role != tasks.RoleStudent {
		t.Errorf("audit of a refused cancel = %+v", e)
	}
	if got := env.router.Cancel(ctx, instructorID, id).String(); !strings.Contains(got, "Cancelled") {
		t.Fatalf("cancel = %s", got)
	}
	e := newestAudit(t, env, "cancel")
	if e.Outcome != "ok" || e.Args != "destroy emma" || e.UserID != instructorID || e.Role != tasks.RoleInstructor {
		t.Errorf("audit of a cancel = %+v, want ok, destroy emma, %s, instructor", e, instructorID)
	}
	if got := env.router.Confirm(ctx, instructorID, id).String(); !strings.Contains(got, "no longer valid") {
		t.Errorf("confirm after cancel = %s", got)
	}
	if e := newestAudit(t, env, "confirm"); e.Outcome != tasks.ENOTFOUND || e.Role != tasks.RoleInstructor || e.Args != id {
		t.Errorf("audit of a confirm after cancel = %+v, want not found, instructor, the ID", e)
	}
	if n := runsOf(t, env, "emma"); n != 0 {
		t.Errorf("%d runs after a cancel, want 0", n)
	}

	id = offerID(t, env.run(t, instructorID, "destroy emma"))
	env.router.Confirm(ctx, instructorID, id)
	e = newestAudit(t, env, "confirm")
	if e.Outcome != "ok" || e.Args != "destroy emma" || e.UserID != instructorID || e.Role != tasks.RoleInstructor {
		t.Errorf("audit of a confirm = %+v, want ok, destroy emma, %s, instructor", e, instructorID)
	}
}

// Two clicks at once run the offer once.
func TestConfirmTwiceAtOnceRunsOnce(t *testing.T) {
	env := classEnv(t)
	id := offerID(t, env.run(t, instructorID, "destroy emma"))
	second := handlers.NewRouter(env.deps) // as a second replica would
	var wg sync.WaitGroup
	replies := make([]string, 2)
	for i, r := range []*handlers.Router{env.router, second} {
		wg.Go(func() { replies[i] = r.Confirm(context.Background(), instructorID, id).String() })
	}
	wg.Wait()
	started := 0
	for _, rep := range replies {
		if strings.Contains(rep, "Destroying") {
			started++
		}
	}
	if started != 1 || runsOf(t, env, "emma") != 1 {
		t.Errorf("two confirms at once started %d (runs: %d), want 1: %q", started, runsOf(t, env, "emma"), replies)
	}
}

func TestRunsListsPendingConfirmations(t *testing.T) {
	env := classEnv(t)
	id := offerID(t, env.run(t, instructorID, "destroy emma"))
	env.mustRun(t, instructorID, "runs", "*Waiting for confirmation*\n• destroy emma, asked by <@"+instructorID+">, until 12:05 UTC")
	env.mustRun(t, instructorID, "runs emma", "destroy emma")
	if got := env.run(t, instructorID, "runs dylan"); strings.Contains(got, "Waiting") {
		t.Errorf("runs dylan lists emma's offer:\n%s", got)
	}
	env.mustRun(t, instructorID, "confirm "+id, "Destroying")
	if got := env.run(t, instructorID, "runs"); strings.Contains(got, "Waiting") {
		t.Errorf("runs after the confirm still lists it:\n%s", got)
	}
}

// Text from outside (a run's error quoting VM output, a size slug from
// DigitalOcean) reaches Slack escaped.
func TestRunsAndCostEscapeOutsideText(t *testing.T) {
	env := classEnv(t)
	r := &tasks.Run{VM: "emma", Kind: tasks.RunPowerOn, State: tasks.RunFailed, Error: "cloud-init: <!channel> & <https://evil.example|docs>"}
	if err := env.runs.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := env.run(t, instructorID, "runs")
	if !strings.Contains(got, "cloud-init: &lt;!channel&gt; &amp; &lt;https://evil.example|docs&gt;") || strings.Contains(got, "<!channel>") {
		t.Errorf("runs =\n%s\nwant the error escaped", got)
	}
	env.sim.AddDroplet(dosim.DropletSpec{Name: "x.cicf.cloud", Tags: []string{"cicf"}, Size: "<!here>", PriceHourly: 1, PriceMonthly: 1})
	got = env.run(t, instructorID, "cost")
	if !strings.Contains(got, "&lt;!here&gt;") || strings.Contains(got, "<!here>") {
		t.Errorf("cost =\n%s\nwant the size escaped", got)
	}
}
