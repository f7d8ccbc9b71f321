package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// DNSRecordStore remembers the IDs of the DNS records the bot created.
type DNSRecordStore struct {
	db *DB
}

var _ tasks.DNSRecordStore = (*DNSRecordStore)(nil)

// NewDNSRecordStore returns a DNSRecordStore backed by db.
func NewDNSRecordStore(db *DB) *DNSRecordStore {
	return &DNSRecordStore{db: db}
}

// RecordIDs returns the IDs of the bot's records named name in domain, in
// ascending order, or an internal error.
func (s *DNSRecordStore) RecordIDs(ctx context.Context, domain, name string) ([]int, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT record_id FROM dns_records WHERE domain = ? AND name = ? ORDER BY record_id`, domain, name)
	if err != nil {
		return nil, fmt.Errorf("list DNS records of %q: %w", name, err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list DNS records of %q: %w", name, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list DNS records of %q: %w", name, err)
	}
	return ids, nil
}

// AddRecordIDs remembers ids as the bot's records named name; an ID already
// known keeps its row (ON CONFLICT DO NOTHING, as in PostgreSQL).
func (s *DNSRecordStore) AddRecordIDs(ctx context.Context, domain, name string, ids []int) error {
	now := formatTime(s.db.now())
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dns_records (domain, name, record_id, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (domain, record_id) DO NOTHING`, domain, name, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remember DNS records of %q: %w", name, err)
	}
	return nil
}

// RemoveRecordIDs forgets ids in domain; unknown IDs are ignored.
func (s *DNSRecordStore) RemoveRecordIDs(ctx context.Context, domain string, ids []int) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM dns_records WHERE domain = ? AND record_id = ?`, domain, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget DNS records %v: %w", ids, err)
	}
	return nil
}
