package tasks_test

import (
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// Reconciling, every minute, writes no VM whose cloud view did not change
// (SeenAt stays), however long ago it was written.
func TestFleet_Status_skipsUnchangedWrite(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.addDroplet("emma", "active", time.Time{})
	env.status(t)
	first := env.now
	if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(first) {
		t.Fatalf("after the first Status, SeenAt = %v, want %v", vm.SeenAt, first)
	}

	env.now = env.now.Add(10 * time.Second)
	env.status(t)
	if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(first) {
		t.Errorf("Status 10s later with nothing changed wrote the VM: SeenAt = %v, want %v", vm.SeenAt, first)
	}

	for _, later := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
		env.now = env.now.Add(later)
		env.status(t)
		if vm := env.findVM(t, "emma"); !vm.SeenAt.Equal(first) {
			t.Errorf("Status %s later with nothing changed wrote the VM: SeenAt = %v, want %v", later, vm.SeenAt, first)
		}
	}
}

// A change the cloud reports is written at once, even within listLag.
func TestFleet_Status_writesChangeWithinLag(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	id := env.addDroplet("emma", "active", time.Time{})
	env.status(t)

	// The same droplet, powered off: a new stand-in numbers it the same.
	env.useSim(t, dosim.New(dosim.Options{Token: "t"}))
	if got := env.addDroplet("emma", "off", time.Time{}); got != id {
		t.Fatalf("emma's droplet ID = %d in the new account, want %d", got, id)
	}
	env.now = env.now.Add(10 * time.Second)
	env.status(t)
	if vm := env.findVM(t, "emma"); vm.Status != "off" || !vm.SeenAt.Equal(env.now) {
		t.Errorf("after the droplet was powered off, FindVM(emma) = status %q SeenAt %v, want off at %v", vm.Status, vm.SeenAt, env.now)
	}
}
