package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// insertEvent appends ev to the outbox. A non-empty key makes it conditional:
// an event with that key queued before means no insert and false.
func insertEvent(ctx context.Context, tx *sql.Tx, key string, ev tasks.AlertEvent) (bool, error) {
	var onceKey any
	if key != "" {
		onceKey = key
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_events (kind, vm, check_name, incident, detail, fix, since, until_at,
		duration_ns, checks, by_user, at, data, once_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (once_key) DO NOTHING`,
		string(ev.Kind), ev.VM, ev.Check, ev.Incident, ev.Detail, ev.Fix, formatTime(ev.Since), formatTime(ev.Until),
		int64(ev.Duration), ev.Checks, ev.By, formatTime(ev.At), ev.Data, onceKey)
	if err != nil {
		return false, fmt.Errorf("queue %s event: %w", ev.Kind, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// QueueOnce appends ev to the outbox unless an event with key was queued
// before, by this or another replica, and reports whether it queued. It
// returns an internal error for an empty key or a failed write.
func (s *AlertService) QueueOnce(ctx context.Context, key string, ev tasks.AlertEvent) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("queue %s event once: empty key", ev.Kind)
	}
	var queued bool
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		queued, err = insertEvent(ctx, tx, key, ev)
		return err
	})
	return queued, err
}

const eventColumns = `e.id, e.kind, e.vm, e.check_name, e.incident, e.detail, e.fix, e.since, e.until_at, e.duration_ns,
	e.checks, e.by_user, e.at, e.data, e.sent_at, COALESCE(t.thread_ts, '')`

const eventFrom = ` FROM alert_events e LEFT JOIN alert_threads t
	ON t.vm = e.vm AND t.check_name = e.check_name AND t.incident = e.incident AND e.incident > 0`

// PendingEvents returns up to limit unsent events, oldest first, each with
// the thread ts of its incident if that has been posted. An event waits
// while an earlier event of its incident is unsent, so a reminder or a
// resolve never comes before the firing message whose thread it belongs in.
// It returns an internal error if the read fails.
func (s *AlertService) PendingEvents(ctx context.Context, limit int) ([]tasks.AlertEvent, error) {
	return s.queryEvents(ctx, `SELECT `+eventColumns+eventFrom+` WHERE e.sent_at IS NULL AND NOT EXISTS (
			SELECT 1 FROM alert_events p WHERE p.sent_at IS NULL AND p.id < e.id AND e.incident > 0
				AND p.vm = e.vm AND p.check_name = e.check_name AND p.incident = e.incident)
		ORDER BY e.id LIMIT ?`, limit)
}

// EventsSince returns the events of kinds (all kinds if none) queued at or
// after t, oldest first, or an internal error.
func (s *AlertService) EventsSince(ctx context.Context, t time.Time, kinds ...tasks.EventKind) ([]tasks.AlertEvent, error) {
	q := `SELECT ` + eventColumns + eventFrom + ` WHERE e.at >= ?`
	// The zero time is every event: formatTime would make it NULL.
	args := []any{t.UTC().Format(timeFormat)}
	if len(kinds) > 0 {
		q += ` AND e.kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	return s.queryEvents(ctx, q+` ORDER BY e.at, e.id`, args...)
}

func (s *AlertService) queryEvents(ctx context.Context, q string, args ...any) ([]tasks.AlertEvent, error) {
	rows, err := s.db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read alert events: %w", err)
	}
	defer rows.Close()
	var out []tasks.AlertEvent
	for rows.Next() {
		var (
			ev   tasks.AlertEvent
			kind string
			dur  int64
		)
		if err := rows.Scan(&ev.ID, &kind, &ev.VM, &ev.Check, &ev.Incident, &ev.Detail, &ev.Fix, timeColumn{&ev.Since},
			timeColumn{&ev.Until}, &dur, &ev.Checks, &ev.By, timeColumn{&ev.At}, &ev.Data, timeColumn{&ev.SentAt}, &ev.ThreadTS); err != nil {
			return nil, fmt.Errorf("read alert events: %w", err)
		}
		ev.Kind, ev.Duration = tasks.EventKind(kind), time.Duration(dur)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read alert events: %w", err)
	}
	return out, nil
}

// MarkSent records that event id was posted at now; for a firing or
// flapping event threadTS, its message's ts, becomes the thread of its
// incident (the first one recorded wins). Marking twice keeps the first
// time. It returns ENOTFOUND if there is no such event, or an internal
// error.
func (s *AlertService) MarkSent(ctx context.Context, id int64, threadTS string, now time.Time) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var (
			kind, vm, check string
			incident        int64
		)
		err := tx.QueryRowContext(ctx, `UPDATE alert_events SET sent_at = COALESCE(sent_at, ?) WHERE id = ?
			RETURNING kind, vm, check_name, incident`, formatTime(now), id).Scan(&kind, &vm, &check, &incident)
		if errors.Is(err, sql.ErrNoRows) {
			return tasks.Errorf(tasks.ENOTFOUND, "No alert event %d.", id)
		}
		if err != nil {
			return err
		}
		k := tasks.EventKind(kind)
		if threadTS == "" || incident == 0 || (k != tasks.EventFiring && k != tasks.EventFlapping) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO alert_threads (vm, check_name, incident, thread_ts) VALUES (?, ?, ?, ?)
			ON CONFLICT (vm, check_name, incident) DO NOTHING`, vm, check, incident, threadTS)
		return err
	})
	if err != nil && tasks.ErrorCode(err) == tasks.EINTERNAL {
		return fmt.Errorf("mark alert event %d sent: %w", id, err)
	}
	return err
}
