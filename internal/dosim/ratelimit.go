package dosim

import (
	"fmt"
	"time"
)

// limiter keeps DO's two per-token budgets over sliding windows: a burst
// budget per minute, which answers 429 but does not show in the headers, and
// the hourly budget the ratelimit-* headers describe. The windows are a
// minute and an hour times Options.TimeScale. Callers hold Server.mu.
type limiter struct {
	perMinute, perHour int
	minute, hour       time.Duration // the windows
	hits               []time.Time   // admitted requests of the last hour, oldest first
}

// rateState is what the ratelimit-* headers report.
type rateState struct {
	limit, remaining int
	reset            time.Time // when the oldest counted request leaves the hourly window
}

// admit counts a request at now if both budgets allow it. When they do not,
// it returns how long until one would.
func (l *limiter) admit(now time.Time) (ok bool, retryAfter time.Duration, st rateState) {
	l.prune(now)
	if len(l.hits) >= l.perHour {
		return false, l.hits[0].Add(l.hour).Sub(now), l.state(now)
	}
	minuteAgo := now.Add(-l.minute)
	inMinute := 0
	first := len(l.hits)
	for i := len(l.hits) - 1; i >= 0 && l.hits[i].After(minuteAgo); i-- {
		inMinute++
		first = i
	}
	if inMinute >= l.perMinute {
		return false, l.hits[first].Add(l.minute).Sub(now), l.state(now)
	}
	l.hits = append(l.hits, now)
	return true, 0, l.state(now)
}

// state reports the hourly budget at now without counting a request.
func (l *limiter) state(now time.Time) rateState {
	l.prune(now)
	st := rateState{limit: l.perHour, remaining: l.perHour - len(l.hits), reset: now.Add(l.hour)}
	if len(l.hits) > 0 {
		st.reset = l.hits[0].Add(l.hour)
	}
	return st
}

func (l *limiter) prune(now time.Time) {
	hourAgo := now.Add(-l.hour)
	n := 0
	for n < len(l.hits) && !l.hits[n].After(hourAgo) {
		n++
	}
	if n > 0 {
		l.hits = append(l.hits[:0], l.hits[n:]...)
	}
}

// retryAfterValue renders d as whole seconds, rounded up and at least 1,
// the form DO sends.
func retryAfterValue(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprint(s)
}

// unixCeil is t in unix seconds, rounded up so a client never wakes early.
func unixCeil(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
