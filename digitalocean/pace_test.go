package digitalocean_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// TestRateBudget runs 300 calls from 8 goroutines on the real clock against
// a simulator whose minute is compressed to window, and counts the 429s it
// sent. The client's window is compressed alike.
func TestRateBudget(t *testing.T) {
	tests := []struct {
		name      string
		perMinute int
		window    time.Duration
		want429   bool
	}{
		// A 1s window: pacing engages above 230 calls a second, and 43ms
		// of jitter between a send and its arrival stays within the 10
		// requests between 240 and 250.
		{"paced at 240", 240, time.Second, false},
		// Without pacing the same calls overrun the budget, so the case
		// above proves something. The longer window keeps this certain on
		// a slow machine; the calls stop at the first refusal.
		{"unpaced, for contrast", -1, 2 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := dosim.New(dosim.Options{Token: token, RatePerMinute: 250, TimeScale: float64(tt.window) / float64(time.Minute)})
			t.Cleanup(sim.Close)
			sim.AddDomain(domain)
			id := sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}})
			tr := &http.Transport{MaxIdleConnsPerHost: 8}
			t.Cleanup(tr.CloseIdleConnections)
			var paced atomic.Int64
			c := digitalocean.New(digitalocean.Config{
				Token: token, BaseURL: sim.URL(), Transport: tr, MaxRetries: -1,
				RatePerMinute: tt.perMinute, RateWindow: tt.window,
				Sleep: func(ctx context.Context, d time.Duration) error {
					paced.Add(1)
					timer := time.NewTimer(d)
					defer timer.Stop()
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-timer.C:
						return nil
					}
				},
			})
			calls := []func(ctx context.Context) error{
				func(ctx context.Context) error { _, err := c.GetDroplet(ctx, id); return err },
				func(ctx context.Context) error { _, err := c.ListRecords(ctx, domain, "emma"); return err },
				func(ctx context.Context) error { _, err := c.Sizes(ctx); return err },
			}

			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			jobs := make(chan int)
			var failed atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for i := range jobs {
						if err := calls[i%len(calls)](ctx); err != nil {
							failed.Add(1)
							stop()
						}
					}
				})
			}
			for i := range 300 {
				jobs <- i
			}
			close(jobs)
			wg.Wait()

			log := sim.RequestLog()
			n429 := 0
			for _, r := range log {
				if r.Status == http.StatusTooManyRequests {
					n429++
				}
			}
			t.Logf("%d requests, %d answered 429, %d waits for the budget", len(log), n429, paced.Load())
			switch {
			case tt.want429 && n429 == 0:
				t.Errorf("no 429 among %d unpaced requests; the paced case proves nothing", len(log))
			case !tt.want429 && (n429 > 0 || failed.Load() > 0 || len(log) != 300):
				t.Errorf("%d of %d requests answered 429 and %d calls failed, want 300 requests, none refused", n429, len(log), failed.Load())
			}
		})
	}
}

// TestRateBudgetBound checks the bound itself on the fake clock: no minute
// of the simulator's log holds more than RatePerMinute requests.
func TestRateBudgetBound(t *testing.T) {
	const perMinute = 48
	e := MustEnv(t, digitalocean.Config{RatePerMinute: perMinute})
	for range 150 {
		if _, err := e.client.ListDroplets(context.Background(), "cicf"); err != nil {
			t.Fatalf("ListDroplets error: %v", err)
		}
	}
	log := e.sim.RequestLog()
	for i, r := range log {
		inMinute := 0
		for _, o := range log[:i+1] {
			if o.At.After(r.At.Add(-time.Minute)) {
				inMinute++
			}
		}
		if inMinute > perMinute {
			t.Fatalf("request %d: %d requests in the minute up to it, want at most %d", i+1, inMinute, perMinute)
		}
	}
	if n := len(e.clock.Waits()); n == 0 {
		t.Errorf("no waits for 150 requests at %d a minute", perMinute)
	}
	if got := e.sim.Counts()["GET /v2/droplets"]; got != 150 {
		t.Errorf("%d requests, want 150", got)
	}
}

// TestRateHold checks that a 429 holds the next call too, not only the
// call that got it.
func TestRateHold(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{MaxRetries: -1})
	e.sim.FailNext(1, http.StatusTooManyRequests, 5*time.Second)
	ctx := context.Background()
	if _, err := e.client.ListDroplets(ctx, "cicf"); tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
		t.Fatalf("ListDroplets answered 429 without retries: %v, want %s", err, tasks.EUNAVAILABLE)
	}
	if _, err := e.client.ListDroplets(ctx, "cicf"); err != nil {
		t.Fatalf("ListDroplets after the 429: %v", err)
	}
	if w := e.clock.Waits(); !slices.Equal(w, []time.Duration{5 * time.Second}) {
		t.Errorf("waits = %v, want [5s] before the second call", w)
	}
}

// TestRateBudgetDeadline checks that a call whose budget slot comes after
// its deadline fails at once, without sending anything.
func TestRateBudgetDeadline(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{RatePerMinute: 2}) // one at once, then one a minute
	ctx := context.Background()
	if _, err := e.client.ListDroplets(ctx, "cicf"); err != nil {
		t.Fatalf("first ListDroplets: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()

	_, err := e.client.ListDroplets(ctx, "cicf")

	if tasks.ErrorCode(err) != tasks.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ListDroplets with no slot before the deadline: %v, want %s caused by context.DeadlineExceeded", err, tasks.EUNAVAILABLE)
	}
	if ctx.Err() != nil {
		t.Errorf("ListDroplets returned only after its deadline; want at once")
	}
	if n := e.sim.Requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if w := e.clock.Waits(); len(w) != 0 {
		t.Errorf("waits = %v, want none", w)
	}
}

func TestCreateRetriedOn429(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	e.sim.FailNext(1, http.StatusTooManyRequests, 2*time.Second)

	d, err := e.client.CreateDroplet(context.Background(), emmaCreate())

	if err != nil {
		t.Fatalf("CreateDroplet after a 429: %v", err)
	}
	if got := statuses(e.requests("POST /v2/droplets")); !slices.Equal(got, []int{429, 202}) {
		t.Errorf("POST statuses %v, want [429 202]", got)
	}
	if w := e.clock.Waits(); !slices.Equal(w, []time.Duration{2 * time.Second}) {
		t.Errorf("waits = %v, want [2s] as Retry-After said", w)
	}
	if ds := e.sim.Droplets(); len(ds) != 1 || ds[0].ID != d.ID {
		t.Errorf("droplets stored %+v, want exactly %d", ds, d.ID)
	}
	if ud := e.sim.UserData(d.ID); ud != secretUserData {
		t.Errorf("user_data after the retry = %q, want the request's (body replayed)", ud)
	}
}

// TestCreateNotRetried checks that a POST that may have reached the API is
// sent once: a retry could create a second droplet.
func TestCreateNotRetried(t *testing.T) {
	tests := []struct {
		name       string
		fault      dosim.Fault
		wantStatus int // logged; 0 for a dropped connection
	}{
		{"500", dosim.Fault{Status: http.StatusInternalServerError}, 500},
		{"502 from the edge", dosim.Fault{Status: http.StatusBadGateway}, 502},
		{"503 with Retry-After", dosim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second}, 503},
		{"dropped connection", dosim.Fault{Drop: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{})
			e.sim.InjectFault(1, tt.fault)

			_, err := e.client.CreateDroplet(context.Background(), emmaCreate())

			if code := tasks.ErrorCode(err); code != tasks.EUNAVAILABLE {
				t.Errorf("CreateDroplet error code %q (%v), want %q", code, err, tasks.EUNAVAILABLE)
			}
			if got := statuses(e.requests("POST /v2/droplets")); !slices.Equal(got, []int{tt.wantStatus}) {
				t.Errorf("POST statuses %v, want exactly one, %d", got, tt.wantStatus)
			}
			if w := e.clock.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}
