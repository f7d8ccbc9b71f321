package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// CloudViewStore keeps what DigitalOcean last reported, per tag.
type CloudViewStore struct {
	db *DB
}

var _ tasks.CloudViewStore = (*CloudViewStore)(nil)

// NewCloudViewStore returns a CloudViewStore backed by db.
func NewCloudViewStore(db *DB) *CloudViewStore {
	return &CloudViewStore{db: db}
}

// CloudView returns the view of tag, ENOTFOUND if none was stored, or an
// internal error.
func (s *CloudViewStore) CloudView(ctx context.Context, tag string) (*tasks.CloudView, error) {
	v := &tasks.CloudView{Tag: tag}
	var droplets string
	err := s.db.db.QueryRowContext(ctx, `SELECT droplets, listed_at, checked_at, error FROM cloud_views WHERE tag = ?`, tag).
		Scan(&droplets, timeColumn{&v.ListedAt}, timeColumn{&v.CheckedAt}, &v.Err)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tasks.Errorf(tasks.ENOTFOUND, "DigitalOcean has not been asked yet.")
	}
	if err != nil {
		return nil, fmt.Errorf("read cloud view %q: %w", tag, err)
	}
	if err := json.Unmarshal([]byte(droplets), &v.Droplets); err != nil {
		return nil, fmt.Errorf("read cloud view %q: %w", tag, err)
	}
	return v, nil
}

// SaveCloudView stores v unless the stored view was checked after it, in one
// statement (the same upsert reads the same in PostgreSQL).
func (s *CloudViewStore) SaveCloudView(ctx context.Context, v *tasks.CloudView) (bool, error) {
	droplets := v.Droplets
	if droplets == nil {
		droplets = []tasks.Droplet{}
	}
	buf, err := json.Marshal(droplets)
	if err != nil {
		return false, fmt.Errorf("save cloud view %q: %w", v.Tag, err)
	}
	res, err := s.db.db.ExecContext(ctx, `INSERT INTO cloud_views (tag, droplets, listed_at, checked_at, error) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tag) DO UPDATE SET droplets = excluded.droplets, listed_at = excluded.listed_at,
			checked_at = excluded.checked_at, error = excluded.error
		WHERE cloud_views.checked_at <= excluded.checked_at`,
		v.Tag, string(buf), formatTime(v.ListedAt), formatTime(v.CheckedAt), v.Err)
	if err != nil {
		return false, fmt.Errorf("save cloud view %q: %w", v.Tag, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save cloud view %q: %w", v.Tag, err)
	}
	return n == 1, nil
}
