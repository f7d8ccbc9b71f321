package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/testclock"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// testNow is not in UTC and has nanoseconds, so round trips are exact only if
// the store keeps both.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// newClock returns a clock standing at t that tests move instead of
// sleeping.
func newClock(t time.Time) *testclock.Clock { return testclock.New(t) }

// MustOpenDB returns a new database in a temporary directory whose clock
// stands at testNow; it is closed when the test ends.
func MustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	return MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "cicf-bot.db"), newClock(testNow).Now)
}

// MustOpenDBAt opens the database at path with the clock now; it is closed
// when the test ends.
func MustOpenDBAt(tb testing.TB, path string, now func() time.Time) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path, now)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close(%q) = %v", path, err)
		}
	})
	return db
}

// timeField is one time of an entity, got and wanted, named for messages.
type timeField struct {
	name      string
	got, want time.Time
}

// diffTimes returns "NAME = got, want want" for each field whose times are
// not the same instant (== would also compare their locations).
func diffTimes(fs ...timeField) []string {
	var d []string
	for _, f := range fs {
		if !f.got.Equal(f.want) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", f.name, f.got, f.want))
		}
	}
	return d
}

// mustCreateStudent adds a student with a valid Slack ID derived from name.
func mustCreateStudent(tb testing.TB, db *store.DB, name string) *tasks.Student {
	tb.Helper()
	s := &tasks.Student{Name: name, SlackID: slackID(name)}
	if err := store.NewStudentService(db).CreateStudent(context.Background(), s); err != nil {
		tb.Fatalf("CreateStudent(%q) = %v", name, err)
	}
	return s
}

func slackID(name string) string {
	id := []byte("U")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			id = append(id, byte(r-'a'+'A'))
		case r >= '0' && r <= '9':
			id = append(id, byte(r))
		}
	}
	return string(id)
}

func TestOpen_filePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "cicf-bot.db")
	db := MustOpenDBAt(t, path, time.Now)
	mustCreateStudent(t, db, "emma") // makes the WAL file exist

	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != tc.want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(tc.path), got, tc.want)
		}
	}
}

func TestOpen_tightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	MustOpenDBAt(t, path, time.Now)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode = %v, want %v", got, want)
	}
}

func TestOpen_notADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	if err := os.WriteFile(path, []byte("this is not an SQLite file, just text long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), path, time.Now)
	if err == nil {
		db.Close()
		t.Fatalf("Open(%q) = nil error, want one", path)
	}
}

// TestOpen_reopen checks that data survives and migrations run only once.
func TestOpen_reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	first := newClock(testNow)
	db, err := store.Open(t.Context(), path, first.Now)
	if err != nil {
		t.Fatal(err)
	}
	emma := mustCreateStudent(t, db, "emma")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	later := newClock(testNow.Add(time.Hour))
	db = MustOpenDBAt(t, path, later.Now)
	got, err := store.NewStudentService(db).FindStudent(t.Context(), "emma")
	if err != nil {
		t.Fatalf("FindStudent after reopen = %v", err)
	}
	if d := diffStudent(got, emma); d != "" {
		t.Errorf("FindStudent after reopen: %s", d)
	}

	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	applied := migrations(t, path)
	if got, want := len(applied), len(files); got != want {
		t.Errorf("%d migrations recorded, want %d", got, want)
	}
	for _, f := range files {
		at, ok := applied[filepath.Base(f)]
		if !ok {
			t.Errorf("migration %s not recorded", filepath.Base(f))
			continue
		}
		if !at.Equal(testNow) {
			t.Errorf("migration %s applied at %v, want %v (the first open)", filepath.Base(f), at, testNow)
		}
	}
}

// migrations reads schema_migrations behind the store's back.
func migrations(t *testing.T, path string) map[string]time.Time {
	t.Helper()
	sdb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	rows, err := sdb.QueryContext(t.Context(), `SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name, at string
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatal(err)
		}
		if out[name], err = time.Parse(time.RFC3339Nano, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDB_Backup(t *testing.T) {
	db := MustOpenDB(t)
	emma := mustCreateStudent(t, db, "emma")
	vm := &tasks.VM{Name: "emma", DropletID: 42, Status: "active", HostKey: hostKey, SeenAt: testNow}
	if err := store.NewVMService(db).UpsertVM(t.Context(), vm); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "backups", "cicf-bot-1.db")
	if err := db.Backup(t.Context(), dst); err != nil {
		t.Fatalf("Backup(%q) = %v", dst, err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("backup mode = %v, want %v", got, want)
	}

	// Writes after the backup must not show in it.
	mustCreateStudent(t, db, "noah")

	bak := MustOpenDBAt(t, dst, time.Now)
	students, err := store.NewStudentService(bak).ListStudents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(students) != 1 {
		t.Fatalf("backup has %d students, want 1", len(students))
	}
	if d := diffStudent(students[0], emma); d != "" {
		t.Errorf("backup student: %s", d)
	}
	gotVM, err := store.NewVMService(bak).FindVM(t.Context(), "emma")
	if err != nil {
		t.Fatalf("FindVM in backup = %v", err)
	}
	if d := diffVM(gotVM, vm); d != "" {
		t.Errorf("backup vm: %s", d)
	}

	// An existing file is never overwritten.
	if err := db.Backup(t.Context(), dst); err == nil {
		t.Errorf("Backup(%q) over an existing file = nil, want an error", dst)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Errorf("existing backup gone after failed Backup: %v", err)
	}
}
