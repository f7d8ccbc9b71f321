package store_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// openOld creates a database at path with migrations up to 0002 applied and
// runs the statements in rows, as an older bot would have left it.
func openOld(t *testing.T, path string, rows ...string) {
	t.Helper()
	sdb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	qs := []string{`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL) STRICT`}
	for _, f := range []string{"0001_init.sql", "0002_runs.sql"} {
		b, err := os.ReadFile("migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, string(b), `INSERT INTO schema_migrations VALUES ('`+f+`', '2026-01-01T00:00:00Z')`)
	}
	for _, q := range append(qs, rows...) {
		if _, err := sdb.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("set up old database: %v\n%s", err, q)
		}
	}
}

const oldRun = `INSERT INTO runs (id, vm, kind, state, step, steps, data, created_at, updated_at) VALUES `

// TestOpen_migrateRunsTo0003 checks that runs stored as string maps with
// step titles only come back typed, with step IDs, so they resume.
func TestOpen_migrateRunsTo0003(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	openOld(t, path,
		oldRun+`(1, 'emma', 'reset', 'running', 4,
			'["Create the droplet","Wait for it to boot","Point DNS at it","Wait for SSH and cloud-init","Rotate the SSH host key","Upload JupyterLab and Caddy","Start JupyterLab","Check it from outside","Delete the old droplet"]',
			'{"droplet_id":"123456789","host_key":"ssh-ed25519 AAAA","host_key_next":"ssh-ed25519 BBBB","create_sent":"1","ipv4":"198.18.1.2","notify":"U0EMMA001"}',
			'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
		oldRun+`(2, 'noah', 'power-off', 'running', 0, '["Power off","Teleport"]', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`)
	db := MustOpenDBAt(t, path, newClock(testNow).Now)
	s := store.NewRunService(db)

	r, err := s.FindRun(t.Context(), 1)
	if err != nil {
		t.Fatalf("FindRun(1) after migration = %v", err)
	}
	want := tasks.RunData{DropletID: 123456789, HostKey: "ssh-ed25519 AAAA", HostKeyNext: "ssh-ed25519 BBBB",
		CreateSent: true, IPv4: "198.18.1.2", Notify: "U0EMMA001"}
	if r.Data != want {
		t.Errorf("Data after migration = %+v, want %+v", r.Data, want)
	}
	wantIDs := []string{"create-droplet", "wait-active", "point-dns", "wait-ssh", "rotate-host-key", "upload-payload", "start-service", "verify", "delete-old"}
	if !slices.Equal(r.StepIDs, wantIDs) {
		t.Errorf("StepIDs after migration = %q, want %q", r.StepIDs, wantIDs)
	}
	// A title no code knows maps to "": the runner then fails that run.
	r, err = s.FindRun(t.Context(), 2)
	if err != nil {
		t.Fatalf("FindRun(2) after migration = %v", err)
	}
	if want := []string{"power-off", ""}; !slices.Equal(r.StepIDs, want) {
		t.Errorf("StepIDs of an unknown title = %q, want %q", r.StepIDs, want)
	}
}

// TestFindRun_strictData checks that stored run data of the wrong shape is
// an error, not a zero a step would act on (droplet 0).
func TestFindRun_strictData(t *testing.T) {
	for name, data := range map[string]string{
		"bad number":    `{"droplet_id":"abc"}`,
		"string number": `{"droplet_id":"12"}`,
		"unknown field": `{"droplet":12}`,
		"wrong type":    `{"create_sent":"yes"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cicf-bot.db")
			db := MustOpenDBAt(t, path, newClock(testNow).Now)
			sdb, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer sdb.Close()
			if _, err := sdb.ExecContext(t.Context(), oldRun+`(7, 'emma', 'power-on', 'running', 0, '["Power on"]', ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, data); err != nil {
				t.Fatal(err)
			}
			s := store.NewRunService(db)
			if r, err := s.FindRun(t.Context(), 7); err == nil {
				t.Errorf("FindRun with data %s = %+v, want an error", data, r.Data)
			}
			if rs, err := s.ActiveRuns(t.Context()); err == nil {
				t.Errorf("ActiveRuns with data %s = %d runs, want an error", data, len(rs))
			}
		})
	}
}
