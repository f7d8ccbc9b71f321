package tasks_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// wantItem is what a test expects of one VMStatus.
type wantItem struct {
	name      string
	onRoster  bool
	dropletID int // 0: no VM
	status    string
	problems  []string
}

func checkItems(t *testing.T, got []tasks.VMStatus, want []wantItem) {
	t.Helper()
	var names []string
	for _, it := range got {
		names = append(names, it.Name)
	}
	if len(got) != len(want) {
		t.Fatalf("Status() items = %q, want %d items", names, len(want))
	}
	for i, w := range want {
		g := got[i]
		var id int
		var status string
		if g.VM != nil {
			id, status = g.VM.DropletID, g.VM.Status
		}
		if g.Name != w.name || (g.Student != nil) != w.onRoster || id != w.dropletID || status != w.status || !slices.Equal(g.Problems, w.problems) {
			t.Errorf("item %d = {%s roster=%v droplet=%d %q %q}, want {%s roster=%v droplet=%d %q %q}",
				i, g.Name, g.Student != nil, id, status, g.Problems, w.name, w.onRoster, w.dropletID, w.status, w.problems)
		}
		if g.Student != nil && g.Student.Name != g.Name {
			t.Errorf("item %d: Name %q with Student %q", i, g.Name, g.Student.Name)
		}
	}
}

func TestFleet_Status(t *testing.T) {
	env := newTestEnv(t)
	day := func(n int) time.Time { return time.Date(2026, 11, n, 9, 0, 0, 0, time.UTC) }
	for _, s := range []struct {
		name    string
		withKey bool
	}{{"emma", true}, {"dylan", true}, {"frank", false}, {"gina", true}, {"hana", true}, {"ivan", true}, {"jack", true}, {"kim", true}, {"lea", false}} {
		env.addStudent(t, s.name, s.withKey)
	}
	emma := env.addDroplet("emma", "active", day(1))
	dylan := env.addDroplet("dylan", "off", day(1))
	hana := env.addDroplet("hana", "new", day(2))
	env.addDroplet("ivan", "active", day(3))
	ivanOld := env.addDroplet("ivan", "active", day(2))
	kim := env.addDroplet("kim", "archive", day(1))
	lea := env.addDroplet("lea", "active", day(1)) // the key was removed after provisioning
	zed := env.addDroplet("zed", "active", day(1))
	env.addDroplet("jack", "active", day(1), "another-class") // not ours
	env.addDroplet("emma", "active", day(1), "another-class") // not a duplicate of emma's
	env.addDroplet("nobody", "active", day(1), "web")

	fs := env.status(t)
	if fs.Stale || !fs.CheckedAt.Equal(env.now) {
		t.Errorf("Status() = {Stale: %v, CheckedAt: %v}, want {false, %v}", fs.Stale, fs.CheckedAt, env.now)
	}
	checkItems(t, fs.Items, []wantItem{
		{"dylan", true, dylan, "off", []string{"powered off"}},
		{"frank", true, 0, "", []string{"waiting for an SSH key"}},
		{"gina", true, 0, "", []string{"not provisioned yet"}},
		{"ivan", true, ivanOld, "active", []string{"2 droplets share this name"}},
		{"jack", true, 0, "", []string{"not provisioned yet"}},
		{"kim", true, kim, "archive", []string{"archived"}},
		{"zed", false, zed, "active", []string{fmt.Sprintf("droplet zed.cicf.cloud (id %d) carries the class tag but is not on the roster", zed)}},
		{"emma", true, emma, "active", nil},
		{"hana", true, hana, "new", nil},
		{"lea", true, lea, "active", nil},
	})

	// What DigitalOcean reported is now stored, for when it does not answer.
	vm := env.findVM(t, "emma")
	want := tasks.VM{Name: "emma", DropletID: emma, Status: "active", IPv4: "203.0.113.10", IPv6: "2001:db8::10",
		Region: "fra1", Size: "s-1vcpu-1gb", CreatedAt: day(1), SeenAt: env.now}
	if vm.Name != want.Name || vm.DropletID != want.DropletID || vm.Status != want.Status || vm.IPv4 != want.IPv4 ||
		vm.IPv6 != want.IPv6 || vm.Region != want.Region || vm.Size != want.Size ||
		!vm.CreatedAt.Equal(want.CreatedAt) || !vm.SeenAt.Equal(want.SeenAt) || vm.HostKey != "" || !vm.LastResetAt.IsZero() {
		t.Errorf("FindVM(emma) = %+v, want %+v", *vm, want)
	}
	for _, name := range []string{"frank", "gina", "jack", "zed"} {
		if _, err := env.vms.FindVM(context.Background(), name); tasks.ErrorCode(err) != tasks.ENOTFOUND {
			t.Errorf("FindVM(%q) error = %v, want %s", name, err, tasks.ENOTFOUND)
		}
	}
}

func TestFleet_Status_empty(t *testing.T) {
	env := newTestEnv(t)
	fs := env.status(t)
	if len(fs.Items) != 0 || fs.Stale {
		t.Errorf("Status() of an empty class = %+v, want no items, not stale", fs)
	}
}

func TestFleet_StatusOf(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	env.addStudent(t, "dylan", true)
	emma := env.addDroplet("emma", "active", time.Time{})
	env.addDroplet("dylan", "off", time.Time{})
	env.addDroplet("zed", "active", time.Time{})
	env.status(t)

	st, fs, err := env.fleet.StatusOf(context.Background(), "emma")
	if err != nil {
		t.Fatalf("StatusOf(emma) = %v", err)
	}
	if st.Name != "emma" || st.Student == nil || st.VM == nil || st.VM.DropletID != emma || len(st.Problems) != 0 {
		t.Errorf("StatusOf(emma) = %+v, want emma's droplet %d and no problems", st, emma)
	}
	if fs == nil || len(fs.Items) != 3 {
		t.Errorf("StatusOf(emma) fleet = %+v, want the 3 items of the class", fs)
	}
	if st, _, _ := env.fleet.StatusOf(context.Background(), "dylan"); !slices.Equal(st.Problems, []string{"powered off"}) {
		t.Errorf("StatusOf(dylan).Problems = %q, want [powered off]", st.Problems)
	}

	// zed has a droplet but is not on the roster; ../etc is not even a name.
	for _, name := range []string{"nobody", "zed", "../etc", ""} {
		st, fs, err := env.fleet.StatusOf(context.Background(), name)
		if code := tasks.ErrorCode(err); code != tasks.ENOTFOUND || st != nil || fs != nil {
			t.Errorf("StatusOf(%q) = %v, %v, %v, want nil, nil, %s", name, st, fs, err, tasks.ENOTFOUND)
		}
	}
}

func TestFleet_FQDN(t *testing.T) {
	f := &tasks.Fleet{Domain: "cicf.cloud"}
	if got, want := f.FQDN("emma"), "emma.cicf.cloud"; got != want {
		t.Errorf("FQDN(%q) = %q, want %q", "emma", got, want)
	}
}
