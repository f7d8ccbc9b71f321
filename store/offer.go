package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// OfferStore keeps pending confirmations in SQLite. Taking one is a single
// DELETE ... RETURNING, which PostgreSQL runs the same way: of two
// concurrent takes, one deletes the row and the other finds none.
type OfferStore struct {
	db *DB
}

var _ tasks.OfferStore = (*OfferStore)(nil)

// NewOfferStore returns an OfferStore backed by db.
func NewOfferStore(db *DB) *OfferStore {
	return &OfferStore{db: db}
}

// CreateOffer stores o and deletes offers that expired before o.CreatedAt.
// It returns an internal error for an offer without ID, kind or requester.
func (s *OfferStore) CreateOffer(ctx context.Context, o *tasks.Offer) error {
	if o.ID == "" || o.Kind == "" || o.Requester == "" {
		return fmt.Errorf("create offer: id %q, kind %q and requester %q must not be empty", o.ID, o.Kind, o.Requester)
	}
	targets := o.Targets
	if targets == nil {
		targets = []tasks.OfferTarget{}
	}
	bt, err := json.Marshal(targets)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM offers WHERE expires_at < ?`, formatTime(o.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO offers (id, kind, targets, requester, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			o.ID, string(o.Kind), string(bt), o.Requester, formatTime(o.CreatedAt), formatTime(o.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create %s offer: %w", o.Kind, err)
	}
	return nil
}

const offerColumns = `id, kind, targets, requester, created_at, expires_at`

// TakeOffer deletes and returns offer id if requester made it. It returns
// ENOTFOUND when there is none, EFORBIDDEN (deleting nothing) when someone
// else made it, or an internal error.
func (s *OfferStore) TakeOffer(ctx context.Context, id, requester string) (*tasks.Offer, error) {
	o, err := scanOffer(s.db.db.QueryRowContext(ctx,
		`DELETE FROM offers WHERE id = ? AND requester = ? RETURNING `+offerColumns, id, requester))
	if err == nil {
		return o, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("take offer: %w", err)
	}
	var other string
	err = s.db.db.QueryRowContext(ctx, `SELECT requester FROM offers WHERE id = ?`, id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, tasks.Errorf(tasks.ENOTFOUND, "No confirmation %q.", id)
	case err != nil:
		return nil, fmt.Errorf("take offer: %w", err)
	}
	return nil, tasks.Errorf(tasks.EFORBIDDEN, "Only the person who asked can confirm or cancel this.")
}

// ListOffers returns the offers expiring after now, oldest first, or an
// internal error.
func (s *OfferStore) ListOffers(ctx context.Context, now time.Time) ([]*tasks.Offer, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+offerColumns+` FROM offers WHERE expires_at > ? ORDER BY created_at, id`, formatTime(now))
	if err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	defer rows.Close()
	var out []*tasks.Offer
	for rows.Next() {
		o, err := scanOffer(rows)
		if err != nil {
			return nil, fmt.Errorf("list offers: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	return out, nil
}

func scanOffer(sc scanner) (*tasks.Offer, error) {
	var (
		o    tasks.Offer
		kind string
	)
	if err := sc.Scan(&o.ID, &kind, jsonColumn{&o.Targets}, &o.Requester, timeColumn{&o.CreatedAt}, timeColumn{&o.ExpiresAt}); err != nil {
		return nil, err
	}
	o.Kind = tasks.OfferKind(kind)
	return &o, nil
}
