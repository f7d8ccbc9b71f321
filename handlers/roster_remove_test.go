package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

// roster remove during a run would leave the droplet and DNS records the
// run goes on to create: it is refused, naming the run, and the student
// stays; once the run is over the remove goes through.
func TestRosterRemoveDuringRun(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	run := &tasks.Run{VM: "dylan", Kind: tasks.RunProvision, Steps: []string{"Create"}, RequestedBy: instructorID, Channel: instructorID}
	if err := env.runs.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	got := env.run(t, instructorID, "roster remove dylan")
	for _, w := range []string{"Run #" + strconv.FormatInt(run.ID, 10), "still going", "/cicf runs dylan"} {
		if !strings.Contains(got, w) {
			t.Errorf("roster remove during run #%d = %q, want %q", run.ID, got, w)
		}
	}
	if _, err := env.runs.FindRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, instructorID, "roster list", "`dylan`")
	run.State = tasks.RunFailed
	if err := env.runs.UpdateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, instructorID, "roster remove dylan", "Removed `dylan`")
}
