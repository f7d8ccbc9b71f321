package digitalocean

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer is the request budget one Client shares across all its calls: a
// token bucket that lets no more than perWindow requests out in any window
// (a burst of perWindow/24, then an even pace), and a hold that stops every
// request until the moment a 429 or a spent hourly budget named.
//
// A token bucket rather than a sliding window of sends: the API counts
// arrivals, which lag the sends by a varying delay, and an even pace keeps
// that jitter from stacking a window's worth of requests into the next one.
type pacer struct {
	lim *rate.Limiter // nil: no pacing

	mu   sync.Mutex
	hold time.Time
}

func newPacer(perWindow int, window time.Duration) *pacer {
	if perWindow < 0 {
		return &pacer{}
	}
	burst := max(1, perWindow/24)
	// burst + refill per window is the most a window can see.
	refill := max(perWindow-burst, 1)
	return &pacer{lim: rate.NewLimiter(rate.Every(window/time.Duration(refill)), burst)}
}

// wait blocks until the next request may go out. It returns at once, with
// context.DeadlineExceeded in the chain, when that moment is past ctx's
// deadline, and ctx's error when ctx ends while waiting.
func (p *pacer) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	// The hold first: slots reserved before it ends would all fire at once
	// when it does.
	for {
		p.mu.Lock()
		d := p.hold.Sub(now())
		p.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleepWithin(ctx, sleep, d); err != nil {
			return err
		}
	}
	if p.lim == nil {
		return nil
	}
	t := now()
	res := p.lim.ReserveN(t, 1)
	d := res.DelayFrom(t)
	if d <= 0 {
		return nil
	}
	if err := sleepWithin(ctx, sleep, d); err != nil {
		res.CancelAt(now())
		return err
	}
	return nil
}

// sleepWithin sleeps d unless that would outlast ctx's deadline.
func sleepWithin(ctx context.Context, sleep func(context.Context, time.Duration) error, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		// ctx deadlines are on the real clock, hence time.Until.
		return fmt.Errorf("digitalocean request budget: next request in %v, after the deadline: %w", d, context.DeadlineExceeded)
	}
	return sleep(ctx, d)
}

// observe holds every request when resp says the API will refuse them: a
// 429 until its Retry-After, a spent hourly budget until ratelimit-reset.
// It returns the end of the hold, zero if none.
func (p *pacer) observe(resp *http.Response, now time.Time) time.Time {
	if resp == nil {
		return time.Time{}
	}
	var until time.Time
	if resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
			until = now.Add(d)
		}
	}
	if resp.Header.Get("Ratelimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("Ratelimit-Reset"), 10, 64); err == nil {
			if at := time.Unix(reset, 0); at.After(until) {
				until = at
			}
		}
	}
	if !until.After(now) {
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.hold) {
		p.hold = until
	}
	return until
}
