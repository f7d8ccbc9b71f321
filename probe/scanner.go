package probe

import (
	"context"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

var _ tasks.PortScanner = (*Scanner)(nil)

// Defaults of the zero Scanner. The timeouts are nmap -T4's
// (--min-rtt-timeout 100ms, --initial-rtt-timeout 500ms, --max-rtt-timeout
// 1250ms). The floor is far above a LAN round trip on purpose: a SYN that
// waits in a busy machine's queues is not a closed port. The bot's checks
// scan a few VMs at a time, so 2000 sockets is plenty; `cicf-bot scan`
// asks for more (docs/BENCHMARKS.md: 8000 and 16000 were right on every
// run of 100 hosts).
const (
	DefaultMaxSockets     = 2000
	DefaultMinTimeout     = 100 * time.Millisecond
	DefaultInitialTimeout = 500 * time.Millisecond
	DefaultMaxTimeout     = 1250 * time.Millisecond
)

// Scanner is a TCP connect scanner for many hosts at once. It implements
// tasks.PortScanner. The zero value is ready to use with the defaults above.
//
// A port that accepts is open; one that answers RST is closed at once; one
// that does not answer within its timeout is filtered and is tried again
// (Retries) with the round-trip estimate doubled, since a SYN dropped
// under load looks exactly like a firewall DROP. Probes run on non-blocking
// sockets in epoll loops (engine_linux.go), so Linux only.
type Scanner struct {
	// MaxSockets bounds the connections in flight across all hosts and all
	// concurrent calls of this Scanner (default DefaultMaxSockets); it is
	// read on the first call. TESTING.md saw a Go-dialer scan lose open
	// ports with 16000 in flight: check a larger bound with bench/scan.
	MaxSockets int
	// MinTimeout, InitialTimeout and MaxTimeout shape the per-probe timeout
	// (see timeouts.pick): the floor, the timeout before any host of the
	// scan has answered, and the ceiling.
	MinTimeout, InitialTimeout, MaxTimeout time.Duration
	// Retries is how many more times a filtered port is tried (default 1;
	// negative means none).
	Retries int

	once     sync.Once
	sem      chan struct{}
	inFlight atomic.Int64
	peak     atomic.Int64
}

// Result is what a scan found on one host.
type Result struct {
	Host     string
	Open     []int // ascending
	Closed   int   // ports that answered RST
	Filtered int   // ports that never answered, after retries
	SRTT     time.Duration
}

// portState is what one probe learned about a port.
type portState uint8

const (
	filtered portState = iota
	open
	closed
)

// TopPorts returns nmap's top 1000 TCP ports, ascending.
func TopPorts() []int { return slices.Clone(top1000[:]) }

// PeakSockets is the most connections this Scanner had in flight at once
// since it was made: a measurement, not the bound.
func (s *Scanner) PeakSockets() int { return int(s.peak.Load()) }

// ScanPorts implements tasks.PortScanner.
func (s *Scanner) ScanPorts(ctx context.Context, addrs []string, ports []int) (map[string][]int, error) {
	res, err := s.Scan(ctx, addrs, ports, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int, len(res))
	for _, r := range res {
		out[r.Host] = r.Open
	}
	return out, nil
}

// Scan scans ports (nil: nmap's top 1000) on every address and returns one
// Result per address, in the order given. progress, if not nil, is called
// with the probes done and the total as the scan goes, from one goroutine
// at a time. Every goroutine it starts has ended when it returns.
func (s *Scanner) Scan(ctx context.Context, addrs []string, ports []int, progress func(done, total int)) ([]Result, error) {
	if ports == nil {
		ports = top1000[:]
	}
	ports, err := uniquePorts(ports)
	if err != nil {
		return nil, tasks.Errorf(tasks.EINVALID, "%v", err)
	}
	hosts := make([]*hostScan, len(addrs))
	for i, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, tasks.Errorf(tasks.EINVALID, "%q is not an IP address.", a)
		}
		hosts[i] = &hostScan{ip: ip, state: make([]portState, len(ports))}
	}
	s.once.Do(func() { s.sem = make(chan struct{}, cmp(s.MaxSockets, DefaultMaxSockets)) })
	tt := timeouts{
		lo:      cmp(s.MinTimeout, DefaultMinTimeout),
		initial: cmp(s.InitialTimeout, DefaultInitialTimeout),
		hi:      cmp(s.MaxTimeout, DefaultMaxTimeout),
	}
	tt.hi = max(tt.hi, tt.lo)
	retries := s.Retries
	if retries == 0 {
		retries = 1
	}

	var (
		group rttEstimator // every host's answers: seeds hosts that gave none
		done  int
		total = len(hosts) * len(ports)
	)
	// One epoll loop per CPU: the kernel's work per connect (socket, SYN,
	// close) is most of a scan's CPU, and one loop fills one core.
	loops := make([]*engine, min(runtime.GOMAXPROCS(0), max(1, total/minJobsPerLoop)))
	for i := range loops {
		if loops[i], err = newEngine(s, &group); err != nil {
			for _, e := range loops[:i] {
				e.close()
			}
			return nil, tasks.Errorf(tasks.EUNAVAILABLE, "The port scan could not be carried out: %v", err)
		}
		defer loops[i].close()
	}
	parts := make([][]job, len(loops))
	for pass := 0; pass <= max(retries, 0); pass++ {
		// Port by port across hosts, not host by host: one host's SYN
		// queue never takes the whole burst, and the first answers (any
		// host's 22, 80 or 443) arrive early to seed the others' timeouts.
		for i := range parts {
			parts[i] = parts[i][:0]
		}
		n := 0
		for i, p := range ports {
			for _, h := range hosts {
				if h.state[i] == filtered {
					parts[n%len(parts)] = append(parts[n%len(parts)], job{h: h, idx: i, port: p})
					n++
				}
			}
		}
		var report func()
		if progress != nil && pass == 0 {
			var mu sync.Mutex
			report = func() { mu.Lock(); done++; progress(done, total); mu.Unlock() }
		}
		if err := runLoops(ctx, loops, parts, report, func(h *hostScan) time.Duration { return tt.pick(&h.rtt, &group, pass) }); err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, tasks.Errorf(tasks.EUNAVAILABLE, "The port scan could not be carried out: %v", err)
		}
	}
	out := make([]Result, len(hosts))
	for k, h := range hosts {
		r := Result{Host: addrs[k], Open: []int{}, SRTT: h.rtt.smoothed()}
		for i, st := range h.state {
			switch st {
			case open:
				r.Open = append(r.Open, ports[i])
			case closed:
				r.Closed++
			default:
				r.Filtered++
			}
		}
		out[k] = r
	}
	return out, nil
}

// minJobsPerLoop is the least work worth a loop of its own.
const minJobsPerLoop = 1024

// runLoops runs each loop on its part of the jobs at once; the first
// failure stops them all. It returns when every loop has returned.
func runLoops(ctx context.Context, loops []*engine, parts [][]job, report func(), timeout func(*hostScan) time.Duration) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, e := range loops {
		e.done = report
		wg.Go(func() {
			if err := e.run(ctx, parts[i], timeout); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// hostScan is one host's port states and round-trip estimate.
type hostScan struct {
	ip    net.IP
	state []portState
	rtt   rttEstimator
}

// cmp returns v, or def when v is not positive.
func cmp[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
