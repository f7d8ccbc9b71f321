package tasks_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
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

	// The droplet changes each time (so the VM is written) and the pin
	// stays: the same droplet in a new stand-in, off then on again.
	for _, status := range []string{"off", "active"} {
		env.useSim(t, dosim.New(dosim.Options{Token: "t"}))
		if got := env.addDroplet("emma", status, time.Time{}); got != id {
			t.Fatalf("emma's droplet ID = %d in the new account, want %d", got, id)
		}
		env.now = env.now.Add(10 * time.Minute)
		st := itemOf(t, env.status(t), "emma")
		if st.VM == nil || st.VM.HostKey != hostKey || !st.VM.LastResetAt.Equal(resetAt) {
			t.Errorf("Status() emma VM = %+v, want HostKey %q and LastResetAt %v", st.VM, hostKey, resetAt)
		}
		vm := env.findVM(t, "emma")
		if vm.DropletID != id || vm.Status != status || vm.HostKey != hostKey || !vm.LastResetAt.Equal(resetAt) || !vm.SeenAt.Equal(env.now) {
			t.Errorf("after Status, FindVM(emma) = %+v, want droplet %d %s, HostKey %q, LastResetAt %v, SeenAt %v",
				vm, id, status, hostKey, resetAt, env.now)
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
			zed := env.addDroplet("zed", "active", time.Time{})
			env.status(t)
			seen := env.now

			env.now = env.now.Add(time.Hour)
			env.sim.FailNext(100, code, 0)
			before := env.sim.Requests()
			fs := env.status(t)
			if !fs.Stale || !fs.CheckedAt.Equal(env.now) || !fs.ListedAt.Equal(seen) || fs.StaleWhy == "" {
				t.Errorf("Status() = {Stale: %v, CheckedAt: %v, ListedAt: %v, StaleWhy: %q}, want {true, %v, %v, why}",
					fs.Stale, fs.CheckedAt, fs.ListedAt, fs.StaleWhy, env.now, seen)
			}
			if env.sim.Requests() == before {
				t.Errorf("Reconcile() did not ask DigitalOcean")
			}
			// What DigitalOcean said last is kept, the orphan zed included.
			checkItems(t, fs.Items, []wantItem{
				{"dylan", true, dylan, "off", []string{"powered off"}},
				{"frank", true, 0, "", []string{"waiting for an SSH key"}},
				{"gina", true, 0, "", []string{"not provisioned yet"}},
				{"zed", false, zed, "active", []string{"droplet zed.cicf.cloud (id " + fmt.Sprint(zed) + ") carries the class tag but is not on the roster"}},
				{"emma", true, emma, "active", nil},
			})
			if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(seen) || vm.Status != "active" {
				t.Errorf("FindVM(emma) = %+v, want it untouched (SeenAt %v)", vm, seen)
			}
		})
	}
}

// A request DigitalOcean calls malformed is a bug, not an outage: Reconcile
// reports an internal error, and status says the view is stale.
func TestFleet_Status_cloudError(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.sim.FailNext(1, http.StatusBadRequest, 0)
	if err := env.fleet.Reconcile(context.Background()); tasks.ErrorCode(err) != tasks.EINTERNAL {
		t.Errorf("Reconcile() = %v, want an internal error", err)
	}
	if fs := env.status(t); fs.Stale {
		t.Errorf("Status() after a good Reconcile = stale (%s)", fs.StaleWhy)
	}
}

// Status reads only what the bot stored: no API call and no write, however
// many students ask; the view it reads goes stale when nothing refreshes it.
func TestFleet_Status_onlyReads(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.addStudent(t, "dylan", true)
	if fs, err := env.fleet.Status(context.Background()); err != nil || !fs.Stale || !fs.ListedAt.IsZero() {
		t.Fatalf("Status() before any Reconcile = %+v, %v; want stale, never listed", fs, err)
	}
	emma := env.addDroplet("emma", "active", time.Time{})
	gina := env.addDroplet("gina", "active", time.Time{})
	env.status(t)
	seen := env.findVM(t, "emma").SeenAt

	env.addDroplet("dylan", "active", time.Time{}) // after the last reconcile
	before := env.sim.Requests()
	for range 3 {
		env.now = env.now.Add(time.Minute)
		fs, err := env.fleet.Status(context.Background())
		if err != nil || fs.Stale {
			t.Fatalf("Status() = %+v, %v; want a fresh view", fs, err)
		}
		checkItems(t, fs.Items, []wantItem{
			{"dylan", true, 0, "", []string{"not provisioned yet"}},
			{"gina", false, gina, "active", []string{fmt.Sprintf("droplet gina.cicf.cloud (id %d) carries the class tag but is not on the roster", gina)}},
			{"emma", true, emma, "active", nil},
		})
	}
	if n := env.sim.Requests() - before; n != 0 {
		t.Errorf("Status() made %d DigitalOcean requests, want 0", n)
	}
	if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(seen) {
		t.Errorf("Status() wrote emma's VM (SeenAt %v -> %v)", seen, vm.SeenAt)
	}
	// Put on the roster after the reconcile that listed her droplet: shown
	// from the view, recorded by the next reconcile only.
	env.addStudent(t, "gina", true)
	fs, err := env.fleet.Status(context.Background())
	if err != nil || itemOf(t, fs, "gina").VM == nil || itemOf(t, fs, "gina").VM.DropletID != gina {
		t.Errorf("Status() gina = %+v, %v; want her droplet %d from the view", itemOf(t, fs, "gina").VM, err, gina)
	}
	if _, err := env.vms.FindVM(context.Background(), "gina"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("FindVM(gina) after Status = %v, want ENOTFOUND (status writes nothing)", err)
	}
	env.now = env.now.Add(tasks.DefaultMaxViewAge)
	if fs, _ := env.fleet.Status(context.Background()); !fs.Stale || !strings.Contains(fs.StaleWhy, "old") {
		t.Errorf("Status() %v after the last list = {Stale: %v, %q}, want stale", env.now.Sub(fs.ListedAt), fs.Stale, fs.StaleWhy)
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
