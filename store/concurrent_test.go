package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// TestOpen_concurrent opens a new file from several handles at once, as two
// processes starting together would.
func TestOpen_concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := store.Open(t.Context(), path, time.Now)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d = %v", i, err)
		}
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(migrations(t, path)), len(files); got != want {
		t.Errorf("%d migrations recorded, want %d", got, want)
	}
}

// TestDB_concurrentWriters writes from many goroutines through two handles
// on one file; busy_timeout and immediate transactions must absorb every
// lock conflict.
func TestDB_concurrentWriters(t *testing.T) {
	const goroutines, perGoroutine = 8, 50
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	dbs := []*store.DB{MustOpenDBAt(t, path, time.Now), MustOpenDBAt(t, path, time.Now)}

	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine*2)
	for g := range goroutines {
		db := dbs[g%len(dbs)]
		students, audit := store.NewStudentService(db), store.NewAuditLog(db)
		wg.Go(func() {
			for i := range perGoroutine {
				s := &tasks.Student{Name: fmt.Sprintf("s%d-%d", g, i), SlackID: fmt.Sprintf("U%dX%d", g, i)}
				if err := students.CreateStudent(t.Context(), s); err != nil {
					errs <- fmt.Errorf("CreateStudent(%q) = %w", s.Name, err)
				}
				e := &tasks.AuditEntry{UserID: s.SlackID, Role: tasks.RoleInstructor, Verb: "roster", Args: "add " + s.Name, Outcome: "ok"}
				if err := audit.RecordAudit(t.Context(), e); err != nil {
					errs <- fmt.Errorf("RecordAudit(%q) = %w", e.Args, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for i, db := range dbs {
		list, err := store.NewStudentService(db).ListStudents(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(list), goroutines*perGoroutine; got != want {
			t.Errorf("handle %d: ListStudents() has %d entries, want %d", i, got, want)
		}
		entries, err := store.NewAuditLog(db).ListAudit(t.Context(), 10*goroutines*perGoroutine)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(entries), goroutines*perGoroutine; got != want {
			t.Errorf("handle %d: ListAudit() has %d entries, want %d", i, got, want)
		}
	}
}
