package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// SaveResults stores each result as the latest of its (VM, check), in one
// transaction, or returns an internal error.
func (s *AlertService) SaveResults(ctx context.Context, rs []tasks.Result) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			nums := r.Numbers
			if nums == nil {
				nums = map[string]float64{}
			}
			bn, err := json.Marshal(nums)
			if err != nil {
				return err
			}
			at := r.At
			if at.IsZero() {
				at = s.db.now()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO check_results (vm, check_name, status, detail, fix, value, numbers, immediate, level, since, at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (vm, check_name) DO UPDATE SET status = excluded.status, detail = excluded.detail, fix = excluded.fix,
					value = excluded.value, numbers = excluded.numbers, immediate = excluded.immediate, level = excluded.level,
					since = excluded.since, at = excluded.at`,
				r.VM, r.Check, string(r.Status), r.Detail, r.Fix, r.Value, string(bn), r.Immediate, r.Level, formatTime(r.Since), formatTime(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save check results: %w", err)
	}
	return nil
}

// LatestResults returns the latest result of every check of vm ("" for all
// VMs), sorted by VM and check; empty if none, or an internal error.
func (s *AlertService) LatestResults(ctx context.Context, vm string) ([]tasks.Result, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT vm, check_name, status, detail, fix, value, numbers, immediate, level, since, at
		FROM check_results WHERE ? = '' OR vm = ? ORDER BY vm, check_name`, vm, vm)
	if err != nil {
		return nil, fmt.Errorf("read check results: %w", err)
	}
	defer rows.Close()
	var out []tasks.Result
	for rows.Next() {
		var (
			r      tasks.Result
			status string
		)
		if err := rows.Scan(&r.VM, &r.Check, &status, &r.Detail, &r.Fix, &r.Value, jsonColumn{&r.Numbers}, &r.Immediate, &r.Level,
			timeColumn{&r.Since}, timeColumn{&r.At}); err != nil {
			return nil, fmt.Errorf("read check results: %w", err)
		}
		r.Status = tasks.CheckStatus(status)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read check results: %w", err)
	}
	return out, nil
}
