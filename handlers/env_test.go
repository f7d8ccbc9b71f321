package handlers_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
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
	sim    *dosim.Server
	db     *store.DB
	audit  *store.AuditLog
	now    time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	env := &testEnv{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return env.now }
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cicf.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env.db = db
	env.sim = dosim.New(dosim.Options{Token: "do-test-token"})
	t.Cleanup(env.sim.Close)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	students := store.NewStudentService(db)
	env.audit = store.NewAuditLog(db)
	do := digitalocean.New(digitalocean.Config{
		Token: "do-test-token", BaseURL: env.sim.URL(), Timeout: 3 * time.Second, MaxRetries: 1,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	env.router = handlers.NewRouter(handlers.RouterDeps{
		Directory: &tasks.Directory{Instructors: map[string]bool{instructorID: true}, Students: students},
		Fleet: &tasks.Fleet{
			Students: students, VMs: store.NewVMService(db), Droplets: do,
			Tag: "cicf", Domain: "cicf.cloud", Now: clock, Logger: logger,
		},
		Students: students, Audit: env.audit, Logger: logger, Now: clock,
	})
	return env
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
