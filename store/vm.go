package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
	sqlite3 "modernc.org/sqlite/lib"
)

// VMService keeps what the bot knows of each student's VM in SQLite. A VM
// row belongs to a student: it cannot exist without one and goes with them.
type VMService struct {
	db *DB
}

var _ tasks.VMService = (*VMService)(nil)

// NewVMService returns a VMService backed by db.
func NewVMService(db *DB) *VMService {
	return &VMService{db: db}
}

const vmColumns = `name, droplet_id, status, ipv4, ipv6, region, size,
	created_at, last_reset_at, host_key, seen_at`

// FindVM returns the VM of the student called name; ENOTFOUND if the bot
// knows none, or an internal error if the database cannot be read.
func (s *VMService) FindVM(ctx context.Context, name string) (*tasks.VM, error) {
	vm, err := scanVM(s.db.db.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM vms WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoVM(name)
	case err != nil:
		return nil, fmt.Errorf("find vm %q: %w", name, err)
	}
	return vm, nil
}

// ListVMs returns all known VMs sorted by name, or an internal error if the
// database cannot be read.
func (s *VMService) ListVMs(ctx context.Context) ([]*tasks.VM, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+vmColumns+` FROM vms ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list vms: %w", err)
	}
	defer rows.Close()
	var out []*tasks.VM
	for rows.Next() {
		vm, err := scanVM(rows)
		if err != nil {
			return nil, fmt.Errorf("list vms: %w", err)
		}
		out = append(out, vm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list vms: %w", err)
	}
	return out, nil
}

// UpsertVM creates or replaces the VM of the student called vm.Name. It
// returns ENOTFOUND if there is no such student, or an internal error.
func (s *VMService) UpsertVM(ctx context.Context, vm *tasks.VM) error {
	// ON CONFLICT DO UPDATE rather than INSERT OR REPLACE: a replace deletes
	// the row first, which would cascade to rows that refer to it.
	_, err := s.db.db.ExecContext(ctx, `INSERT INTO vms (`+vmColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			droplet_id = excluded.droplet_id, status = excluded.status,
			ipv4 = excluded.ipv4, ipv6 = excluded.ipv6,
			region = excluded.region, size = excluded.size,
			created_at = excluded.created_at, last_reset_at = excluded.last_reset_at,
			host_key = excluded.host_key, seen_at = excluded.seen_at`,
		vm.Name, vm.DropletID, vm.Status, vm.IPv4, vm.IPv6, vm.Region, vm.Size,
		formatTime(vm.CreatedAt), formatTime(vm.LastResetAt), vm.HostKey, formatTime(vm.SeenAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return errNoStudent(vm.Name)
	}
	if err != nil {
		return fmt.Errorf("upsert vm %q: %w", vm.Name, err)
	}
	return nil
}

// SyncVM records the cloud's view of vm without touching the pin or the last
// reset; see tasks.VMService. It returns ENOTFOUND if there is no such
// student, or an internal error.
func (s *VMService) SyncVM(ctx context.Context, vm *tasks.VM) error {
	_, err := s.db.db.ExecContext(ctx, `INSERT INTO vms (`+vmColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?)
		ON CONFLICT (name) DO UPDATE SET
			droplet_id = excluded.droplet_id, status = excluded.status,
			ipv4 = excluded.ipv4, ipv6 = excluded.ipv6,
			region = excluded.region, size = excluded.size,
			created_at = excluded.created_at, seen_at = excluded.seen_at
		WHERE vms.droplet_id = excluded.droplet_id OR vms.droplet_id = 0`,
		vm.Name, vm.DropletID, vm.Status, vm.IPv4, vm.IPv6, vm.Region, vm.Size,
		formatTime(vm.CreatedAt), formatTime(vm.SeenAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return errNoStudent(vm.Name)
	}
	if err != nil {
		return fmt.Errorf("sync vm %q: %w", vm.Name, err)
	}
	return nil
}

// DeleteVM forgets the VM of the student called name. It returns ENOTFOUND
// if the bot knows none, or an internal error.
func (s *VMService) DeleteVM(ctx context.Context, name string) error {
	res, err := s.db.db.ExecContext(ctx, `DELETE FROM vms WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete vm %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete vm %q: %w", name, err)
	}
	if n == 0 {
		return errNoVM(name)
	}
	return nil
}

func errNoVM(name string) error {
	return tasks.Errorf(tasks.ENOTFOUND, "No VM for %q yet. Try `/cicf status`.", name)
}

func scanVM(sc scanner) (*tasks.VM, error) {
	var vm tasks.VM
	if err := sc.Scan(&vm.Name, &vm.DropletID, &vm.Status, &vm.IPv4, &vm.IPv6, &vm.Region, &vm.Size,
		timeColumn{&vm.CreatedAt}, timeColumn{&vm.LastResetAt}, &vm.HostKey, timeColumn{&vm.SeenAt}); err != nil {
		return nil, err
	}
	return &vm, nil
}
