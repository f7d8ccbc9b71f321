package main

import (
	"net/http"
	"sync"
	"time"
)

// windowPacer is an experiment, not the product: it lets up to limit
// requests leave in any sliding window, as DO counts them, instead of the
// adapter's token bucket, which smooths them to an even pace after a small
// burst. With -pacer window the adapter's own pacing is turned off
// (RatePerMinute -1) and this sits below it; 429s are still honoured by
// the adapter. It shows what budget left idle while droplets boot is worth.
//
// Requests arrive later than they leave, by a varying delay, so the window
// it counts sends in is longer than DO's by a margin that covers the
// spread; without it, a window's burst lands on the next one's and DO
// answers 429.
type windowPacer struct {
	base   http.RoundTripper
	limit  int
	window time.Duration

	mu   sync.Mutex
	sent []time.Time // sends within the last window, oldest first
}

func (p *windowPacer) RoundTrip(req *http.Request) (*http.Response, error) {
	for {
		p.mu.Lock()
		now := time.Now()
		n := 0
		for n < len(p.sent) && now.Sub(p.sent[n]) >= p.window {
			n++
		}
		p.sent = p.sent[n:]
		if len(p.sent) < p.limit {
			p.sent = append(p.sent, now)
			p.mu.Unlock()
			return p.base.RoundTrip(req)
		}
		wait := p.sent[0].Add(p.window).Sub(now)
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		case <-t.C:
		}
	}
}
