package tasks

import (
	"context"
	"time"
)

// DropletCreate is what a run asks the cloud to create.
type DropletCreate struct {
	Name     string   // FQDN, e.g. emma.cicf.cloud
	Region   string   // slug
	Size     string   // slug
	Image    string   // slug, e.g. debian-12-x64
	Tags     []string // class tag, student tag, run tag
	UserData string   // cloud-init; holds a host private key, so never logged
	IPv6     bool
}

// DNSRecord is one A or AAAA record under the class domain.
type DNSRecord struct {
	ID   int
	Type string // A or AAAA
	Name string // relative to the domain, e.g. "emma"
	Data string // the address
	TTL  int    // seconds
}

// DNSRecordStore remembers which DNS records the bot created, so that it
// never overwrites or deletes one a person made (a hand-made www or mail).
type DNSRecordStore interface {
	// RecordIDs returns the IDs of the records the bot created for name.
	RecordIDs(ctx context.Context, domain, name string) ([]int, error)
	// AddRecordIDs remembers ids as the bot's records for name; known ones
	// are kept.
	AddRecordIDs(ctx context.Context, domain, name string, ids []int) error
	// RemoveRecordIDs forgets ids; unknown ones are ignored.
	RemoveRecordIDs(ctx context.Context, domain string, ids []int) error
}

// Size is a droplet size with its list price.
type Size struct {
	Slug         string
	VCPUs        int
	MemoryMB     int
	DiskGB       int
	PriceHourly  float64
	PriceMonthly float64
}

// Cloud is what runs need from the cloud provider. Every method returns
// EUNAVAILABLE when the provider cannot be reached in time.
type Cloud interface {
	DropletLister
	// CreateDroplet starts creating a droplet and returns it as first
	// reported (usually status "new", no address yet). It does not wait.
	CreateDroplet(ctx context.Context, req DropletCreate) (*Droplet, error)
	// GetDroplet returns ENOTFOUND when the droplet does not exist.
	GetDroplet(ctx context.Context, id int) (*Droplet, error)
	// DeleteDroplet deletes the droplet only if it carries tag (the class
	// tag); it returns EFORBIDDEN otherwise and nil if it is already gone.
	DeleteDroplet(ctx context.Context, id int, tag string) error
	// PowerDroplet powers the droplet on or off and waits for the action to
	// finish, up to ctx's deadline.
	PowerDroplet(ctx context.Context, id int, on bool) error
	// ListRecords returns the domain's A and AAAA records named name.
	ListRecords(ctx context.Context, domain, name string) ([]DNSRecord, error)
	// SetRecords makes each of recs (all named name) the only A or AAAA
	// record of its type and name, updating or creating as needed, with one
	// listing of the name's records for all of them.
	SetRecords(ctx context.Context, domain, name string, recs []DNSRecord) error
	// DeleteRecord deletes the record id; nil if it is already gone.
	DeleteRecord(ctx context.Context, domain string, id int) error
	// Sizes returns the sizes the account can use, with prices.
	Sizes(ctx context.Context) ([]Size, error)
}

// Remote is a connection to a VM's sshd whose host key was checked against
// the pinned one.
type Remote interface {
	// Run runs cmd through the remote shell and returns its standard output.
	// A non-zero exit is an error holding the exit status and standard error.
	// cmd must be built with ShellQuote for anything not constant.
	Run(ctx context.Context, cmd string) ([]byte, error)
	// Upload writes data to path with mode, atomically (temp file + rename),
	// creating parent directories. It needs no scp or sftp on the bot's side.
	Upload(ctx context.Context, path string, mode uint32, data []byte) error
	Close() error
}

// RemoteDialer opens SSH connections as the bot's own user.
type RemoteDialer interface {
	// Dial connects to addr (host:port) as user and checks the server's host
	// key against hostKey (authorized_keys format). A different key returns
	// an error with ErrHostKeyMismatch in its chain; an unreachable host
	// returns EUNAVAILABLE.
	Dial(ctx context.Context, addr, user, hostKey string) (Remote, error)
	// PublicKey returns the bot's own public key in authorized_keys format.
	PublicKey() string
}

// ErrHostKeyMismatch is the chain member of a dial whose server presented a
// different host key than the pinned one.
var ErrHostKeyMismatch = Errorf(ECONFLICT, "REMOTE HOST IDENTIFICATION HAS CHANGED: the VM presented a different SSH host key than the pinned one. The run stopped; nothing was sent to it.")

// Prober checks a VM from outside, as a student's browser would.
type Prober interface {
	// HTTPS fetches https://fqdn/ dialling ip:443 with fqdn as TLS server
	// name and returns the status code and days until the certificate expires.
	HTTPS(ctx context.Context, ip, fqdn string) (status int, certDaysLeft int, err error)
	// HTTPSAuth fetches the same page with basic-auth credentials and
	// returns the status code; the password goes in the request only.
	HTTPSAuth(ctx context.Context, ip, fqdn, user, password string) (status int, err error)
	// OpenPorts returns the TCP ports among ports that accept a connection.
	OpenPorts(ctx context.Context, ip string, ports []int, timeout time.Duration) ([]int, error)
}
