package tasks

import (
	"context"
	"time"
)

// VM is what the bot knows of a student's droplet. It outlives DigitalOcean
// answers: the pinned host key and the last seen state stay here when the API
// is down.
type VM struct {
	Name        string // the student's name
	DropletID   int
	Status      string // DigitalOcean droplet status: new, active, off, archive; "" if unknown
	IPv4        string
	IPv6        string
	Region      string
	Size        string
	CreatedAt   time.Time // when the droplet was created
	LastResetAt time.Time // zero if never reset
	HostKey     string    // pinned SSH host public key, authorized_keys format; "" if none
	SeenAt      time.Time // when the droplet was last recorded as DigitalOcean or a run reported it changed
}

// VMService keeps what the bot knows of each VM.
type VMService interface {
	// FindVM returns ENOTFOUND when the bot knows no VM of that name.
	FindVM(ctx context.Context, name string) (*VM, error)
	// ListVMs returns all known VMs sorted by name.
	ListVMs(ctx context.Context) ([]*VM, error)
	// UpsertVM creates or replaces the VM with vm.Name. Runs use it: they own
	// the droplet ID, the pinned host key and the last reset.
	UpsertVM(ctx context.Context, vm *VM) error
	// SyncVM records what the cloud reports (status, addresses, region, size,
	// creation, seen) for the VM whose stored droplet is vm.DropletID, or
	// creates the record if there is none. It never touches the pinned host
	// key or the last reset, and does nothing when the stored droplet is a
	// different one (a run switched it meanwhile). ENOTFOUND if no student.
	SyncVM(ctx context.Context, vm *VM) error
	// DeleteVM returns ENOTFOUND when the bot knows no VM of that name.
	DeleteVM(ctx context.Context, name string) error
}

// Droplet is one DigitalOcean droplet as the API reports it.
type Droplet struct {
	ID           int
	Name         string // the FQDN, e.g. emma.cicf.cloud
	Status       string // new, active, off, archive
	IPv4         string // public
	IPv6         string // public
	Region       string // slug
	Size         string // slug
	Tags         []string
	CreatedAt    time.Time
	PriceHourly  float64
	PriceMonthly float64
}

// DropletLister reads droplets from the cloud.
type DropletLister interface {
	// ListDroplets returns every droplet carrying tag, across all pages. It
	// returns EUNAVAILABLE when the API cannot be reached in time.
	ListDroplets(ctx context.Context, tag string) ([]Droplet, error)
}
