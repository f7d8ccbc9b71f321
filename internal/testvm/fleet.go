package testvm

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// Fleet boots a test VM for every droplet a DigitalOcean stand-in creates,
// from the user-data the bot sent, with HTTPS from ca. Pass its AssignIP and
// OnCreate to dosim.Options, then Attach the server.
type Fleet struct {
	tb testing.TB
	ca *CA
	// Debian, when set before the first droplet, boots each droplet from
	// the real Debian 12 root with the real cloud-init (StartDebian, with
	// these options and the Fleet's CA) instead of the light VM.
	Debian *DebianOptions
	// beforeRuncmd, if set, is called with a droplet's name once its light
	// VM's sshd listens and before its runcmd runs; cloud-init says
	// "running" until it returns, so a provision or reset waits in its
	// "Wait for SSH and cloud-init" step as long as a test wants. Set it
	// with SetBeforeRuncmd; Debian VMs run the real cloud-init and ignore it.
	beforeRuncmd func(name string)

	mu     sync.Mutex
	sim    *dosim.Server
	next   int         // next VM index
	index  map[int]int // droplet ID → VM index
	booted map[int]*VM // droplet ID → VM
	boots  sync.WaitGroup
}

// NewFleet returns a Fleet numbering its VMs from firstIndex; each test
// package keeps to its own range (see Start). Booting VMs are waited for
// when the test ends.
func NewFleet(tb testing.TB, firstIndex int, ca *CA) *Fleet {
	f := &Fleet{tb: tb, ca: ca, next: firstIndex, index: map[int]int{}, booted: map[int]*VM{}}
	tb.Cleanup(f.boots.Wait)
	return f
}

// Reserve takes the locks of the next n VM indexes now, waiting for
// another test process that holds them. AssignIP hands a droplet its
// address before the VM boots; without the lock, another process's VM on
// that index could answer the bot meanwhile (a host key mismatch, or worse,
// checks of the wrong VM). Locks no VM took are dropped when the test ends.
func (f *Fleet) Reserve(n int) {
	f.tb.Helper()
	f.mu.Lock()
	first := f.next
	f.mu.Unlock()
	for i := first; i < first+n; i++ {
		if err := reserve(i, f.tb.Logf); err != nil {
			f.tb.Fatalf("testvm: reserve VM index %d: %v", i, err)
		}
		f.tb.Cleanup(func() { unreserve(i) })
	}
}

// Attach tells the Fleet which stand-in holds the droplets' user-data.
func (f *Fleet) Attach(sim *dosim.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sim = sim
}

// AssignIP gives each droplet the address of its own VM, 198.18.N.2.
func (f *Fleet) AssignIP(_ string, id int) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index[id] = f.next
	f.next++
	return fmt.Sprintf("198.18.%d.2", f.index[id]), ""
}

// OnCreate boots the droplet's VM in the background, as DO would.
func (f *Fleet) OnCreate(d dosim.DropletInfo) {
	f.mu.Lock()
	n, sim, debian, before := f.index[d.ID], f.sim, f.Debian, f.beforeRuncmd
	f.mu.Unlock()
	ud := []byte(sim.UserData(d.ID))
	f.boots.Add(1)
	go func() {
		defer f.boots.Done()
		var vm *VM
		if debian != nil {
			opt := *debian
			opt.CACertPEM, opt.CAKeyPEM = f.ca.CertPEM, f.ca.KeyPEM
			vm = StartDebian(f.tb, n, ud, opt)
		} else {
			var hold func()
			if before != nil {
				hold = func() { before(d.Name) }
			}
			vm = startWithCA(f.tb, n, ud, f.ca.CertPEM, f.ca.KeyPEM, hold)
		}
		f.mu.Lock()
		f.booted[d.ID] = vm
		f.mu.Unlock()
	}()
}

// SetBeforeRuncmd sets the hook called between a light VM's boot and its
// runcmd for the droplets created from now on (nil: none).
func (f *Fleet) SetBeforeRuncmd(hook func(name string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beforeRuncmd = hook
}

// VM returns the VM of droplet id, once booted; it fails the test if there
// is none.
func (f *Fleet) VM(id int) *VM {
	f.tb.Helper()
	f.boots.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	vm := f.booted[id]
	if vm == nil {
		f.tb.Fatalf("droplet %d has no test VM", id)
	}
	return vm
}

// CAFile is the test CA's certificate file, for a bot's SSL_CERT_FILE.
func (f *Fleet) CAFile() string { return f.ca.File }
