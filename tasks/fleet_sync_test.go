package tasks_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// pin stores vm with a pinned host key and a last reset, as a run does.
func (e *testEnv) pin(t *testing.T, vm *tasks.VM, hostKey string, resetAt time.Time) {
	t.Helper()
	vm.HostKey, vm.LastResetAt = hostKey, resetAt
	if err := e.vms.UpsertVM(context.Background(), vm); err != nil {
		t.Fatalf("UpsertVM(%q) = %v", vm.Name, err)
	}
}

func itemOf(t *testing.T, fs *tasks.FleetStatus, name string) tasks.VMStatus {
	t.Helper()
	for _, it := range fs.Items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("Status() has no item %q", name)
	return tasks.VMStatus{}
}

func TestFleet_Status_keepsPin(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	id := env.addDroplet("emma", "active", time.Time{})
	env.status(t)
	hostKey, resetAt := newKeyLine(t), env.now.Add(-time.Hour)
	env.pin(t, env.findVM(t, "emma"), hostKey, resetAt)

	for range 2 {
		env.now = env.now.Add(10 * time.Minute)
		st := itemOf(t, env.status(t), "emma")
		if st.VM == nil || st.VM.HostKey != hostKey || !st.VM.LastResetAt.Equal(resetAt) {
			t.Errorf("Status() emma VM = %+v, want HostKey %q and LastResetAt %v", st.VM, hostKey, resetAt)
		}
		vm := env.findVM(t, "emma")
		if vm.DropletID != id || vm.HostKey != hostKey || !vm.LastResetAt.Equal(resetAt) || !vm.SeenAt.Equal(env.now) {
			t.Errorf("after Status, FindVM(emma) = %+v, want droplet %d, HostKey %q, LastResetAt %v, SeenAt %v",
				vm, id, hostKey, resetAt, env.now)
		}
	}
}

// Of two droplets with one name, the one the bot knows stays its VM even
// when it is not the oldest.
func TestFleet_Status_prefersKnownDroplet(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.addDroplet("emma", "active", env.now.Add(-48*time.Hour))
	known := env.addDroplet("emma", "active", env.now.Add(-time.Hour))
	hostKey := newKeyLine(t)
	env.pin(t, &tasks.VM{Name: "emma", DropletID: known, Status: "active"}, hostKey, time.Time{})

	st := itemOf(t, env.status(t), "emma")
	if st.VM == nil || st.VM.DropletID != known || !slices.Equal(st.Problems, []string{"2 droplets share this name"}) {
		t.Errorf("Status() emma = %+v, want droplet %d and [2 droplets share this name]", st, known)
	}
	if vm := env.findVM(t, "emma"); vm.DropletID != known || vm.HostKey != hostKey {
		t.Errorf("FindVM(emma) = %+v, want droplet %d with HostKey %q", vm, known, hostKey)
	}
}

// A droplet replaced outside the bot: the record keeps naming the bot's own
// droplet and its pin (only a run adopts a droplet, see VMService.SyncVM),
// and the status says that droplet is gone rather than showing it running.
func TestFleet_Status_dropletReplaced(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	const oldID = 42
	hostKey := newKeyLine(t)
	env.pin(t, &tasks.VM{Name: "emma", DropletID: oldID, Status: "active", IPv4: "198.51.100.7"}, hostKey, time.Time{})
	newID := env.addDroplet("emma", "active", time.Time{})

	want := []string{fmt.Sprintf("droplet %d is gone (deleted outside the bot?)", oldID)}
	for range 2 {
		st := itemOf(t, env.status(t), "emma")
		if st.VM == nil || st.VM.DropletID != oldID || st.VM.Status != "" || !slices.Equal(st.Problems, want) {
			t.Errorf("Status() emma = %+v (VM %+v), want droplet %d, status \"\" and %q", st, st.VM, oldID, want)
		}
		// Adopting droplet newID with the old pin would be the dangerous outcome.
		if vm := env.findVM(t, "emma"); vm.DropletID != oldID || vm.HostKey != hostKey || vm.Status != "" {
			t.Errorf("FindVM(emma) = %+v, want droplet %d (not %d) with its pin and status \"\"", vm, oldID, newID)
		}
	}
}

func TestFleet_Status_dropletGone(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.addStudent(t, "dylan", true)
	id := env.addDroplet("emma", "active", time.Time{})
	dylan := env.addDroplet("dylan", "active", time.Time{})
	env.status(t)

	// Someone deletes emma's droplet in the DigitalOcean console: the account
	// now holds only dylan's. The stand-in numbers droplets from the same
	// start, so an untagged placeholder keeps dylan's ID what it was.
	env.useSim(t, dosim.New(dosim.Options{Token: "t"}))
	env.sim.AddDroplet(dosim.DropletSpec{Name: "placeholder"})
	if got := env.addDroplet("dylan", "active", time.Time{}); got != dylan {
		t.Fatalf("dylan's droplet ID = %d in the new account, want %d", got, dylan)
	}
	env.now = env.now.Add(time.Hour)

	want := []string{fmt.Sprintf("droplet %d is gone (deleted outside the bot?)", id)}
	for range 2 { // the problem stays until someone acts on it
		fs := env.status(t)
		if got := fs.Items[0]; got.Name != "emma" || got.VM == nil || got.VM.DropletID != id || got.VM.Status != "" || !slices.Equal(got.Problems, want) {
			t.Fatalf("Status() first item = %+v (VM %+v), want emma with droplet %d, status \"\" and %q", got, got.VM, id, want)
		}
		if got := fs.Items[1]; got.Name != "dylan" || got.VM == nil || got.VM.DropletID != dylan || len(got.Problems) != 0 {
			t.Errorf("Status() second item = %+v (VM %+v), want dylan with droplet %d and no problem", got, got.VM, dylan)
		}
		if vm := env.findVM(t, "emma"); vm.DropletID != id || vm.Status != "" {
			t.Errorf("FindVM(emma) = %+v, want droplet %d with status \"\"", vm, id)
		}
	}
}

func TestFleet_Status_stale(t *testing.T) {
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests, http.StatusUnauthorized} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			env := newTestEnv(t)
			env.addStudent(t, "emma", true)
			env.addStudent(t, "dylan", true)
			env.addStudent(t, "frank", false)
			env.addStudent(t, "gina", true)
			emma := env.addDroplet("emma", "active", time.Time{})
			dylan := env.addDroplet("dylan", "off", time.Time{})
			env.addDroplet("zed", "active", time.Time{})
			env.status(t)
			seen := env.now

			env.now = env.now.Add(time.Hour)
			env.sim.FailNext(100, code, 0)
			before := env.sim.Requests()
			fs := env.status(t)
			if !fs.Stale || !fs.CheckedAt.Equal(env.now) {
				t.Errorf("Status() = {Stale: %v, CheckedAt: %v}, want {true, %v}", fs.Stale, fs.CheckedAt, env.now)
			}
			if env.sim.Requests() == before {
				t.Errorf("Status() did not ask DigitalOcean")
			}
			// The orphan zed is not stored, so it is not shown.
			checkItems(t, fs.Items, []wantItem{
				{"dylan", true, dylan, "off", []string{"powered off"}},
				{"frank", true, 0, "", []string{"waiting for an SSH key"}},
				{"gina", true, 0, "", []string{"not provisioned yet"}},
				{"emma", true, emma, "active", nil},
			})
			if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(seen) || vm.Status != "active" {
				t.Errorf("FindVM(emma) = %+v, want it untouched (SeenAt %v)", vm, seen)
			}
		})
	}
}

// A request DigitalOcean calls malformed is a bug, not an outage: no stale
// fallback.
func TestFleet_Status_cloudError(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.sim.FailNext(1, http.StatusBadRequest, 0)
	fs, err := env.fleet.Status(context.Background())
	if err == nil || tasks.ErrorCode(err) != tasks.EINTERNAL {
		t.Errorf("Status() = %+v, %v, want an internal error", fs, err)
	}
}

// A run has just recorded its new droplet, but the shared list the status
// uses predates it: the VM must not be reported gone.
func TestFleet_Status_justCreated(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	if err := env.vms.UpsertVM(context.Background(), &tasks.VM{Name: "emma", DropletID: 77, Status: "new", SeenAt: env.now.Add(-5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	st := itemOf(t, env.status(t), "emma")
	if st.VM == nil || st.VM.Status != "new" || len(st.Problems) != 0 {
		t.Errorf("Status() emma = %+v (VM %+v), want the new droplet and no problem", st, st.VM)
	}
	env.now = env.now.Add(2 * time.Minute) // still missing long after: gone
	st = itemOf(t, env.status(t), "emma")
	if want := "droplet 77 is gone (deleted outside the bot?)"; len(st.Problems) != 1 || st.Problems[0] != want {
		t.Errorf("Status() emma problems = %q, want %q", st.Problems, want)
	}
}
