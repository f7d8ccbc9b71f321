package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// StudentDMQueue keeps the DMs owed to students in SQLite. Every change is
// one conditional statement (claim only what nobody holds, hand back only
// what this owner holds, finish only what is unfinished), which PostgreSQL
// runs the same way: of two replicas claiming at once, one gets each row.
type StudentDMQueue struct {
	db *DB
}

var _ tasks.StudentDMQueue = (*StudentDMQueue)(nil)

// NewStudentDMQueue returns a StudentDMQueue backed by db.
func NewStudentDMQueue(db *DB) *StudentDMQueue {
	return &StudentDMQueue{db: db}
}

const dmColumns = `id, run_id, kind, vm, to_user, tries, not_before, created_at, done_at, outcome, detail`

// queueRunDM queues, in tx, the DM that r owes now that it is recorded
// (tasks.DMFor), due from when the run finished. UpdateRun calls it in the
// transaction that records the run done, so the two happen together.
func queueRunDM(ctx context.Context, tx *sql.Tx, r *tasks.Run, now time.Time) error {
	dm, ok := tasks.DMFor(r)
	if !ok {
		return nil
	}
	dm.NotBefore, dm.CreatedAt = r.FinishedAt, now
	_, err := insertDM(ctx, tx, dm)
	return err
}

// insertDM adds dm unless its run has one; a zero NotBefore is CreatedAt.
func insertDM(ctx context.Context, tx *sql.Tx, dm tasks.StudentDM) (bool, error) {
	if dm.To == "" || dm.RunID == 0 {
		return false, fmt.Errorf("queue %s DM: run %d and recipient %q must not be empty", dm.Kind, dm.RunID, dm.To)
	}
	if dm.NotBefore.IsZero() {
		dm.NotBefore = dm.CreatedAt
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO student_dms (run_id, kind, vm, to_user, not_before, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
		dm.RunID, string(dm.Kind), dm.VM, dm.To, formatTime(dm.NotBefore), formatTime(dm.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("queue %s DM of run %d: %w", dm.Kind, dm.RunID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// QueueDM adds dm, stamped now, unless its run already has a DM, and
// reports whether it did: a DM queued other than by saving its run done. It returns an internal error for a DM without
// run or recipient, or if the write fails.
func (s *StudentDMQueue) QueueDM(ctx context.Context, dm tasks.StudentDM) (bool, error) {
	dm.CreatedAt = s.db.now()
	var queued bool
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		queued, err = insertDM(ctx, tx, dm)
		return err
	})
	return queued, err
}

// ClaimDMs claims for owner until until up to limit DMs that are due at now
// and unclaimed (or whose claim lapsed), counting a try on each, and returns
// them oldest first. It returns an internal error if the write fails.
func (s *StudentDMQueue) ClaimDMs(ctx context.Context, owner string, now, until time.Time, limit int) ([]tasks.StudentDM, error) {
	if owner == "" || !until.After(now) {
		return nil, fmt.Errorf("claim DMs: owner %q must not be empty and the claim must end after %v", owner, now)
	}
	at := formatTime(now)
	// The claim's conditions are repeated outside the subquery: PostgreSQL
	// rechecks them on a row another claimer just changed, and skips it.
	const owed = `done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)`
	var out []tasks.StudentDM
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE student_dms SET claimed_by = ?, claimed_until = ?, tries = tries + 1
			WHERE id IN (SELECT id FROM student_dms WHERE `+owed+` AND not_before <= ? ORDER BY not_before, id LIMIT ?)
				AND `+owed+` RETURNING `+dmColumns,
			owner, formatTime(until), at, at, limit, at)
		if err != nil {
			return err
		}
		out, err = scanDMs(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim DMs: %w", err)
	}
	// RETURNING promises no order.
	slices.SortFunc(out, func(a, b tasks.StudentDM) int {
		if c := a.NotBefore.Compare(b.NotBefore); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// DoneDM records that DM id ended with outcome at now, whoever holds it: a
// DM that was sent is done even if its claim lapsed meanwhile. The first
// outcome stays. It returns ENOTFOUND if there is no such DM, or an
// internal error.
func (s *StudentDMQueue) DoneDM(ctx context.Context, id int64, outcome tasks.DMOutcome, detail string, now time.Time) error {
	if outcome == "" {
		return fmt.Errorf("finish DM %d: empty outcome", id)
	}
	res, err := s.db.db.ExecContext(ctx, `UPDATE student_dms SET done_at = ?, outcome = ?, detail = ?, claimed_by = '', claimed_until = NULL
		WHERE id = ? AND done_at IS NULL`, formatTime(now), string(outcome), detail, id)
	if err != nil {
		return fmt.Errorf("finish DM %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("finish DM %d: %w", id, err)
	} else if n == 1 {
		return nil
	}
	if _, err := s.find(ctx, "id", id); err != nil {
		return err
	}
	return nil // finished before: the first outcome stays
}

// RetryDM hands DM id back, due at at, if owner still holds it (a done DM
// has no holder: DoneDM clears it); refund takes back the try its claim counted. It reports whether
// it changed the DM, or returns an internal error.
func (s *StudentDMQueue) RetryDM(ctx context.Context, id int64, owner string, at time.Time, refund bool) (bool, error) {
	back := 0
	if refund {
		back = 1 // the holder's claim counted one, so tries stays >= 0
	}
	res, err := s.db.db.ExecContext(ctx, `UPDATE student_dms SET not_before = ?, claimed_by = '', claimed_until = NULL, tries = tries - ?
		WHERE id = ? AND claimed_by = ?`, formatTime(at), back, id, owner)
	if err != nil {
		return false, fmt.Errorf("retry DM %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("retry DM %d: %w", id, err)
	}
	return n == 1, nil
}

// DMOfRun returns the DM that run id owes or owed; ENOTFOUND if it has
// none, or an internal error.
func (s *StudentDMQueue) DMOfRun(ctx context.Context, runID int64) (tasks.StudentDM, error) {
	return s.find(ctx, "run_id", runID)
}

// find returns the DM whose column (id or run_id, a constant) is v.
func (s *StudentDMQueue) find(ctx context.Context, column string, v int64) (tasks.StudentDM, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+dmColumns+` FROM student_dms WHERE `+column+` = ?`, v)
	if err != nil {
		return tasks.StudentDM{}, fmt.Errorf("find DM: %w", err)
	}
	dms, err := scanDMs(rows)
	switch {
	case err != nil:
		return tasks.StudentDM{}, fmt.Errorf("find DM: %w", err)
	case len(dms) == 0:
		return tasks.StudentDM{}, tasks.Errorf(tasks.ENOTFOUND, "No student DM with %s %d.", column, v)
	}
	return dms[0], nil
}

// scanDMs reads and closes rows of dmColumns.
func scanDMs(rows *sql.Rows) ([]tasks.StudentDM, error) {
	defer rows.Close()
	var out []tasks.StudentDM
	for rows.Next() {
		var (
			dm            tasks.StudentDM
			kind, outcome string
		)
		if err := rows.Scan(&dm.ID, &dm.RunID, &kind, &dm.VM, &dm.To, &dm.Tries, timeColumn{&dm.NotBefore},
			timeColumn{&dm.CreatedAt}, timeColumn{&dm.DoneAt}, &outcome, &dm.Detail); err != nil {
			return nil, err
		}
		dm.Kind, dm.Outcome = tasks.DMKind(kind), tasks.DMOutcome(outcome)
		out = append(out, dm)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}
