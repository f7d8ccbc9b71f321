package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// StudentService keeps the roster in SQLite.
type StudentService struct {
	db *DB
}

var _ tasks.StudentService = (*StudentService)(nil)

// NewStudentService returns a StudentService backed by db.
func NewStudentService(db *DB) *StudentService {
	return &StudentService{db: db}
}

const studentColumns = `name, slack_id, email, public_key, created_at, updated_at`

// FindStudent returns the student called name; ENOTFOUND if there is none,
// or an internal error if the database cannot be read.
func (s *StudentService) FindStudent(ctx context.Context, name string) (*tasks.Student, error) {
	st, err := scanStudent(s.db.db.QueryRowContext(ctx, `SELECT `+studentColumns+` FROM students WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoStudent(name)
	case err != nil:
		return nil, fmt.Errorf("find student %q: %w", name, err)
	}
	return st, nil
}

// FindStudentBySlackID returns the student linked to a Slack user ID;
// ENOTFOUND if there is none, or an internal error if the database cannot be
// read.
func (s *StudentService) FindStudentBySlackID(ctx context.Context, slackID string) (*tasks.Student, error) {
	st, err := scanStudent(s.db.db.QueryRowContext(ctx, `SELECT `+studentColumns+` FROM students WHERE slack_id = ?`, slackID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, tasks.Errorf(tasks.ENOTFOUND, "<@%s> is not on the roster. Try `/cicf roster list`.", slackID)
	case err != nil:
		return nil, fmt.Errorf("find student by slack id %q: %w", slackID, err)
	}
	return st, nil
}

// ListStudents returns the roster sorted by name, or an internal error if the
// database cannot be read.
func (s *StudentService) ListStudents(ctx context.Context) ([]*tasks.Student, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+studentColumns+` FROM students ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list students: %w", err)
	}
	defer rows.Close()
	var out []*tasks.Student
	for rows.Next() {
		st, err := scanStudent(rows)
		if err != nil {
			return nil, fmt.Errorf("list students: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list students: %w", err)
	}
	return out, nil
}

// CreateStudent validates st (normalizing its key), stamps CreatedAt and
// UpdatedAt and adds it to the roster. It returns EINVALID for a bad field,
// ECONFLICT when the name or the Slack user is taken, or an internal error.
func (s *StudentService) CreateStudent(ctx context.Context, st *tasks.Student) error {
	if err := st.Validate(); err != nil {
		return err
	}
	now := s.db.now()
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		// Checked under the write lock, so no insert can slip in between.
		var name, slackID string
		err := tx.QueryRowContext(ctx, `SELECT name, slack_id FROM students
			WHERE name = ? OR slack_id = ? ORDER BY name = ? DESC LIMIT 1`,
			st.Name, st.SlackID, st.Name).Scan(&name, &slackID)
		switch {
		case err == nil && name == st.Name:
			return tasks.Errorf(tasks.ECONFLICT, "There is already a student named %q. Try `/cicf roster list`.", name)
		case err == nil:
			return tasks.Errorf(tasks.ECONFLICT, "<@%s> is already on the roster as %q. Try `/cicf roster list`.", slackID, name)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO students (`+studentColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			st.Name, st.SlackID, st.Email, st.PublicKey, formatTime(now), formatTime(now))
		return err
	})
	if err != nil {
		if tasks.ErrorCode(err) != tasks.EINTERNAL {
			return err
		}
		return fmt.Errorf("create student %q: %w", st.Name, err)
	}
	st.CreatedAt, st.UpdatedAt = now, now
	return nil
}

// UpdateStudent replaces the email and public key of the student called
// st.Name and stamps UpdatedAt; the Slack ID cannot change. On success st
// holds the stored entry. It returns ENOTFOUND if there is no such student,
// EINVALID for a bad email or key, or an internal error.
func (s *StudentService) UpdateStudent(ctx context.Context, st *tasks.Student) error {
	now := s.db.now()
	var v *tasks.Student
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanStudent(tx.QueryRowContext(ctx, `SELECT `+studentColumns+` FROM students WHERE name = ?`, st.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errNoStudent(st.Name)
		case err != nil:
			return err
		}
		v = &tasks.Student{Name: old.Name, SlackID: old.SlackID, Email: st.Email, PublicKey: st.PublicKey,
			CreatedAt: old.CreatedAt, UpdatedAt: now}
		if err := v.Validate(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE students SET email = ?, public_key = ?, updated_at = ? WHERE name = ?`,
			v.Email, v.PublicKey, formatTime(now), v.Name)
		return err
	})
	if err != nil {
		if tasks.ErrorCode(err) != tasks.EINTERNAL {
			return err
		}
		return fmt.Errorf("update student %q: %w", st.Name, err)
	}
	*st = *v
	return nil
}

// DeleteStudent removes the student called name and what the bot knows of
// their VM. It returns ENOTFOUND if there is no such student, ECONFLICT while
// a run on their VM is active, or an internal error.
func (s *StudentService) DeleteStudent(ctx context.Context, name string) error {
	// One statement, so that a run starting between a caller's check and
	// this delete still keeps the student (and a second replica agrees).
	res, err := s.db.db.ExecContext(ctx, `DELETE FROM students WHERE name = ?
		AND NOT EXISTS (SELECT 1 FROM runs WHERE vm = ? AND `+isRunning+`)`, name, name)
	if err != nil {
		return fmt.Errorf("delete student %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete student %q: %w", name, err)
	}
	if n == 0 {
		if _, ferr := s.FindStudent(ctx, name); ferr != nil {
			return ferr
		}
		return tasks.Errorf(tasks.ECONFLICT, "A run on `%s` is still going: wait for it to finish (`/cicf runs %s` shows it), then remove it.", name, name)
	}
	return nil
}

func errNoStudent(name string) error {
	return tasks.Errorf(tasks.ENOTFOUND, "No student named %q. Try `/cicf roster list`.", name)
}

func scanStudent(sc scanner) (*tasks.Student, error) {
	var st tasks.Student
	if err := sc.Scan(&st.Name, &st.SlackID, &st.Email, &st.PublicKey,
		timeColumn{&st.CreatedAt}, timeColumn{&st.UpdatedAt}); err != nil {
		return nil, err
	}
	return &st, nil
}
