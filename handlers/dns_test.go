package handlers_test

import (
	"context"
	"fmt"
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
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	r := env.lastRun(t, "zoe")
	want := fmt.Sprintf("zoe.cicf.cloud already has a DNS A record (198.18.250.5, record %d) that the bot did not create", id)
	if r.State != tasks.RunFailed || r.Step != 0 || !strings.Contains(r.Error, want) {
		t.Fatalf("provision zoe ended %s at step %d: %q\nwant failed at step 0 with %q", r.State, r.Step, r.Error, want)
	}
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
	env.mustRun(t, instructorID, "confirm "+offerID(t, env.run(t, instructorID, "reset zoe")), "Resetting")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunFailed || r.Step != 0 || !strings.Contains(r.Error, "198.18.250.6") {
		t.Errorf("reset ended %s at step %d: %q, want failed before creating a droplet, naming the record", r.State, r.Step, r.Error)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 1 {
		t.Errorf("%d droplets for zoe after the refused reset, want 1", n)
	}
	env.mustRun(t, instructorID, "confirm "+offerID(t, env.run(t, instructorID, "destroy zoe")), "Destroying")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone || r.Kind != tasks.RunDestroy {
		t.Fatalf("destroy zoe ended %s %s: %s", r.Kind, r.State, r.Error)
	}
	if got := recordsNamed(env, "zoe"); !slices.Equal(got, []string{"A 198.18.250.6"}) {
		t.Errorf("zoe's records after destroy = %v, want only the hand-made one", got)
	}
}

// Records an older bot made (no stored IDs) that point at the VM's address
// are the bot's: destroy deletes them.
func TestDestroyDeletesRecordsAnOlderBotMade(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	provisioned(t, env)
	var ids []int
	for _, r := range env.sim.Records("cicf.cloud") {
		if r.Name == "zoe" {
			ids = append(ids, r.ID)
		}
	}
	if err := env.runnerDeps.Records.RemoveRecordIDs(ctx, "cicf.cloud", ids); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, instructorID, "confirm "+offerID(t, env.run(t, instructorID, "destroy zoe")), "Destroying")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("destroy zoe ended %s: %s", r.State, r.Error)
	}
	if got := recordsNamed(env, "zoe"); len(got) != 0 {
		t.Errorf("zoe's records after destroy = %v, want none", got)
	}
}

// The DNS step checks again: a record made by hand while the droplet booted
// stops the run rather than be overwritten.
func TestPointDNSRefusesARecordMadeDuringTheRun(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	r := &tasks.Run{VM: "zoe", Kind: tasks.RunProvision, RequestedBy: instructorID,
		Steps: []string{"Point DNS at it"}, StepIDs: []string{"point-dns"}}
	if err := env.runs.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	d := env.sim.AddDroplet(dosim.DropletSpec{Name: "zoe.cicf.cloud", Tags: []string{"cicf", tasks.StudentTag("zoe"), tasks.RunTag(r.ID)}, IPv4: "198.18.3.2"})
	r.Data = tasks.RunData{DropletID: d, IPv4: "198.18.3.2"}
	if err := env.runs.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	env.sim.AddRecord("cicf.cloud", dosim.RecordInfo{Type: "A", Name: "zoe", Data: "198.18.250.7"})
	got := env.resume(t, r.ID)
	if got.State != tasks.RunFailed || !strings.Contains(got.Error, "198.18.250.7") {
		t.Errorf("run = %s: %q, want failed naming the hand-made record", got.State, got.Error)
	}
	if recs := recordsNamed(env, "zoe"); !slices.Equal(recs, []string{"A 198.18.250.7"}) {
		t.Errorf("zoe's records = %v, want the hand-made one untouched", recs)
	}
}
