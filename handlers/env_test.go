package handlers_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const (
	instructorID = "U0TEACH01"
	emmaID       = "U0EMMA001"
	dylanID      = "U0DYLAN01"
	strangerID   = "U0NOBODY1"
)

// testEnv is a Router over a real SQLite file and the DigitalOcean stand-in,
// reached through the real godo-based adapter.
type testEnv struct {
	router *handlers.Router
	// deps built router; a second NewRouter(deps) is the bot after a restart.
	deps handlers.RouterDeps
	// runnerCfg and runnerDeps built runner.
	runnerCfg  tasks.RunnerConfig
	runnerDeps tasks.RunnerDeps
	runner     *tasks.Runner
	sim        *dosim.Server
	vms        *vmsim.Fleet
	db         *store.DB
	audit      *store.AuditLog
	runs       *store.RunService
	mu         sync.Mutex
	now        time.Time
}

// advance moves the test clock.
func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	env := &testEnv{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { env.mu.Lock(); defer env.mu.Unlock(); return env.now }
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cicf.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env.db = db
	// Droplets created by runs boot as simulated VMs (the real-sshd path is
	// tested in tasks and cmd/bot); these tests are about the verbs.
	env.vms = vmsim.New(0)
	env.sim = dosim.New(dosim.Options{
		Token: "do-test-token", BootDelay: 50 * time.Millisecond, ActionDelay: 20 * time.Millisecond,
		AssignIP: env.vms.AssignIP, OnCreate: env.vms.OnCreate,
	})
	env.vms.Attach(env.sim)
	t.Cleanup(env.sim.Close)
	env.sim.AddDomain("cicf.cloud")

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	students := store.NewStudentService(db)
	env.audit = store.NewAuditLog(db)
	do := digitalocean.New(digitalocean.Config{
		Token: "do-test-token", BaseURL: env.sim.URL(), Timeout: 3 * time.Second, MaxRetries: 1, RatePerMinute: 1 << 20,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	vms := store.NewVMService(db)
	env.runs = store.NewRunService(db)
	env.runnerCfg = tasks.RunnerConfig{
		Domain: "cicf.cloud", Region: "nyc3", Size: "s-1vcpu-2gb", Image: "debian-12-x64", Tag: "cicf",
		PollInterval: 20 * time.Millisecond,
	}
	env.runnerDeps = tasks.RunnerDeps{
		Runs: env.runs, VMs: vms, Students: students, Cloud: do, SSH: env.vms, Prober: env.vms, Records: store.NewDNSRecordStore(db),
		Now: clock, Logger: logger,
	}
	env.runner = tasks.NewRunner(env.runnerCfg, env.runnerDeps)
	t.Cleanup(env.runner.Close)
	env.deps = handlers.RouterDeps{
		Directory: &tasks.Directory{Instructors: map[string]bool{instructorID: true}, Students: students},
		Fleet: &tasks.Fleet{
			Students: students, VMs: vms, Droplets: do, Views: store.NewCloudViewStore(db),
			Tag: "cicf", Domain: "cicf.cloud", Now: clock, Logger: logger,
		},
		Students: students, Audit: env.audit, Runner: env.runner, Cloud: do, Offers: store.NewOfferStore(db),
		Logger: logger, Now: clock, StudentsMayReset: true,
	}
	env.router = handlers.NewRouter(env.deps)
	return env
}

// reconcile asks the DigitalOcean stand-in for the class's droplets, as
// the scheduled job does; status reads only what it stored.
func (e *testEnv) reconcile(t *testing.T) {
	t.Helper()
	if err := e.deps.Fleet.Reconcile(context.Background()); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
}

// run sends one command and returns the reply as text.
func (e *testEnv) run(t *testing.T, user, text string) string {
	t.Helper()
	return e.router.Handle(context.Background(), user, text).String()
}

// mustRun is run for commands that set up a test and must succeed.
func (e *testEnv) mustRun(t *testing.T, user, text, want string) {
	t.Helper()
	if got := e.run(t, user, text); !strings.Contains(got, want) {
		t.Fatalf("%s: %q\ngot:  %s\nwant it to contain %q", user, text, got, want)
	}
}

func newPublicKey(t testing.TB, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

// testWriter sends log lines to the test log, shown when a test fails.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
