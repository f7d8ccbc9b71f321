// Package store keeps the roster, the VMs and the audit log in one SQLite
// file, implementing the storage interfaces that package tasks declares.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeFormat is RFC 3339 with a fixed-width fraction: times written in UTC
// sort as text and keep every nanosecond.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// DB is an open SQLite database with its schema up to date.
type DB struct {
	db  *sql.DB
	now func() time.Time
	// wait is how migrateRetry waits before it tries again (time.After);
	// tests act between two tries through it.
	wait func(time.Duration) <-chan time.Time
}

// Open opens the SQLite file at path, creating it (mode 0600) and its parent
// directory (mode 0700) if needed, and applies any migration not yet applied.
// now stamps new rows; nil means time.Now. It returns an error if the file
// cannot be created or opened, is not a database, or a migration fails.
func Open(ctx context.Context, path string, now func() time.Time) (*DB, error) {
	if now == nil {
		now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	sdb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// A few connections, all kept: writers take turns anyway (immediate
	// transactions), and each new connection grows SQLite's own allocator,
	// which does not give memory back.
	sdb.SetMaxOpenConns(4)
	sdb.SetMaxIdleConns(4)
	db := &DB{db: sdb, now: now, wait: time.After}
	if err := db.migrateRetry(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// migrateRetry migrates, trying again while SQLite answers SQLITE_BUSY. On
// a brand-new file, processes opening it at once race to switch it to WAL
// and to read its first schema; SQLite then answers BUSY at once rather
// than wait in busy_timeout (it would deadlock otherwise: each holds a read
// lock the other's switch needs). Seen as a flake of TestOpen_concurrent,
// about 1 open in 100.
func (db *DB) migrateRetry(ctx context.Context) error {
	for try := 1; ; try++ {
		err := db.migrate(ctx)
		if err == nil || sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || try == 50 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-db.wait(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

// Close closes the database; it returns the error of closing the connections.
func (db *DB) Close() error {
	return db.db.Close()
}

// Backup writes a consistent copy of the database to dst, a new file with
// mode 0600, while other connections keep working. It returns an error if dst
// exists already or the copy fails; a failed copy leaves no file behind.
func (db *DB) Backup(ctx context.Context, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("back up to %s: %w", dst, err)
	}
	// VACUUM INTO accepts an empty file; creating it first sets its mode.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("back up to %s: %w", dst, err)
	}
	f.Close()
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("back up to %s: %w", dst, err)
	}
	return nil
}

// dsn sets the pragmas on every connection the pool opens. _txlock=immediate
// makes each transaction take the write lock when it begins, so concurrent
// writers wait in busy_timeout instead of failing with SQLITE_BUSY when a
// read lock cannot be upgraded.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// createPrivate makes sure the file at path exists and only its owner can
// read it: it holds pinned host keys and the audit log. SQLite gives the
// -wal and -shm files the same mode.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// migrate applies the embedded migrations in name order, each in its own
// transaction. Two processes opening a new file at once are safe: each
// migration is checked and applied under the write lock.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", path.Base(name), err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, path.Base(name)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		buf, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, path.Base(name), formatTime(db.now()))
		return err
	})
}

// inTx runs fn in a transaction that holds the write lock, committing if fn
// returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// formatTime returns t as UTC text, or NULL for the zero time.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// timeColumn scans what formatTime wrote into t; NULL is the zero time.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return err
		}
		*c.t = t
		return nil
	default:
		return fmt.Errorf("time column holds %T, want text", v)
	}
}

// sqliteCode returns the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		return e.Code()
	}
	return 0
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
