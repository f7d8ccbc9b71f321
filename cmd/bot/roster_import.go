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
// Slack ID update email and key; an empty cell keeps the stored value, so a
// sheet without keys cannot erase the keys students sent. Every bad row,
// malformed CSV included, is reported with its line number and skipped;
// the rest is imported and a summary printed. The error counts the skipped.
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
	var n importCounts
	skip := func(line int, msg string) {
		n.skipped++
		fmt.Fprintf(m.Stderr, "%s:%d: %s\n", path, line, msg)
	}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			// The reader has consumed the bad row and goes on with the next.
			skip(perr.StartLine, fmt.Sprintf("not a valid CSV row (%v); quote a cell that holds a comma or a quote.", perr.Err))
			continue
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
		if len(rec) > 4 {
			skip(line, fmt.Sprintf("%d cells; the columns are name, Slack user ID, email, SSH key (quote a cell that holds a comma).", len(rec)))
			continue
		}
		for len(rec) < 4 {
			rec = append(rec, "")
		}
		s := &tasks.Student{
			Name: strings.ToLower(strings.TrimSpace(rec[0])), SlackID: strings.TrimSpace(rec[1]),
			Email: strings.TrimSpace(rec[2]), PublicKey: strings.TrimSpace(rec[3]),
		}
		if err := m.importRow(ctx, students, s, &n); err != nil {
			if tasks.ErrorCode(err) == tasks.EINTERNAL {
				return err
			}
			skip(line, tasks.ErrorMessage(err))
		}
	}
	fmt.Fprintf(m.Stdout, "Roster import from %s: %d added, %d updated, %d unchanged, %d skipped.\n", path, n.added, n.updated, n.unchanged, n.skipped)
	if n.skipped > 0 {
		return fmt.Errorf("%d rows skipped; fix them and import again (the other rows are saved)", n.skipped)
	}
	return nil
}

type importCounts struct{ added, updated, unchanged, skipped int }

// importRow adds s or updates the student of that name and Slack ID,
// keeping stored values where s has empty cells.
func (m *Main) importRow(ctx context.Context, students tasks.StudentService, s *tasks.Student, n *importCounts) error {
	if err := s.Validate(); err != nil {
		return err
	}
	old, err := students.FindStudent(ctx, s.Name)
	switch {
	case err == nil && old.SlackID == s.SlackID:
		if s.Email == "" {
			s.Email = old.Email
		}
		if s.PublicKey == "" {
			s.PublicKey = old.PublicKey
		}
		if s.Email == old.Email && s.PublicKey == old.PublicKey {
			n.unchanged++
			return nil
		}
		if err := students.UpdateStudent(ctx, s); err != nil {
			return err
		}
		n.updated++
		return nil
	case err == nil:
		return tasks.Errorf(tasks.ECONFLICT, "%s is already on the roster with Slack user %s.", s.Name, old.SlackID)
	case tasks.ErrorCode(err) == tasks.ENOTFOUND:
		if err := students.CreateStudent(ctx, s); err != nil {
			return err
		}
		n.added++
		return nil
	}
	return err
}
