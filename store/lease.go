package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// LeaseService keeps the scheduler's job leases. Taking one is a single
// conditional upsert, which PostgreSQL runs the same way: of two replicas
// asking at once, one writes the row and the other's condition fails, so
// there is no read-then-write race. Times come from the DB's clock.
type LeaseService struct {
	db *DB
}

var _ tasks.Leases = (*LeaseService)(nil)

// NewLeaseService returns a LeaseService backed by db.
func NewLeaseService(db *DB) *LeaseService {
	return &LeaseService{db: db}
}

// Acquire takes the lease name for holder until ttl from now if no one
// holds it, it has expired, or holder holds it already (the renewal moves
// until on). It reports whether holder holds the lease now, or returns an
// internal error.
func (s *LeaseService) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, fmt.Errorf("acquire lease %q: empty holder", name)
	}
	now := s.db.now()
	res, err := s.db.db.ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until < ?`,
		name, holder, formatTime(now.Add(ttl)), formatTime(now))
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return n == 1, nil
}

// Release gives up holder's lease name; a lease someone else holds, or
// none, is left alone. It returns an internal error if the store fails.
func (s *LeaseService) Release(ctx context.Context, name, holder string) error {
	if _, err := s.db.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}
