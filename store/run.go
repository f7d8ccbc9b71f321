package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
	sqlite3 "modernc.org/sqlite/lib"
)

// RunService keeps runs in SQLite. Runs do not belong to a student: a run
// can destroy a droplet nobody on the roster owns, and a VM's history
// outlives its student.
type RunService struct {
	db *DB
}

var _ tasks.RunService = (*RunService)(nil)

// NewRunService returns a RunService backed by db.
func NewRunService(db *DB) *RunService {
	return &RunService{db: db}
}

const runColumns = `id, vm, kind, state, step, steps, step_ids, requested_by, channel, message_ts,
	data, error, created_at, updated_at, finished_at`

// isRunning selects running runs. It spells the state out rather than
// binding tasks.RunRunning so that SQLite can use the partial index
// runs_running, whose WHERE clause it must match.
const isRunning = `state = 'running'`

// CreateRun stores r as a new run, setting its ID, CreatedAt and UpdatedAt,
// and its State to running if empty. It returns
// ECONFLICT (tasks.BusyError) when r is running and its VM already has a
// running run, or an internal error.
func (s *RunService) CreateRun(ctx context.Context, r *tasks.Run) error {
	if r.VM == "" || r.Kind == "" {
		return fmt.Errorf("create run: vm %q and kind %q must not be empty", r.VM, r.Kind)
	}
	state := r.State
	if state == "" {
		state = tasks.RunRunning
	}
	steps, stepIDs, data, err := encodeRun(r)
	if err != nil {
		return fmt.Errorf("create %s run on %q: %w", r.Kind, r.VM, err)
	}
	now := s.db.now()
	var id int64
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		// Checked under the write lock, so no other run can start in between;
		// the unique index still backs it up.
		if state == tasks.RunRunning {
			busy, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE vm = ? AND `+isRunning, r.VM))
			switch {
			case err == nil:
				return tasks.BusyError(busy)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (vm, kind, state, step, steps, step_ids, requested_by, channel, message_ts,
				data, error, created_at, updated_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.VM, string(r.Kind), state, r.Step, steps, stepIDs, r.RequestedBy, r.Channel, r.MessageTS,
			data, r.Error, formatTime(now), formatTime(now), formatTime(r.FinishedAt))
		if err != nil {
			return busyOr(ctx, tx, r.VM, err)
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		if tasks.ErrorCode(err) != tasks.EINTERNAL {
			return err
		}
		return fmt.Errorf("create %s run on %q: %w", r.Kind, r.VM, err)
	}
	r.ID, r.State, r.CreatedAt, r.UpdatedAt = id, state, now, now
	return nil
}

// UpdateRun saves r's State, Step, Channel, MessageTS, Data, Error and
// FinishedAt and stamps UpdatedAt; VM, Kind, Steps and RequestedBy are fixed
// at creation. It returns ENOTFOUND if there is no run r.ID, ECONFLICT if r
// is set running while its VM has another running run, or an internal error.
func (s *RunService) UpdateRun(ctx context.Context, r *tasks.Run) error {
	_, _, data, err := encodeRun(r)
	if err != nil {
		return fmt.Errorf("update run %d: %w", r.ID, err)
	}
	now := s.db.now()
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = ?, step = ?,
				data = ?, error = ?, finished_at = ?, updated_at = ?
			WHERE id = ?`,
			r.State, r.Step, data, r.Error, formatTime(r.FinishedAt), formatTime(now), r.ID)
		if err != nil {
			return busyOr(ctx, tx, r.VM, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoRun(r.ID)
		}
		// In the same transaction: a run recorded done has queued its DM.
		return queueRunDM(ctx, tx, r, now)
	})
	if err != nil {
		if tasks.ErrorCode(err) != tasks.EINTERNAL {
			return err
		}
		return fmt.Errorf("update run %d: %w", r.ID, err)
	}
	r.UpdatedAt = now
	return nil
}

// FindRun returns the run with that ID; ENOTFOUND if there is none, or an
// internal error if the database cannot be read.
func (s *RunService) FindRun(ctx context.Context, id int64) (*tasks.Run, error) {
	r, err := scanRun(s.db.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoRun(id)
	case err != nil:
		return nil, fmt.Errorf("find run %d: %w", id, err)
	}
	return r, nil
}

// ActiveRun returns the running run of the VM called vm; ENOTFOUND if
// nothing runs on it, or an internal error if the database cannot be read.
func (s *RunService) ActiveRun(ctx context.Context, vm string) (*tasks.Run, error) {
	r, err := scanRun(s.db.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE vm = ? AND `+isRunning, vm))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, tasks.Errorf(tasks.ENOTFOUND, "Nothing is running on the VM of %q. `/cicf status %s` shows it.", vm, vm)
	case err != nil:
		return nil, fmt.Errorf("find active run of %q: %w", vm, err)
	}
	return r, nil
}

// ActiveRuns returns every running run, oldest first, or an internal error
// if the database cannot be read. A bot resumes these when it starts.
func (s *RunService) ActiveRuns(ctx context.Context) ([]*tasks.Run, error) {
	out, err := s.list(ctx, `SELECT `+runColumns+` FROM runs WHERE `+isRunning+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list active runs: %w", err)
	}
	return out, nil
}

// ListRuns returns at most limit runs, newest first, of the VM called vm or
// of all VMs if vm is ""; none for a limit below 1. It returns an internal
// error if the database cannot be read.
func (s *RunService) ListRuns(ctx context.Context, vm string, limit int) ([]*tasks.Run, error) {
	if limit < 1 {
		return nil, nil
	}
	var (
		out []*tasks.Run
		err error
	)
	if vm == "" {
		out, err = s.list(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT ?`, limit)
	} else {
		out, err = s.list(ctx, `SELECT `+runColumns+` FROM runs WHERE vm = ? ORDER BY id DESC LIMIT ?`, vm, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list runs of %q: %w", vm, err)
	}
	return out, nil
}

func (s *RunService) list(ctx context.Context, query string, args ...any) ([]*tasks.Run, error) {
	rows, err := s.db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*tasks.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// busyOr returns tasks.BusyError for the running run of vm if err is a
// violation of the index runs_running, else err.
func busyOr(ctx context.Context, tx *sql.Tx, vm string, err error) error {
	if sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return err
	}
	// A failed statement leaves the transaction usable.
	busy, qerr := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE vm = ? AND `+isRunning, vm))
	if qerr != nil {
		return err
	}
	return tasks.BusyError(busy)
}

func errNoRun(id int64) error {
	return tasks.Errorf(tasks.ENOTFOUND, "No run #%d. Try `/cicf status`.", id)
}

// encodeRun returns r's Steps and StepIDs as JSON arrays and its Data as a
// JSON object; nil encodes as empty, not null.
func encodeRun(r *tasks.Run) (steps, stepIDs, data string, err error) {
	var out [3][]byte
	for i, v := range []any{nonNil(r.Steps), nonNil(r.StepIDs), r.Data} {
		if out[i], err = json.Marshal(v); err != nil {
			return "", "", "", err
		}
	}
	return string(out[0]), string(out[1]), string(out[2]), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonColumn scans a JSON text column into v, a pointer.
type jsonColumn struct{ v any }

func (c jsonColumn) Scan(v any) error {
	switch v := v.(type) {
	case string:
		return json.Unmarshal([]byte(v), c.v)
	case []byte:
		return json.Unmarshal(v, c.v)
	default:
		return fmt.Errorf("json column holds %T, want text", v)
	}
}

// runDataColumn scans run data strictly (tasks.DecodeRunData): a stored
// value of the wrong type or an unknown field fails the read.
type runDataColumn struct{ d *tasks.RunData }

func (c runDataColumn) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("run data column holds %T, want text", v)
	}
	d, err := tasks.DecodeRunData(b)
	*c.d = d
	return err
}

func scanRun(sc scanner) (*tasks.Run, error) {
	var (
		r    tasks.Run
		kind string
	)
	if err := sc.Scan(&r.ID, &r.VM, &kind, &r.State, &r.Step, jsonColumn{&r.Steps}, jsonColumn{&r.StepIDs},
		&r.RequestedBy, &r.Channel, &r.MessageTS, runDataColumn{&r.Data}, &r.Error,
		timeColumn{&r.CreatedAt}, timeColumn{&r.UpdatedAt}, timeColumn{&r.FinishedAt}); err != nil {
		return nil, err
	}
	r.Kind = tasks.RunKind(kind)
	return &r, nil
}

// SetRunMessage records where the run's progress message is; UpdateRun
// leaves these two alone, so the runner's saves never undo them. It returns
// ENOTFOUND if there is no such run, or an internal error.
func (s *RunService) SetRunMessage(ctx context.Context, id int64, channel, ts string) error {
	res, err := s.db.db.ExecContext(ctx, `UPDATE runs SET channel = ?, message_ts = ? WHERE id = ?`, channel, ts, id)
	if err != nil {
		return fmt.Errorf("set message of run %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set message of run %d: %w", id, err)
	} else if n == 0 {
		return errNoRun(id)
	}
	return nil
}
