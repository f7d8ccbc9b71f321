//go:build linux

package probe

import (
	"container/heap"
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// engine carries out its share of a pass of probes with non-blocking
// sockets and one epoll instance, in one goroutine (runLoops runs one per
// CPU): no goroutine and no timer per probe. A port is filtered only if an
// epoll_wait called after its deadline did not report it, that is, the
// kernel had received no SYN-ACK or RST for it by then: this process
// being slow can make a probe wait longer, never make an answer look like
// silence (with a goroutine and a timer per probe, a busy scheduler can
// fire the timer before waking the reader, and a loaded machine misses
// open ports).
type engine struct {
	s      *Scanner
	epfd   int
	live   map[int32]*attempt // by fd
	dl     deadlines
	events []syscall.EpollEvent
	group  *rttEstimator
	done   func() // called once per finished probe, or nil
}

// attempt is one connect in flight.
type attempt struct {
	fd              int
	h               *hostScan
	idx             int // into h.state
	start, deadline time.Time
	heapIdx         int
}

// job is one port of one host to probe.
type job struct {
	h    *hostScan
	idx  int
	port int
}

// startBatch bounds the connects started between two reads of answers, so
// answers are read (and round trips measured) promptly during a burst.
const startBatch = 256

func newEngine(s *Scanner, group *rttEstimator) (*engine, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &engine{s: s, epfd: fd, live: map[int32]*attempt{}, events: make([]syscall.EpollEvent, 1024), group: group}, nil
}

func (e *engine) close() {
	e.abort()
	syscall.Close(e.epfd)
}

// abort closes every socket in flight and gives back their slots.
func (e *engine) abort() {
	for fd := range e.live {
		syscall.Close(int(fd))
		e.release()
	}
	clear(e.live)
	e.dl = e.dl[:0]
}

func (e *engine) release() {
	<-e.s.sem
	e.s.inFlight.Add(-1)
}

// acquire takes a slot of the Scanner's socket bound; it blocks (until ctx
// ends) only when this call has nothing in flight to wait for.
func (e *engine) acquire(ctx context.Context) (bool, error) {
	select {
	case e.s.sem <- struct{}{}:
	default:
		if len(e.live) > 0 {
			return false, nil
		}
		select {
		case e.s.sem <- struct{}{}:
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
	}
	n := e.s.inFlight.Add(1)
	for p := e.s.peak.Load(); n > p && !e.s.peak.CompareAndSwap(p, n); p = e.s.peak.Load() {
	}
	return true, nil
}

// run probes every job once, each with timeout(job). It returns ctx's
// cause when ctx ends and an error when this machine cannot carry the
// scan out; either way nothing is left open.
func (e *engine) run(ctx context.Context, jobs []job, timeout func(*hostScan) time.Duration) error {
	next := 0
	for next < len(jobs) || len(e.live) > 0 {
		if ctx.Err() != nil {
			e.abort()
			return context.Cause(ctx)
		}
		started := 0
		for ; next < len(jobs) && started < startBatch; started++ {
			ok, err := e.acquire(ctx)
			if err != nil {
				e.abort()
				return err
			}
			if !ok {
				break
			}
			if err := e.start(jobs[next], timeout(jobs[next].h)); err != nil {
				e.abort()
				return err
			}
			next++
		}
		// Wait for answers until the first deadline, and at most 20 ms so
		// a cancelled ctx is seen promptly.
		wait := 20 * time.Millisecond
		if len(e.dl) > 0 {
			wait = min(wait, time.Until(e.dl[0].deadline))
		}
		if started == startBatch {
			wait = 0 // a slot may be free: more to start
		}
		ms := 0
		if wait > 0 {
			ms = int((wait + time.Millisecond - 1) / time.Millisecond)
		}
		// epoll_wait reports every answer that arrived before it was
		// called, so a probe whose deadline had passed by then and that it
		// does not report had no answer by its deadline: filtered.
		called := time.Now() // round trips and deadlines, not a clock reading: not injected
		n, err := syscall.EpollWait(e.epfd, e.events, ms)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			e.abort()
			return err
		}
		now := time.Now()
		for _, ev := range e.events[:max(n, 0)] {
			if a := e.live[ev.Fd]; a != nil {
				e.finish(a, now)
			}
		}
		for len(e.dl) > 0 && !e.dl[0].deadline.After(called) {
			e.end(e.dl[0], filtered)
		}
	}
	return nil
}

// start connects a non-blocking socket; the answer comes through epoll.
func (e *engine) start(j job, timeout time.Duration) error {
	family := syscall.AF_INET
	if j.h.ip.To4() == nil {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		e.release()
		return err // EMFILE, ENFILE, ENOBUFS: no sockets left here
	}
	now := time.Now() // round trips and deadlines, not a clock reading: not injected
	a := &attempt{fd: fd, h: j.h, idx: j.idx, start: now, deadline: now.Add(timeout)}
	switch err := syscall.Connect(fd, sockaddr(j.h.ip, j.port)); {
	case err == nil || errors.Is(err, syscall.EINPROGRESS):
		ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(fd)}
		if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			syscall.Close(fd)
			e.release()
			return err
		}
		e.live[int32(fd)] = a
		heap.Push(&e.dl, a)
		return nil
	case isLocalResourceError(err) || errors.Is(err, syscall.ENETUNREACH):
		syscall.Close(fd)
		e.release()
		return err
	case isAnswer(err): // refused at once (loopback), or unreachable: as if answered now
		e.live[int32(fd)] = a
		heap.Push(&e.dl, a)
		e.classify(a, err, time.Now())
		return nil
	default: // a fault here (EAFNOSUPPORT, EINVAL...), not an answer from the host
		syscall.Close(fd)
		e.release()
		return err
	}
}

// isAnswer reports the connect errors that tell about the path to the
// port: refused (RST), unreachable or prohibited (ICMP, a local firewall),
// timed out, reset.
func isAnswer(err error) bool {
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ETIMEDOUT,
		syscall.ECONNRESET, syscall.EACCES, syscall.EPERM, syscall.ENETDOWN, syscall.EHOSTDOWN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// finish reads the outcome of a connect that epoll reported.
func (e *engine) finish(a *attempt, now time.Time) {
	soerr, err := syscall.GetsockoptInt(a.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err == nil && soerr != 0 {
		err = syscall.Errno(soerr)
	}
	e.classify(a, err, now)
}

// classify ends a: connected is open, refused (RST) is closed, both a
// round-trip sample; anything else (ICMP unreachable from a REJECT) is
// filtered, as nmap -sT reports it.
func (e *engine) classify(a *attempt, err error, now time.Time) {
	st := filtered
	switch {
	case err == nil:
		st = open
	case errors.Is(err, syscall.ECONNREFUSED):
		st = closed
	}
	if st != filtered {
		a.h.rtt.sample(now.Sub(a.start))
		e.group.sample(now.Sub(a.start))
	}
	e.end(a, st)
}

func (e *engine) end(a *attempt, st portState) {
	syscall.Close(a.fd) // also leaves the epoll set
	delete(e.live, int32(a.fd))
	heap.Remove(&e.dl, a.heapIdx)
	e.release()
	a.h.state[a.idx] = st
	if e.done != nil {
		e.done()
	}
}

// sockaddr is ip:port for connect(2).
func sockaddr(ip net.IP, port int) syscall.Sockaddr {
	if ip4 := ip.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa
	}
	sa := &syscall.SockaddrInet6{Port: port}
	copy(sa.Addr[:], ip.To16())
	return sa
}

// deadlines is a min-heap of attempts by deadline.
type deadlines []*attempt

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].heapIdx, d[j].heapIdx = i, j
}
func (d *deadlines) Push(x any) { a := x.(*attempt); a.heapIdx = len(*d); *d = append(*d, a) }
func (d *deadlines) Pop() any {
	old := *d
	a := old[len(old)-1]
	*d = old[:len(old)-1]
	return a
}
