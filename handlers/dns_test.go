package handlers_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// recordsNamed lists the domain's A and AAAA records of name as "TYPE DATA".
func recordsNamed(env *testEnv, name string) []string {
	var out []string
	for _, r := range env.sim.Records("cicf.cloud") {
		if r.Name == name && (r.Type == "A" || r.Type == "AAAA") {
			out = append(out, r.Type+" "+r.Data)
		}
	}
	slices.Sort(out)
	return out
}

// Defect 2: a name that already has a record a person made is not taken
// over: provision stops before it creates a droplet.
func TestProvisionRefusesARecordTheBotDidNotCreate(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	id := env.sim.AddRecord("cicf.cloud", dosim.RecordInfo{Type: "A", Name: "zoe", Data: "198.18.250.5"})
	got := env.run(t, instructorID, "provision zoe")
	if want := "zoe.cicf.cloud already has a DNS A record (198.18.250.5, record "; !strings.Contains(got, want) {
		t.Fatalf("provision zoe =\n%s\nwant %q", got, want)
	}
	if !strings.Contains(got, "did not create") || id == 0 {
		t.Errorf("provision zoe = %s, want it to say the bot did not create record %d", got, id)
	}
	env.runner.Wait()
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 0 {
		t.Errorf("%d droplets for zoe, want none", n)
	}
	if got := recordsNamed(env, "zoe"); !slices.Equal(got, []string{"A 198.18.250.5"}) {
		t.Errorf("zoe's records = %v, want the hand-made one untouched", got)
	}
}

// A record added by hand after provisioning: a reset refuses, a destroy
// deletes the bot's records and leaves that one.
func TestDestroyLeavesARecordTheBotDidNotCreate(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("provision zoe: %s", r.Error)
	}
	if got := recordsNamed(env, "zoe"); len(got) != 2 {
		t.Fatalf("zoe's records after provision = %v, want A and AAAA", got)
	}
	env.sim.AddRecord("cicf.cloud", dosim.RecordInfo{Type: "A", Name: "zoe", Data: "198.18.250.6"})
	env.mustRun(t, instructorID, "confirm "+offerID(t, env.run(t, instructorID, "reset zoe")), "198.18.250.6")
	if n := runsOf(t, env, "zoe"); n != 1 {
		t.Errorf("%d runs on zoe, want 1: the reset must not start", n)
	}
	env.mustRun(t, instructorID, "confirm "+offerID(t, env.run(t, instructorID, "destroy zoe")), "Destroying")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone || r.Kind != tasks.RunDestroy {
		t.Fatalf("destroy zoe ended %s %s: %s", r.Kind, r.State, r.Error)
	}
	if got := recordsNamed(env, "zoe"); !slices.Equal(got, []string{"A 198.18.250.6"}) {
		t.Errorf("zoe's records after destroy = %v, want only the hand-made one", got)
	}
}
