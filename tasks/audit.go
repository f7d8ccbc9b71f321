package tasks

import (
	"context"
	"time"
)

// AuditEntry records one command: who asked for what, and how it ended. Args
// never hold secrets: handlers redact them before recording.
type AuditEntry struct {
	ID       int64
	At       time.Time
	UserID   string // Slack user ID, or "console"
	Role     Role
	Verb     string
	Args     string // redacted
	Outcome  string // "ok" or an error code
	Duration time.Duration
}

// AuditLog stores the audit trail.
type AuditLog interface {
	RecordAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the newest entries first, at most limit of them.
	ListAudit(ctx context.Context, limit int) ([]*AuditEntry, error)
}
