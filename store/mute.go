package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

const muteColumns = `vm, until_at, muted_by, reason, created_at`

// ActiveMutes returns the mutes in force at now, sorted by VM, or an
// internal error.
func (s *AlertService) ActiveMutes(ctx context.Context, now time.Time) ([]tasks.Mute, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+muteColumns+` FROM alert_mutes WHERE until_at > ? ORDER BY vm`, formatTime(now))
	if err != nil {
		return nil, fmt.Errorf("read mutes: %w", err)
	}
	defer rows.Close()
	return scanMutes(rows)
}

func scanMutes(rows *sql.Rows) ([]tasks.Mute, error) {
	var out []tasks.Mute
	for rows.Next() {
		var m tasks.Mute
		if err := rows.Scan(&m.VM, timeColumn{&m.Until}, &m.By, &m.Reason, timeColumn{&m.CreatedAt}); err != nil {
			return nil, fmt.Errorf("read mutes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read mutes: %w", err)
	}
	return out, nil
}

// Mute stores m, replacing a mute of the same VM, and queues a muted event,
// in one transaction. It returns EINVALID (tasks.CheckMute) for a mute that
// has ended or lasts over tasks.MaxMute, or an internal error.
func (s *AlertService) Mute(ctx context.Context, m tasks.Mute, now time.Time) error {
	if err := tasks.CheckMute(m, now); err != nil {
		return err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_mutes (`+muteColumns+`) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (vm) DO UPDATE SET until_at = excluded.until_at, muted_by = excluded.muted_by,
				reason = excluded.reason, created_at = excluded.created_at`,
			m.VM, formatTime(m.Until), m.By, m.Reason, formatTime(m.CreatedAt)); err != nil {
			return err
		}
		_, err := insertEvent(ctx, tx, "", tasks.AlertEvent{Kind: tasks.EventMuted, VM: m.VM, Detail: m.Reason, Until: m.Until, By: m.By, At: now})
		return err
	})
	if err != nil {
		return fmt.Errorf("mute %s: %w", m.VM, err)
	}
	return nil
}

// Unmute lifts the mute of vm (or tasks.MuteAll) and queues an unmuted event
// naming by, in one transaction. It returns ENOTFOUND if vm has no mute in
// force, or an internal error.
func (s *AlertService) Unmute(ctx context.Context, vm, by string, now time.Time) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_mutes WHERE vm = ? AND until_at > ?`, vm, formatTime(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return tasks.Errorf(tasks.ENOTFOUND, "%s is not muted. See the mutes with: alerts", vm)
		}
		_, err = insertEvent(ctx, tx, "", tasks.AlertEvent{Kind: tasks.EventUnmuted, VM: vm, By: by, At: now})
		return err
	})
	if err != nil && tasks.ErrorCode(err) == tasks.EINTERNAL {
		return fmt.Errorf("unmute %s: %w", vm, err)
	}
	return err
}

// ExpireMutes deletes the mutes that ended at or before now and queues an
// unmuted event (By "") for each, in one transaction, returning them. Of two
// replicas expiring at once, one deletes and announces each mute. It
// returns an internal error if the write fails.
func (s *AlertService) ExpireMutes(ctx context.Context, now time.Time) ([]tasks.Mute, error) {
	var out []tasks.Mute
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM alert_mutes WHERE until_at <= ? RETURNING `+muteColumns, formatTime(now))
		if err != nil {
			return err
		}
		out, err = scanMutes(rows)
		rows.Close()
		if err != nil {
			return err
		}
		for _, m := range out {
			if _, err := insertEvent(ctx, tx, "", tasks.AlertEvent{Kind: tasks.EventUnmuted, VM: m.VM, Until: m.Until, At: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire mutes: %w", err)
	}
	return out, nil
}
