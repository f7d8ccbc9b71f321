package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// holdWriteLock opens path as a second process would before it has
// switched the file to WAL (a plain rollback-journal connection) and takes
// the write lock with BEGIN IMMEDIATE. While it holds it, switching the file
// to WAL answers SQLITE_BUSY at once: SQLite does not wait in busy_timeout
// for a lock whose holder may be waiting for ours. release commits; it may
// be called more than once.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
				t.Errorf("release the write lock: %v", err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// unmigrated is what Open makes before it migrates, with wait as the
// pause between tries.
func unmigrated(t *testing.T, path string, wait func(time.Duration) <-chan time.Time) *DB {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := createPrivate(abs); err != nil {
		t.Fatal(err)
	}
	sdb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	return &DB{db: sdb, now: time.Now, wait: wait}
}

// An open that meets another process's write lock on a new file tries
// again after the lock is gone, and migrates fully. The other connection
// lets go only once the first try has failed, so no timing decides it.
func TestMigrateRetry_busyThenReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	release := holdWriteLock(t, path)
	var waits []time.Duration
	db := unmigrated(t, path, func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		release()
		return time.After(0)
	})
	if err := db.migrateRetry(t.Context()); err != nil {
		t.Fatalf("migrateRetry = %v, want nil once the lock is released", err)
	}
	if len(waits) != 1 || waits[0] != 10*time.Millisecond {
		t.Errorf("waits = %v, want one of 10ms (the first try meets SQLITE_BUSY)", waits)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(files))
	}
	var mode string
	if err := db.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

// A lock that is never released: 50 tries, waits growing by 10ms, then
// the BUSY error.
func TestMigrateRetry_givesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	holdWriteLock(t, path)
	var waits []time.Duration
	db := unmigrated(t, path, func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		return time.After(0)
	})
	err := db.migrateRetry(t.Context())
	if sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("migrateRetry = %v, want SQLITE_BUSY", err)
	}
	if len(waits) != 49 || waits[0] != 10*time.Millisecond || waits[48] != 490*time.Millisecond {
		t.Errorf("%d waits (%v), want 49 from 10ms to 490ms", len(waits), waits)
	}
}

// A cancelled context ends the retries with the BUSY error.
func TestMigrateRetry_cancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	holdWriteLock(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tries := 0
	db := unmigrated(t, path, func(time.Duration) <-chan time.Time {
		tries++
		cancel()
		return nil // never fires: only ctx ends the wait
	})
	if err := db.migrateRetry(ctx); sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || tries != 1 {
		t.Errorf("migrateRetry = %v after %d waits, want SQLITE_BUSY after 1", err, tries)
	}
}

// Errors other than BUSY are not tried again.
func TestMigrateRetry_otherErrorsAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	if err := os.WriteFile(path, []byte("this is not a database, it is a text file of some length"), 0o600); err != nil {
		t.Fatal(err)
	}
	waits := 0
	db := unmigrated(t, path, func(time.Duration) <-chan time.Time {
		waits++
		return time.After(0)
	})
	if err := db.migrateRetry(t.Context()); err == nil || waits != 0 {
		t.Errorf("migrateRetry on a text file = %v after %d waits, want an error at once", err, waits)
	}
}
