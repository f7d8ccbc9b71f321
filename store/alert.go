package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// AlertService keeps check results, alert states, mutes and the outbox of
// alert messages in SQLite. Every change of state is a conditional update on
// a version column written with its events in one transaction, so a second
// replica on the same database (or on PostgreSQL) can sweep at the same time
// without a message sent twice or a resolve lost.
//
// The statements are PostgreSQL's too (ON CONFLICT, RETURNING, conditional
// UPDATE and DELETE), save the spelling: $n placeholders, and boolean
// columns compared with true rather than 1.
type AlertService struct {
	db *DB
}

var (
	_ tasks.AlertStore   = (*AlertService)(nil)
	_ tasks.AlertService = (*AlertService)(nil)
)

// NewAlertService returns an AlertService backed by db.
func NewAlertService(db *DB) *AlertService {
	return &AlertService{db: db}
}

// alertColumns are read with the thread ts of the announced incident.
const alertColumns = `s.vm, s.check_name, s.firing, s.flapping, s.announced, s.fails, s.oks, s.checks, s.level,
	s.detail, s.fix, s.since, s.fired_at, s.resolved, s.reminded, s.changes, s.incident, s.version, s.updated_at,
	COALESCE(t.thread_ts, '')`

const alertFrom = ` FROM alert_states s LEFT JOIN alert_threads t
	ON t.vm = s.vm AND t.check_name = s.check_name AND t.incident = s.announced`

// AlertStates returns every stored alert state sorted by VM and check, or
// an internal error.
func (s *AlertService) AlertStates(ctx context.Context) ([]tasks.AlertState, error) {
	return s.queryStates(ctx, `SELECT `+alertColumns+alertFrom+` ORDER BY s.vm, s.check_name`)
}

// OpenAlerts returns the states that fire or flap, sorted by VM and check,
// or an internal error.
func (s *AlertService) OpenAlerts(ctx context.Context) ([]tasks.AlertState, error) {
	return s.queryStates(ctx, `SELECT `+alertColumns+alertFrom+` WHERE s.firing = 1 OR s.flapping = 1 ORDER BY s.vm, s.check_name`)
}

func (s *AlertService) queryStates(ctx context.Context, q string, args ...any) ([]tasks.AlertState, error) {
	rows, err := s.db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read alert states: %w", err)
	}
	defer rows.Close()
	var out []tasks.AlertState
	for rows.Next() {
		var st tasks.AlertState
		if err := rows.Scan(&st.VM, &st.Check, &st.Firing, &st.Flapping, &st.Announced, &st.Fails, &st.Oks, &st.Checks, &st.Level,
			&st.Detail, &st.Fix, timeColumn{&st.Since}, timeColumn{&st.FiredAt}, timeColumn{&st.Resolved}, timeColumn{&st.Reminded},
			jsonColumn{&st.Changes}, &st.Incident, &st.Version, timeColumn{&st.UpdatedAt}, &st.ThreadTS); err != nil {
			return nil, fmt.Errorf("read alert states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read alert states: %w", err)
	}
	return out, nil
}

// SaveAlert writes st if the stored version of (st.VM, st.Check) is still
// st.Version (0: none stored), bumping it, and appends events to the outbox,
// in one transaction. It returns ECONFLICT, writing nothing, when another
// writer came first, or an internal error.
func (s *AlertService) SaveAlert(ctx context.Context, st tasks.AlertState, events []tasks.AlertEvent) error {
	changes := st.Changes
	if changes == nil {
		changes = []time.Time{}
	}
	bc, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("save alert %s/%s: %w", st.VM, st.Check, err)
	}
	updated := st.UpdatedAt
	if updated.IsZero() {
		updated = s.db.now()
	}
	args := []any{st.Firing, st.Flapping, st.Announced, st.Fails, st.Oks, st.Checks, st.Level, st.Detail, st.Fix,
		formatTime(st.Since), formatTime(st.FiredAt), formatTime(st.Resolved), formatTime(st.Reminded),
		string(bc), st.Incident, formatTime(updated)}
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if st.Version == 0 {
			// The first writer inserts; a second finds the row and inserts
			// nothing, which is its conflict.
			res, err = tx.ExecContext(ctx, `INSERT INTO alert_states (vm, check_name, firing, flapping, announced, fails, oks, checks, level,
				detail, fix, since, fired_at, resolved, reminded, changes, incident, updated_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
				ON CONFLICT (vm, check_name) DO NOTHING`, append([]any{st.VM, st.Check}, args...)...)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE alert_states SET firing = ?, flapping = ?, announced = ?, fails = ?, oks = ?, checks = ?,
				level = ?, detail = ?, fix = ?, since = ?, fired_at = ?, resolved = ?, reminded = ?, changes = ?, incident = ?,
				updated_at = ?, version = version + 1
				WHERE vm = ? AND check_name = ? AND version = ?`, append(args, st.VM, st.Check, st.Version)...)
		}
		if err != nil {
			return err
		}
		if err := changedOne(res, st); err != nil {
			return err
		}
		return queueEvents(ctx, tx, events)
	})
	if err != nil {
		if tasks.ErrorCode(err) == tasks.ECONFLICT {
			return err
		}
		return fmt.Errorf("save alert %s/%s: %w", st.VM, st.Check, err)
	}
	return nil
}

// DeleteAlert deletes the state of (st.VM, st.Check) and the VM's latest
// result of that check if the stored version is still st.Version, and
// appends events, in one transaction. It returns ECONFLICT, writing
// nothing, when another writer came first, or an internal error.
func (s *AlertService) DeleteAlert(ctx context.Context, st tasks.AlertState, events []tasks.AlertEvent) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_states WHERE vm = ? AND check_name = ? AND version = ?`, st.VM, st.Check, st.Version)
		if err != nil {
			return err
		}
		if err := changedOne(res, st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_results WHERE vm = ? AND check_name = ?`, st.VM, st.Check); err != nil {
			return err
		}
		return queueEvents(ctx, tx, events)
	})
	if err != nil && tasks.ErrorCode(err) == tasks.EINTERNAL {
		return fmt.Errorf("delete alert %s/%s: %w", st.VM, st.Check, err)
	}
	return err
}

// changedOne returns ECONFLICT when res changed no row: the version st was
// read at is no longer the stored one.
func changedOne(res sql.Result, st tasks.AlertState) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return tasks.Errorf(tasks.ECONFLICT, "The alert state of %s/%s changed meanwhile.", st.VM, st.Check)
	}
	return nil
}

// queueEvents appends events to the outbox in tx.
func queueEvents(ctx context.Context, tx *sql.Tx, events []tasks.AlertEvent) error {
	for _, ev := range events {
		if _, err := insertEvent(ctx, tx, "", ev); err != nil {
			return err
		}
	}
	return nil
}
