package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

var confirmRE = regexp.MustCompile("`confirm ([0-9a-f]+)`")

// offerID returns the confirmation ID a reply offers, failing if none.
func offerID(t *testing.T, reply string) string {
	t.Helper()
	m := confirmRE.FindStringSubmatch(reply)
	if m == nil {
		t.Fatalf("reply offers no confirmation:\n%s", reply)
	}
	return m[1]
}

// lastRun waits for the runs to end and returns the newest one of vm.
func (e *testEnv) lastRun(t *testing.T, vm string) *tasks.Run {
	t.Helper()
	e.runner.Wait()
	runs, err := e.runs.ListRuns(context.Background(), vm, 1)
	if err != nil || len(runs) == 0 {
		t.Fatalf("no run for %s: %v", vm, err)
	}
	return runs[0]
}

func TestProvisionResetDestroy(t *testing.T) {
	env := classEnv(t) // emma has a key and an unmanaged droplet; dylan has no key
	env.mustRun(t, instructorID, "roster add zoe <@U0ZOE0001|zoe> "+newPublicKey(t, "zoe@laptop"), "Added")

	env.mustRun(t, instructorID, "provision dylan", "dylan has no SSH public key yet")
	env.mustRun(t, instructorID, "provision emma", "emma already has a VM")
	env.mustRun(t, instructorID, "provision zoe", "Provisioning `zoe.cicf.cloud` (run #")
	env.mustRun(t, instructorID, "provision zoe", "already") // running, or done with a VM
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("provision zoe ended %s: %s", r.State, r.Error)
	}
	card := env.run(t, instructorID, "status zoe")
	for _, w := range []string{"*zoe.cicf.cloud* — :large_green_circle: running", "198.18.1.", "2001:db8:1::", "Host key `SHA256:"} {
		if !strings.Contains(card, w) {
			t.Errorf("card after provision =\n%s\nwant %q", card, w)
		}
	}
	if recs := strings.Join(addressRecords(env), ","); recs != "A zoe,AAAA zoe" {
		t.Errorf("DNS records after provision = %v, want one A and one AAAA record for zoe", recs)
	}
	pinned := fingerprintIn(card)

	// Reset: asked first; only the requester can confirm; the confirmation works once.
	ask := env.run(t, instructorID, "reset zoe")
	id := offerID(t, ask)
	env.mustRun(t, emmaID, "confirm "+id, "Only the person who asked")
	env.mustRun(t, instructorID, "confirm "+id, "Resetting `zoe.cicf.cloud`")
	env.mustRun(t, instructorID, "confirm "+id, "no longer valid")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone || r.Kind != tasks.RunReset {
		t.Fatalf("reset zoe ended %s %s: %s", r.Kind, r.State, r.Error)
	}
	card = env.run(t, instructorID, "status zoe")
	if fp := fingerprintIn(card); fp == "" || fp == pinned {
		t.Errorf("host key after reset = %q, want a new one (was %q)", fp, pinned)
	}
	if !strings.Contains(card, "reset <1m ago") {
		t.Errorf("card after reset lacks the reset time:\n%s", card)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 1 {
		t.Errorf("droplets named zoe after reset = %d, want 1", n)
	}

	// Destroy asks too, and removes droplet and records.
	id = offerID(t, env.run(t, instructorID, "destroy zoe"))
	env.mustRun(t, instructorID, "confirm "+id, "Destroying `zoe`")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone || r.Kind != tasks.RunDestroy {
		t.Fatalf("destroy zoe ended %s %s: %s", r.Kind, r.State, r.Error)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 0 {
		t.Errorf("droplets named zoe after destroy = %d, want 0", n)
	}
	if recs := addressRecords(env); len(recs) != 0 {
		t.Errorf("DNS records after destroy = %v, want none", recs)
	}
	env.mustRun(t, instructorID, "runs zoe", "destroy of zoe — :white_check_mark: done")
}

func TestResetByStudentAndExpiry(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, dylanID, "reset emma", "only reset your own VM")
	env.mustRun(t, emmaID, "reset", "*Reset `emma.cicf.cloud`?*")
	id := offerID(t, env.run(t, emmaID, "reset"))
	env.advance(6 * time.Minute)
	env.mustRun(t, emmaID, "confirm "+id, "expired")
	env.mustRun(t, emmaID, "destroy emma", "Only instructors")
	env.mustRun(t, emmaID, "provision emma", "Only instructors")
}

func TestProvisionAllListsMissingKeys(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	got := env.run(t, instructorID, "provision all")
	for _, w := range []string{"Provisioning 1 VMs", "`zoe`", "Already have a VM or a run in progress: `emma`", "Waiting for an SSH key: `dylan`"} {
		if !strings.Contains(got, w) {
			t.Errorf("provision all =\n%s\nwant %q", got, w)
		}
	}
	env.runner.Wait()
}

func TestKeyPowerCost(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, dylanID, "key "+newPublicKey(t, "dylan@laptop"), "Saved the SSH key `SHA256:")
	env.mustRun(t, dylanID, "key", "Paste the key")
	env.mustRun(t, dylanID, "key not-a-key", "not an SSH public key")
	env.mustRun(t, instructorID, "key dylan "+newPublicKey(t, "new"), "Saved the SSH key")
	env.mustRun(t, instructorID, "power off emma", "Powering off `emma`")
	if r := env.lastRun(t, "emma"); r.State != tasks.RunDone {
		t.Fatalf("power off ended %s: %s", r.State, r.Error)
	}
	env.mustRun(t, instructorID, "status emma", "powered off")
	env.mustRun(t, instructorID, "power sideways emma", "Type `/cicf power on NAME`")
	env.mustRun(t, instructorID, "cost", "*1 droplets* cost $")
}

func fingerprintIn(s string) string {
	m := regexp.MustCompile(`SHA256:[A-Za-z0-9+/]+`).FindString(s)
	return m
}

func countDroplets(env *testEnv, name string) int {
	n := 0
	for _, d := range env.sim.Droplets() {
		if d.Name == name {
			n++
		}
	}
	return n
}

// addressRecords lists the domain's A and AAAA records as "TYPE NAME".
func addressRecords(env *testEnv) []string {
	var out []string
	for _, r := range env.sim.Records("cicf.cloud") {
		if r.Type == "A" || r.Type == "AAAA" {
			out = append(out, r.Type+" "+r.Name)
		}
	}
	return out
}

func TestProvisionSurvivesDigitalOceanHiccups(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	// DigitalOcean answers the next dozen requests with 503 while the run
	// goes on: steps retry rather than fail the run.
	env.sim.FailNext(12, 503, 0)
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("provision through 503s ended %s at step %d: %s", r.State, r.Step, r.Error)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 1 {
		t.Errorf("%d droplets for zoe, want 1", n)
	}
}

func TestResetAfterAHalfDoneResetLeavesOneDroplet(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("provision: %s", r.Error)
	}
	// What a reset that failed after creating its droplet leaves behind.
	env.sim.AddDroplet(dosim.DropletSpec{Name: "zoe.cicf.cloud", Tags: []string{"cicf", tasks.StudentTag("zoe"), tasks.RunTag(99)}, IPv4: "198.18.2.99"})
	id := offerID(t, env.run(t, instructorID, "reset zoe"))
	env.mustRun(t, instructorID, "confirm "+id, "Resetting")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("reset ended %s: %s", r.State, r.Error)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 1 {
		t.Errorf("%d droplets for zoe after the reset, want 1", n)
	}
}

// DigitalOcean creates the droplet but the answer is lost (a 502 on the way
// back, which a POST is not retried on): the run finds the droplet by its
// run tag instead of creating a second one.
func TestProvisionAfterALostCreateAnswer(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	env.sim.InjectFault(1, dosim.Fault{Status: 502, AnswerLost: true, Only: "POST /v2/droplets"})
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	if r := env.lastRun(t, "zoe"); r.State != tasks.RunDone {
		t.Fatalf("provision ended %s: %s", r.State, r.Error)
	}
	if n := countDroplets(env, "zoe.cicf.cloud"); n != 1 {
		t.Errorf("%d droplets for zoe after a lost create answer, want 1", n)
	}
	posts := 0
	for _, r := range env.sim.RequestLog() {
		if r.Method == "POST" && r.Path == "/v2/droplets" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d create requests, want 1 (the lost one, found again by its run tag)", posts)
	}
}
