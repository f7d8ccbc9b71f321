package vmsim

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Listener is a process listening on a TCP port of a simulated VM.
type Listener struct {
	Port    int
	Addr    string // "0.0.0.0" (open to the internet) or "127.0.0.1"
	Process string // the command name ss shows
	User    string
	PID     int
	// Container, when set, is a Docker container publishing the port: it
	// bypasses ufw, and docker ps names it.
	Container string
}

// Process is a running process as ps shows it.
type Process struct {
	PID     int
	User    string
	CPU     float64 // percent
	Elapsed int     // seconds since it started
	Command string
}

// health is what a simulated VM's checks read: everything the bot learns
// about it is computed from these fields, never a canned answer.
type health struct {
	listeners []Listener
	procs     []Process
	cpu       float64 // whole-machine CPU use, percent
	ticks     uint64  // /proc/stat counter, advanced by every read
	memPct    float64
	diskPct   float64
	certDays  int
	cut       bool // nothing reaches it: the network between bot and VM is down
}

func defaultHealth() health {
	return health{cpu: 3, memPct: 35, diskPct: 41, certDays: 89, procs: []Process{
		{PID: 612, User: "cicf", CPU: 1.5, Elapsed: 86400, Command: "jupyter-lab"},
		{PID: 540, User: "caddy", CPU: 0.4, Elapsed: 86400, Command: "caddy"},
		{PID: 401, User: "root", CPU: 0.1, Elapsed: 86400, Command: "sshd"},
	}}
}

// with runs fn on the VM at ip under the lock; false if there is none.
func (f *Fleet) with(ip string, fn func(v *vm)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[ip]
	if ok {
		fn(v)
	}
	return ok
}

// SetService starts or stops JupyterLab behind Caddy (HTTP and HTTPS).
func (f *Fleet) SetService(ip string, up bool) bool {
	return f.with(ip, func(v *vm) { v.serviceUp = up })
}

// Listen starts l on the VM at ip (replacing a listener on the same port),
// with its process in the process table.
func (f *Fleet) Listen(ip string, l Listener) bool {
	if l.Addr == "" {
		l.Addr = "0.0.0.0"
	}
	return f.with(ip, func(v *vm) {
		v.h.listeners = slices.DeleteFunc(v.h.listeners, func(o Listener) bool { return o.Port == l.Port })
		v.h.listeners = append(v.h.listeners, l)
		if l.Container == "" && l.PID != 0 {
			v.h.procs = append(v.h.procs, Process{PID: l.PID, User: l.User, CPU: 0.5, Elapsed: 120, Command: l.Process})
		}
	})
}

// StopListening stops whatever listens on port.
func (f *Fleet) StopListening(ip string, port int) bool {
	return f.with(ip, func(v *vm) {
		v.h.listeners = slices.DeleteFunc(v.h.listeners, func(o Listener) bool { return o.Port == port })
	})
}

// SetCPU sets the VM's CPU use; a busy process p, if given, is added to its
// process table (the crypto-miner case).
func (f *Fleet) SetCPU(ip string, percent float64, p *Process) bool {
	return f.with(ip, func(v *vm) {
		v.h.cpu = percent
		if p != nil {
			v.h.procs = append(v.h.procs, *p)
		}
	})
}

// SetCertDays sets the days left on the VM's certificate.
func (f *Fleet) SetCertDays(ip string, days int) bool {
	return f.with(ip, func(v *vm) { v.h.certDays = days })
}

// SetHostKey replaces the VM's SSH host key, as a reinstall (or an
// impostor) would.
func (f *Fleet) SetHostKey(ip, hostKey string) bool {
	return f.with(ip, func(v *vm) { v.hostKey = hostKey })
}

// Cut makes the VM unreachable (or reachable again): no SSH, HTTPS or port.
func (f *Fleet) Cut(ip string, cut bool) bool {
	return f.with(ip, func(v *vm) { v.h.cut = cut })
}

// openPortsLocked is what a scan from outside finds: SSH, HTTP(S) while the
// service runs, and every listener not bound to loopback.
func (v *vm) openPortsLocked() []int {
	if v.h.cut {
		return nil
	}
	open := []int{22}
	if v.serviceUp {
		open = append(open, 80, 443)
	}
	for _, l := range v.h.listeners {
		if !strings.HasPrefix(l.Addr, "127.") && l.Addr != "::1" && !slices.Contains(open, l.Port) {
			open = append(open, l.Port)
		}
	}
	sort.Ints(open)
	return open
}

// firewallAnswerLocked answers the firewall check's command (ss, docker
// ps, ps) from the VM's listeners and processes.
func (v *vm) firewallAnswerLocked() string {
	var b strings.Builder
	b.WriteString("--- ss ---\n")
	fmt.Fprintf(&b, "LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=401,fd=3))\n")
	if v.serviceUp {
		fmt.Fprintf(&b, "LISTEN 0 4096 *:443 *:* users:((\"caddy\",pid=540,fd=7))\n")
		fmt.Fprintf(&b, "LISTEN 0 4096 *:80 *:* users:((\"caddy\",pid=540,fd=6))\n")
	}
	var docker []Listener
	for _, l := range v.h.listeners {
		proc, pid := l.Process, l.PID
		if l.Container != "" {
			proc, pid, docker = "docker-proxy", 900+l.Port%100, append(docker, l)
		}
		fmt.Fprintf(&b, "LISTEN 0 128 %s:%d 0.0.0.0:* users:((%q,pid=%d,fd=3))\n", l.Addr, l.Port, proc, pid)
	}
	b.WriteString("--- docker ---\n")
	for _, l := range docker {
		fmt.Fprintf(&b, "%s\t%s:%d->%d/tcp\n", l.Container, l.Addr, l.Port, l.Port)
	}
	b.WriteString("--- ps ---\n")
	v.psLocked(&b, len(v.h.procs))
	return b.String()
}

// psLocked writes the n busiest processes as ps -eo pid,user,pcpu,etimes,comm.
func (v *vm) psLocked(b *strings.Builder, n int) {
	ps := slices.Clone(v.h.procs)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].CPU > ps[j].CPU })
	for i, p := range ps {
		if i == n {
			break
		}
		fmt.Fprintf(b, "%7d %-8s %5.1f %8d %s\n", p.PID, p.User, p.CPU, p.Elapsed, p.Command)
	}
}

// resourcesAnswerLocked answers the resources check's command: load, two
// /proc/stat samples whose difference is the VM's CPU use, memory, disk and
// the busiest processes.
func (v *vm) resourcesAnswerLocked() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- load ---\n%.2f %.2f %.2f 1/180 4242\n", v.h.cpu/50, v.h.cpu/60, v.h.cpu/70)
	b.WriteString("--- stat ---\n")
	busy := uint64(v.h.cpu + 0.5)
	for range 2 {
		// Of every 100 ticks, busy go to user and the rest to idle.
		user, idle := v.h.ticks*busy/100, v.h.ticks-v.h.ticks*busy/100
		fmt.Fprintf(&b, "cpu  %d 0 0 %d 0 0 0 0 0 0\n", user, idle)
		v.h.ticks += 100
	}
	const total = 2014256
	fmt.Fprintf(&b, "--- mem ---\nMemTotal:       %d kB\nMemFree:          100000 kB\nMemAvailable:   %d kB\n",
		total, int(float64(total)*(100-v.h.memPct)/100))
	fmt.Fprintf(&b, "--- df ---\nFilesystem     1024-blocks    Used Available Capacity Mounted on\n/dev/vda1         50620216 %8d  %8d      %d%% /\n",
		int(50620216*v.h.diskPct/100), int(50620216*(100-v.h.diskPct)/100), int(v.h.diskPct+0.5))
	b.WriteString("--- ps ---\n")
	v.psLocked(&b, 5)
	return b.String()
}

// ScanPorts scans each address as OpenPorts does: the fleet is also the
// bot's port scanner in the demo.
func (f *Fleet) ScanPorts(ctx context.Context, addrs []string, ports []int) (map[string][]int, error) {
	out := make(map[string][]int, len(addrs))
	for _, a := range addrs {
		open, err := f.OpenPorts(ctx, a, ports, 0)
		if err != nil {
			return nil, err
		}
		out[a] = append([]int{}, open...)
	}
	return out, nil
}
