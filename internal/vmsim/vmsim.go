// Package vmsim simulates the droplets' SSH and HTTPS side for `cicf-bot
// demo`, in process: no network, no sshd. It keeps the one property the
// demo must not fake away: a VM only answers to the host key its user-data
// installed (or the one it rotated to), so the bot's pinning is exercised
// for real.
package vmsim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cicf/cicf-bot/deploy"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// Fleet is a set of simulated VMs by IPv4 address. It implements the bot's
// remote shell and outside prober.
type Fleet struct {
	botKey  string
	latency time.Duration

	mu   sync.Mutex
	vms  map[string]*vm
	sim  *dosim.Server  // see Attach
	ips  map[int]string // droplet ID → IPv4 given by AssignIP
	next int
}

var (
	_ tasks.RemoteDialer = (*Fleet)(nil)
	_ tasks.Prober       = (*Fleet)(nil)
)

type vm struct {
	hostKey, nextKey string
	serviceUp        bool
	files            map[string][]byte
	h                health // what the checks read
	// caddyHash is the bcrypt hash the service read from .env when it
	// (re)started; basic auth checks against it.
	caddyHash string
}

// New returns an empty fleet; each remote command takes latency.
func New(latency time.Duration) *Fleet {
	return &Fleet{botKey: newKey(), latency: latency, vms: map[string]*vm{}, ips: map[int]string{}}
}

// Attach makes every droplet sim creates boot as a VM of this fleet: pass
// the fleet's AssignIP and OnCreate to dosim.Options, then Attach the server.
func (f *Fleet) Attach(sim *dosim.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sim = sim
}

// AssignIP gives each created droplet addresses of its own, in
// 198.18.0.0/15 and 2001:db8::/32 (ranges for tests and documentation).
func (f *Fleet) AssignIP(_ string, id int) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.ips[id] = fmt.Sprintf("198.18.%d.%d", 1+f.next/250, 2+f.next%250)
	return f.ips[id], fmt.Sprintf("2001:db8:1::%x", f.next)
}

// OnCreate boots the droplet from the user-data the bot sent.
func (f *Fleet) OnCreate(d dosim.DropletInfo) {
	f.mu.Lock()
	ip, sim := f.ips[d.ID], f.sim
	f.mu.Unlock()
	f.Boot(ip, sim.UserData(d.ID))
}

// IP returns the IPv4 address AssignIP gave droplet id, "" if none.
func (f *Fleet) IP(id int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ips[id]
}

// Boot starts a VM at ip from its cloud-init user-data, as the droplet's
// first boot would: with the host key the user-data carries.
func (f *Fleet) Boot(ip, userData string) {
	v := &vm{files: map[string][]byte{}, h: defaultHealth()}
	lines := strings.Split(userData, "\n")
	for i, line := range lines {
		k, ok := strings.CutPrefix(strings.TrimSpace(line), "ed25519_public:")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if strings.HasPrefix(k, "|") && i+1 < len(lines) {
			k = lines[i+1] // a block scalar: the key is the next line
		}
		v.hostKey = strings.Trim(strings.TrimSpace(k), `"'`)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms[ip] = v
}

// Add puts an already running VM at ip with the given host key.
func (f *Fleet) Add(ip, hostKey string, serviceUp bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms[ip] = &vm{hostKey: hostKey, serviceUp: serviceUp, files: map[string][]byte{}, h: defaultHealth()}
}

// PublicKey returns the demo bot's public key.
func (f *Fleet) PublicKey() string { return f.botKey }

// Dial returns a session if a VM is at addr and presents the pinned key.
func (f *Fleet) Dial(ctx context.Context, addr, user, hostKey string) (tasks.Remote, error) {
	host, _, _ := net.SplitHostPort(addr)
	if err := f.pause(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[host]
	switch {
	case !ok || v.h.cut:
		return nil, tasks.Errorf(tasks.EUNAVAILABLE, "No VM answers at %s.", addr)
	case !sameKey(v.hostKey, hostKey):
		return nil, fmt.Errorf("dial %s: %w", addr, tasks.ErrHostKeyMismatch)
	}
	return &session{f: f, v: v}, nil
}

// HTTPS answers like Caddy with basic auth once the service runs.
func (f *Fleet) HTTPS(ctx context.Context, ip, fqdn string) (int, int, error) {
	if err := f.pause(ctx); err != nil {
		return 0, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.vms[ip]; ok && v.serviceUp && !v.h.cut {
		return 401, v.h.certDays, nil
	}
	return 0, 0, fmt.Errorf("dial %s:443: connection refused", ip)
}

// HTTPSAuth answers like Caddy's basic auth: 200 for the user and a
// password matching the hash the service started with, 401 otherwise.
func (f *Fleet) HTTPSAuth(ctx context.Context, ip, fqdn, user, password string) (int, error) {
	if err := f.pause(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	v, ok := f.vms[ip]
	up, hash := ok && v.serviceUp, ""
	if ok {
		hash = v.caddyHash
	}
	f.mu.Unlock()
	if !up {
		return 0, fmt.Errorf("dial %s:443: connection refused", ip)
	}
	if user != deploy.DefaultCaddyUser || hash == "" || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return 401, nil
	}
	return 200, nil
}

// envHash returns CADDY_PASSWORD from a rendered .env, "" if absent.
func envHash(env []byte) string {
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "CADDY_PASSWORD="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// OpenPorts reports, among ports (nil: all), SSH, HTTP(S) once the service
// runs, and the VM's listeners not bound to loopback.
func (f *Fleet) OpenPorts(ctx context.Context, ip string, ports []int, _ time.Duration) ([]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[ip]
	if !ok {
		return nil, nil
	}
	var open []int
	for _, p := range v.openPortsLocked() {
		if ports == nil || slices.Contains(ports, p) {
			open = append(open, p)
		}
	}
	return open, nil
}

func (f *Fleet) pause(ctx context.Context) error {
	t := time.NewTimer(f.latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return tasks.Errorf(tasks.EUNAVAILABLE, "Timed out.")
	case <-t.C:
		return nil
	}
}

type session struct {
	f *Fleet
	v *vm
}

// Run understands the commands the bot's runs send.
func (s *session) Run(ctx context.Context, cmd string) ([]byte, error) {
	if err := s.f.pause(ctx); err != nil {
		return nil, err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	switch {
	case strings.Contains(cmd, "--- ss ---"):
		return []byte(s.v.firewallAnswerLocked()), nil
	case strings.Contains(cmd, "--- load ---"):
		return []byte(s.v.resourcesAnswerLocked()), nil
	case strings.Contains(cmd, "cloud-init status"):
		return []byte("status: done\n"), nil
	case strings.Contains(cmd, "ssh-keygen"):
		s.v.nextKey = newKey()
		return []byte(s.v.nextKey + "\n"), nil
	case strings.Contains(cmd, ".next ]; then mv"):
		if s.v.nextKey != "" {
			s.v.hostKey, s.v.nextKey = s.v.nextKey, ""
		}
	case strings.Contains(cmd, "enable --now"), strings.Contains(cmd, "systemctl restart "+deploy.ServiceName):
		s.v.serviceUp = true
		s.v.caddyHash = envHash(s.v.files[deploy.EnvPath])
	}
	return nil, nil
}

func (s *session) Upload(ctx context.Context, path string, _ uint32, data []byte) error {
	if err := s.f.pause(ctx); err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.v.files[path] = data
	return nil
}

func (s *session) Close() error { return nil }

func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

func newKey() string {
	_, pub, err := tasks.NewHostKey()
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return pub
}

// State renders what every VM holds (host key, service, the active
// password hash, each file's contents by path), sorted, so that a test can
// tell whether anything changed on any VM.
func (f *Fleet) State() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines []string
	for ip, v := range f.vms {
		lines = append(lines, fmt.Sprintf("%s host=%s next=%s up=%v hash=%s", ip, v.hostKey, v.nextKey, v.serviceUp, v.caddyHash))
		for p, data := range v.files {
			lines = append(lines, fmt.Sprintf("%s %s %x", ip, p, sha256.Sum256(data)))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// File returns what the VM at ip holds at path (nil if nothing).
func (f *Fleet) File(ip, path string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.vms[ip]; ok {
		return slices.Clone(v.files[path])
	}
	return nil
}
