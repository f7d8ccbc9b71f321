package probe

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

var _ tasks.PortScanner = (*Scanner)(nil)

// Scanner is a TCP connect scanner for many hosts at once. It implements
// tasks.PortScanner. The zero value is ready to use with the defaults below.
//
// A port that accepts is open; one that answers RST is closed at once; one
// that does not answer within the host's timeout is filtered and is tried
// once more (Retries) with the timeout learned from the host's answers, since
// a dropped SYN under load looks exactly like a firewall DROP.
type Scanner struct {
	// MaxSockets bounds the connections in flight across all hosts and all
	// concurrent calls of this Scanner (default 2000). TESTING.md measured
	// that far more in flight silently loses open ports here.
	MaxSockets int
	// MinTimeout and MaxTimeout clamp the per-host timeout computed from
	// measured round trips (defaults 200 ms and 2 s). A host with no answer
	// yet is given MaxTimeout.
	MinTimeout, MaxTimeout time.Duration
	// Retries is how many more times a filtered port is tried (default 1;
	// negative means none).
	Retries int

	once sync.Once
	sem  chan struct{}
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
		hosts[i] = &hostScan{ip: ip.String(), state: make([]portState, len(ports))}
	}
	s.once.Do(func() { s.sem = make(chan struct{}, cmp(s.MaxSockets, 2000)) })
	lo, hi := cmp(s.MinTimeout, 200*time.Millisecond), cmp(s.MaxTimeout, 2*time.Second)
	retries := s.Retries
	if retries == 0 {
		retries = 1
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := len(hosts) * len(ports)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for pass := 0; pass <= max(retries, 0); pass++ {
	feed:
		for _, h := range hosts {
			for i, p := range ports {
				if h.state[i] != filtered || ctx.Err() != nil {
					continue
				}
				select {
				case s.sem <- struct{}{}:
				case <-ctx.Done():
					break feed
				}
				wg.Go(func() {
					defer func() { <-s.sem }()
					st, err := h.probe(ctx, p, lo, hi)
					if err != nil {
						cancel(err)
						return
					}
					h.state[i] = st // one writer per index; wg.Wait orders the reads
					if progress != nil && pass == 0 {
						mu.Lock()
						done++
						progress(done, total)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if err := context.Cause(ctx); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, tasks.Errorf(tasks.EUNAVAILABLE, "The port scan could not be carried out: %v", err)
		}
	}
	out := make([]Result, len(hosts))
	for k, h := range hosts {
		r := Result{Host: addrs[k], Open: []int{}, SRTT: h.srtt}
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

// hostScan is one host's port states and round-trip estimate.
type hostScan struct {
	ip    string
	state []portState

	mu     sync.Mutex
	srtt   time.Duration // RFC 6298 smoothed round trip; 0 until measured
	rttvar time.Duration
}

// timeout is RFC 6298's RTO from the host's measured round trips, clamped
// to [lo, hi]; hi until the host has answered once.
func (h *hostScan) timeout(lo, hi time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srtt == 0 {
		return hi
	}
	return min(max(h.srtt+4*h.rttvar, lo), hi)
}

// sample folds one measured round trip in, as RFC 6298 section 2 does.
func (h *hostScan) sample(r time.Duration) {
	r = max(r, time.Microsecond) // a zero srtt means "not measured"
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srtt == 0 {
		h.srtt, h.rttvar = r, r/2
		return
	}
	h.rttvar = (3*h.rttvar + (h.srtt - r).Abs()) / 4
	h.srtt = (7*h.srtt + r) / 8
}

// probe connects once to port. It returns an error only when this machine
// cannot carry the scan out (no sockets, no local ports, no route).
func (h *hostScan) probe(ctx context.Context, port int, lo, hi time.Duration) (portState, error) {
	d := net.Dialer{Timeout: h.timeout(lo, hi)}
	start := time.Now() // a round trip, not a clock reading: not injected
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(h.ip, strconv.Itoa(port)))
	rtt := time.Since(start)
	switch {
	case err == nil:
		conn.Close()
		h.sample(rtt)
		return open, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		h.sample(rtt)
		return closed, nil
	case ctx.Err() != nil:
		return filtered, nil
	case isLocalResourceError(err) || errors.Is(err, syscall.ENETUNREACH):
		return filtered, err
	}
	// Timeouts and ICMP unreachable answers (REJECT with icmp-*): filtered,
	// as nmap -sT reports them.
	return filtered, nil
}

// cmp returns v, or def when v is not positive.
func cmp[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
