package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// importRoster loads a class from a CSV file with the columns name, Slack
// user ID, email and SSH public key (a header row is optional; email and
// key may be empty). Rows for students already on the roster with the same
// Slack ID update email and key. Every bad row is reported with its line
// number and nothing else is stopped by it; the error counts them.
func (m *Main) importRoster(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open roster: %w", err)
	}
	defer f.Close()
	db, err := store.Open(ctx, m.Config.DB, m.Now)
	if err != nil {
		return fmt.Errorf("open store %s: %w", m.Config.DB, err)
	}
	defer db.Close()
	students := store.NewStudentService(db)

	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var added, updated, bad int
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") {
			continue // header
		}
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			continue
		}
		for len(rec) < 4 {
			rec = append(rec, "")
		}
		s := &tasks.Student{
			Name: strings.ToLower(strings.TrimSpace(rec[0])), SlackID: strings.TrimSpace(rec[1]),
			Email: strings.TrimSpace(rec[2]), PublicKey: strings.TrimSpace(rec[3]),
		}
		if err := s.Validate(); err != nil {
			bad++
			fmt.Fprintf(m.Stderr, "%s:%d: %s\n", path, line, tasks.ErrorMessage(err))
			continue
		}
		old, err := students.FindStudent(ctx, s.Name)
		switch {
		case err == nil && old.SlackID == s.SlackID:
			err = students.UpdateStudent(ctx, s)
			if err == nil {
				updated++
			}
		case err == nil:
			err = tasks.Errorf(tasks.ECONFLICT, "%s is already on the roster with Slack user %s.", s.Name, old.SlackID)
		case tasks.ErrorCode(err) == tasks.ENOTFOUND:
			err = students.CreateStudent(ctx, s)
			if err == nil {
				added++
			}
		}
		if err != nil {
			if tasks.ErrorCode(err) == tasks.EINTERNAL {
				return err
			}
			bad++
			fmt.Fprintf(m.Stderr, "%s:%d: %s\n", path, line, tasks.ErrorMessage(err))
		}
	}
	fmt.Fprintf(m.Stdout, "Roster import from %s: %d added, %d updated, %d rejected.\n", path, added, updated, bad)
	if bad > 0 {
		return fmt.Errorf("%d rows rejected; fix them and import again (accepted rows are saved)", bad)
	}
	return nil
}
