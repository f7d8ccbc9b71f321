package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// scan is one OpenPorts call: workers fill open[i] for todo[i].
type scan struct {
	ip      string
	timeout time.Duration
	open    []bool

	mu  sync.Mutex
	err error // the first scanner failure
}

func (s *scan) run(ctx context.Context, todo []int, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				s.probe(ctx, cancel, i, todo[i])
			}
		})
	}
feed:
	for i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if s.err != nil {
		return s.err
	}
	return context.Cause(ctx)
}

func (s *scan) probe(ctx context.Context, cancel context.CancelFunc, i, port int) {
	d := net.Dialer{Timeout: s.timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.ip, strconv.Itoa(port)))
	if err == nil {
		conn.Close()
		s.open[i] = true // each index has one writer; wg.Wait orders the read
		return
	}
	if ctx.Err() == nil && isLocalResourceError(err) {
		s.mu.Lock()
		if s.err == nil {
			s.err = fmt.Errorf("port %d: %w", port, err)
		}
		s.mu.Unlock()
		cancel()
	}
}

// isLocalResourceError reports errors that mean this machine ran out of
// file descriptors or local ports.
func isLocalResourceError(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOBUFS)
}

// uniquePorts returns ports sorted and deduplicated, or an error naming the
// first port outside 1..65535.
func uniquePorts(ports []int) ([]int, error) {
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d is outside 1..65535", p)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ports))), nil
}
