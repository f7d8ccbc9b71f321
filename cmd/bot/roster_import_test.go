package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
)

// importCSV runs importRoster on text against the database at db and
// returns stdout, stderr and the error.
func importCSV(t *testing.T, db, text string) (string, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "class.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	m := &Main{Config: Config{DB: db}, Stdout: &out, Stderr: &errb, Now: func() time.Time { return time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC) }}
	err := m.importRoster(context.Background(), path)
	return out.String(), errb.String(), err
}

func TestRosterImport_emptyCellsKeepValues(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd emma@laptop"
	if out, errs, err := importCSV(t, db, "emma,U0EMMA001,emma@example.edu,"+key+"\n"); err != nil {
		t.Fatalf("first import: %v\n%s%s", err, out, errs)
	}
	// The instructor's sheet has no keys and no emails: nothing is erased.
	out, errs, err := importCSV(t, db, "name,slack,email,key\nemma,U0EMMA001,,\n")
	if err != nil {
		t.Fatalf("second import: %v\n%s%s", err, out, errs)
	}
	if !strings.Contains(out, "0 added, 0 updated, 1 unchanged, 0 skipped") {
		t.Errorf("second import summary = %q, want 1 unchanged", out)
	}
	// A new email with an empty key cell changes the email only.
	if out, errs, err := importCSV(t, db, "emma,U0EMMA001,new@example.edu,\n"); err != nil || !strings.Contains(out, "0 added, 1 updated, 0 unchanged") {
		t.Fatalf("third import: %v\n%s%s", err, out, errs)
	}
	sdb, err := store.Open(context.Background(), db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	s, err := store.NewStudentService(sdb).FindStudent(context.Background(), "emma")
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicKey != key || s.Email != "new@example.edu" {
		t.Errorf("after imports: key %q email %q, want key %q and email new@example.edu", s.PublicKey, s.Email, key)
	}
}

func TestRosterImport_badRowsSkipped(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	csv := "name,slack_id,email,key\n" +
		"emma,U0EMMA001,,\n" + // line 2
		"zo\"e,U0ZOE0001,,\n" + // line 3: bare quote, malformed CSV
		"noah,U0NOAH001,a,b,c\n" + // line 4: five cells
		"www,U0WWW0001,,\n" + // line 5: reserved
		"dylan,U0DYLAN01,,\n" // line 6: fine, after the bad rows
	out, errs, err := importCSV(t, db, csv)
	if err == nil || !strings.Contains(err.Error(), "3 rows skipped") {
		t.Errorf("import error = %v, want 3 rows skipped", err)
	}
	if !strings.Contains(out, "2 added, 0 updated, 0 unchanged, 3 skipped") {
		t.Errorf("summary = %q, want 2 added and 3 skipped", out)
	}
	for _, w := range []string{"class.csv:3: not a valid CSV row", "class.csv:4: 5 cells", "class.csv:5: \"www\" cannot be a student name"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
}
