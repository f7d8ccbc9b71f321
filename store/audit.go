package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// AuditLog keeps the audit trail in SQLite. Entries outlive roster changes.
type AuditLog struct {
	db *DB
}

var _ tasks.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns an AuditLog backed by db.
func NewAuditLog(db *DB) *AuditLog {
	return &AuditLog{db: db}
}

// RecordAudit appends e and sets e.ID; a zero e.At becomes now. Duration is
// kept in whole milliseconds. It returns an internal error if the entry
// cannot be written.
func (l *AuditLog) RecordAudit(ctx context.Context, e *tasks.AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = l.db.now()
	}
	res, err := l.db.db.ExecContext(ctx, `INSERT INTO audit (at, user_id, role, verb, args, outcome, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		formatTime(at), e.UserID, e.Role.String(), e.Verb, e.Args, e.Outcome, e.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("record audit %q by %s: %w", e.Verb, e.UserID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("record audit %q by %s: %w", e.Verb, e.UserID, err)
	}
	e.ID, e.At = id, at
	return nil
}

// ListAudit returns at most limit entries, newest first; none for a limit
// below 1. It returns an internal error if the database cannot be read.
func (l *AuditLog) ListAudit(ctx context.Context, limit int) ([]*tasks.AuditEntry, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := l.db.db.QueryContext(ctx, `SELECT id, at, user_id, role, verb, args, outcome, duration_ms
		FROM audit ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []*tasks.AuditEntry
	for rows.Next() {
		var (
			e    tasks.AuditEntry
			role string
			ms   int64
		)
		if err := rows.Scan(&e.ID, timeColumn{&e.At}, &e.UserID, &role, &e.Verb, &e.Args, &e.Outcome, &ms); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.Role, e.Duration = tasks.ParseRole(role), time.Duration(ms)*time.Millisecond
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
