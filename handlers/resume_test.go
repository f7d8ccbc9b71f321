package handlers_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// resume runs the stored run id as a restarted bot would: a new Runner over
// the same store resumes it. Its waits give up after two seconds, so a
// step that waits for what never comes fails the run instead of hanging.
func (e *testEnv) resume(t *testing.T, id int64) *tasks.Run {
	t.Helper()
	cfg := e.runnerCfg
	cfg.BootTimeout, cfg.SSHTimeout, cfg.VerifyTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	x := tasks.NewRunner(cfg, e.runnerDeps)
	defer x.Close()
	if n, err := x.Resume(context.Background()); err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v; want 1 run", n, err)
	}
	x.Wait()
	r, err := e.runs.FindRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// provisioned provisions zoe and returns the finished run.
func provisioned(t *testing.T, env *testEnv) *tasks.Run {
	t.Helper()
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	env.mustRun(t, instructorID, "provision zoe", "Provisioning")
	r := env.lastRun(t, "zoe")
	if r.State != tasks.RunDone {
		t.Fatalf("provision zoe: %s", r.Error)
	}
	return r
}

// A run that crashed in the host-key rotation resumes with HostKeyNext set:
// before activation it activates the new key; after, it finds the old key
// gone and goes on with the new one. Either way the new key is pinned.
func TestResumedHostKeyRotation(t *testing.T) {
	for _, activated := range []bool{false, true} {
		name := "before activation"
		if activated {
			name = "after activation"
		}
		t.Run(name, func(t *testing.T) {
			env := classEnv(t)
			ctx := context.Background()
			done := provisioned(t, env)
			old, addr := done.Data.HostKey, done.Data.IPv4+":22"
			// The crash: the VM made its next key, and maybe switched to it.
			rem, err := env.vms.Dial(ctx, addr, "cicf", old)
			if err != nil {
				t.Fatal(err)
			}
			out, err := rem.Run(ctx, "ssh-keygen -q -t ed25519 -f /etc/ssh/ssh_host_ed25519_key.next")
			if err != nil {
				t.Fatal(err)
			}
			next := strings.TrimSpace(string(out))
			if activated {
				if _, err := rem.Run(ctx, "if [ -e k.next ]; then mv k.next k; fi"); err != nil {
					t.Fatal(err)
				}
			}
			r := &tasks.Run{VM: "zoe", Kind: tasks.RunReset, RequestedBy: instructorID,
				Steps: []string{"Rotate the SSH host key"}, StepIDs: []string{"rotate-host-key"},
				Data: tasks.RunData{DropletID: done.Data.DropletID, HostKey: old, HostKeyNext: next, IPv4: done.Data.IPv4}}
			if err := env.runs.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			got := env.resume(t, r.ID)
			if got.State != tasks.RunDone || got.Data.HostKey != next || got.Data.HostKeyNext != "" {
				t.Fatalf("resumed rotation ended %s (%s) with key %q next %q, want done with %q pinned",
					got.State, got.Error, got.Data.HostKey, got.Data.HostKeyNext, next)
			}
			vm, err := env.deps.Fleet.VMs.FindVM(ctx, "zoe")
			if err != nil || vm.HostKey != next {
				t.Errorf("VM row host key = %v, %v; want the new key", vm, err)
			}
			if _, err := env.vms.Dial(ctx, addr, "cicf", next); err != nil {
				t.Errorf("the VM does not present the new key: %v", err)
			}
			if _, err := env.vms.Dial(ctx, addr, "cicf", old); !errors.Is(err, tasks.ErrHostKeyMismatch) {
				t.Errorf("the VM still presents the old key: %v", err)
			}
		})
	}
}

// A create whose answer was lost shows up in the list after the run made
// another droplet: the wait deletes the duplicate carrying the run's tag and
// keeps the run's droplet.
func TestResumedWaitDeletesTheDuplicateOfALostCreate(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	env.mustRun(t, instructorID, "roster add zoe U0ZOE0001 "+newPublicKey(t, "z"), "Added")
	r := &tasks.Run{VM: "zoe", Kind: tasks.RunProvision, RequestedBy: instructorID,
		Steps: []string{"Wait for it to boot"}, StepIDs: []string{"wait-active"}}
	if err := env.runs.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	tags := []string{"cicf", tasks.StudentTag("zoe"), tasks.RunTag(r.ID)}
	keep := env.sim.AddDroplet(dosim.DropletSpec{Name: "zoe.cicf.cloud", Tags: tags, IPv4: "198.18.3.2"})
	dup := env.sim.AddDroplet(dosim.DropletSpec{Name: "zoe.cicf.cloud", Tags: tags, IPv4: "198.18.3.3"})
	other := env.sim.AddDroplet(dosim.DropletSpec{Name: "zoe.cicf.cloud", Tags: []string{"cicf", tasks.StudentTag("zoe"), tasks.RunTag(r.ID + 1)}, IPv4: "198.18.3.4"})
	r.Data = tasks.RunData{DropletID: keep, CreateSent: true}
	if err := env.runs.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := env.resume(t, r.ID)
	if got.State != tasks.RunDone || got.Data.IPv4 != "198.18.3.2" {
		t.Fatalf("resumed wait ended %s (%s) with address %q", got.State, got.Error, got.Data.IPv4)
	}
	var left []int
	for _, d := range env.sim.Droplets() {
		left = append(left, d.ID)
	}
	if slices.Contains(left, dup) || !slices.Contains(left, keep) || !slices.Contains(left, other) {
		t.Errorf("droplets left = %v, want %d and %d kept, the duplicate %d deleted", left, keep, other, dup)
	}
}

// A stored step this bot does not know fails its run, naming the step.
func TestResumedRunWithAnUnknownStepFails(t *testing.T) {
	env := classEnv(t)
	r := &tasks.Run{VM: "emma", Kind: tasks.RunPowerOff, RequestedBy: instructorID,
		Steps: []string{"Power off", "Teleport"}, StepIDs: []string{"power-off", "teleport"}}
	if err := env.runs.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := env.resume(t, r.ID)
	if got.State != tasks.RunFailed || !strings.Contains(got.Error, `step "teleport" is unknown`) || got.Step != 0 {
		t.Errorf("run with an unknown step = %s at %d: %q, want failed at 0 naming it", got.State, got.Step, got.Error)
	}
}
