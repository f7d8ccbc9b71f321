package probe

import (
	"sync"
	"time"
)

// rttEstimator is RFC 6298 section 2's smoothed round trip and its
// variation. The zero value has no measurement yet.
type rttEstimator struct {
	mu     sync.Mutex
	srtt   time.Duration // 0 until measured
	rttvar time.Duration
}

// sample folds one measured round trip in, as RFC 6298 section 2 does.
func (e *rttEstimator) sample(r time.Duration) {
	r = max(r, time.Microsecond) // a zero srtt means "not measured"
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srtt == 0 {
		e.srtt, e.rttvar = r, r/2
		return
	}
	e.rttvar = (3*e.rttvar + (e.srtt - r).Abs()) / 4
	e.srtt = (7*e.srtt + r) / 8
}

// rto is SRTT + 4·RTTVAR, and false when nothing was measured yet.
func (e *rttEstimator) rto() (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srtt + 4*e.rttvar, e.srtt != 0
}

// smoothed is the smoothed round trip, 0 when nothing was measured.
func (e *rttEstimator) smoothed() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srtt
}

// timeouts picks a probe's timeout: the host's own RTO once it has
// answered; before that the RTO learned from the other hosts of the same
// scan (they share this machine's route, and a host that only DROPs never
// answers at all); before any answer, initial. The result is clamped to
// [lo, hi], then doubled per retry (RFC 6298 section 5.5's back-off) up to
// hi.
type timeouts struct {
	lo, initial, hi time.Duration
}

func (t timeouts) pick(host, group *rttEstimator, retry int) time.Duration {
	d, ok := host.rto()
	if !ok {
		d, ok = group.rto()
	}
	if !ok {
		d = t.initial
	}
	for range retry {
		d = min(2*d, t.hi)
	}
	return min(max(d, t.lo), t.hi)
}
