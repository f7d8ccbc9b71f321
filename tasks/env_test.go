package tasks_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const (
	classTag     = "cicf"
	domain       = "cicf.cloud"
	instructorID = "U0TEACH01"
)

// testEnv is a Fleet and a Directory over a real SQLite file and the
// DigitalOcean stand-in, reached through the real godo-based adapter.
type testEnv struct {
	now      time.Time // the clock of the store and the Fleet; tests move it
	db       *store.DB
	students *store.StudentService
	vms      *store.VMService
	sim      *dosim.Server
	fleet    *tasks.Fleet
	dir      *tasks.Directory
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return env.now }
	path := filepath.Join(t.TempDir(), "cicf.db")
	db, err := store.Open(context.Background(), path, clock)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	env.db = db
	env.students = store.NewStudentService(db)
	env.vms = store.NewVMService(db)
	env.fleet = &tasks.Fleet{
		Students: env.students, VMs: env.vms, Views: store.NewCloudViewStore(db),
		Tag: classTag, Domain: domain, Now: clock, Logger: slog.New(slog.DiscardHandler),
	}
	env.useSim(t, dosim.New(dosim.Options{Token: "t"}))
	env.dir = &tasks.Directory{Instructors: map[string]bool{instructorID: true}, Students: env.students}
	return env
}

// useSim points the Fleet at sim, as if the account now held sim's droplets.
func (e *testEnv) useSim(t *testing.T, sim *dosim.Server) {
	t.Helper()
	t.Cleanup(sim.Close)
	e.sim = sim
	e.fleet.Droplets = digitalocean.New(digitalocean.Config{
		Token: "t", BaseURL: sim.URL(), Timeout: 5 * time.Second, MaxRetries: 1,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
}

// addStudent puts name on the roster with a fresh key, or none if !withKey.
func (e *testEnv) addStudent(t *testing.T, name string, withKey bool) *tasks.Student {
	t.Helper()
	s := &tasks.Student{Name: name, SlackID: slackID(name)}
	if withKey {
		s.PublicKey = newKeyLine(t) + " " + name + "@laptop"
	}
	if err := e.students.CreateStudent(context.Background(), s); err != nil {
		t.Fatalf("CreateStudent(%q) = %v", name, err)
	}
	return s
}

// addDroplet adds a droplet for name (a roster name or any FQDN) carrying
// tags, by default the class tag.
func (e *testEnv) addDroplet(name, status string, created time.Time, tags ...string) int {
	if len(tags) == 0 {
		tags = []string{classTag, "student-" + name}
	}
	return e.sim.AddDroplet(dosim.DropletSpec{
		Name: name + "." + domain, Status: status, Tags: tags, CreatedAt: created,
		IPv4: "203.0.113.10", IPv6: "2001:db8::10", Region: "fra1", Size: "s-1vcpu-1gb",
	})
}

func (e *testEnv) findVM(t *testing.T, name string) *tasks.VM {
	t.Helper()
	vm, err := e.vms.FindVM(context.Background(), name)
	if err != nil {
		t.Fatalf("FindVM(%q) = %v", name, err)
	}
	return vm
}

// status reconciles with DigitalOcean, as the scheduled job does, then
// reads the status as a user would. An unreachable DigitalOcean is not
// fatal: the status then says it is stale.
func (e *testEnv) status(t *testing.T) *tasks.FleetStatus {
	t.Helper()
	if err := e.fleet.Reconcile(context.Background()); err != nil && tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
		t.Fatalf("Reconcile() = %v", err)
	}
	fs, err := e.fleet.Status(context.Background())
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	return fs
}

// slackID derives a valid Slack user ID from a roster name.
func slackID(name string) string {
	id := []byte("U0000000")
	for i := 0; i < len(name) && i < 7; i++ {
		if c := name[i]; c >= 'a' && c <= 'z' {
			id[i+1] = c - 'a' + 'A'
		}
	}
	return string(id)
}
