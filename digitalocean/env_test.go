package digitalocean_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/syncbuf"
	"github.com/cicf/cicf-bot/tasks"
)

const token = "dop_v1_0123456789abcdef"

// fakeClock is shared by the simulator and the client: the client's Sleep
// moves it instead of sleeping, so the simulator's request log shows the
// waits without any test taking real time.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return nil
}

// Advance moves the clock without counting as a wait of the client's.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Waits returns the waits the client asked for, in order.
func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// testEnv is a simulator and a client wired to it through the real godo.
type testEnv struct {
	sim    *dosim.Server
	client *digitalocean.Client
	clock  *fakeClock
	logs   *syncbuf.Buffer // the client's debug log, unless cfg set a Logger
}

// MustEnv starts a simulator accepting token and a client for it. cfg may
// set anything; Token, BaseURL, Now, Sleep and Transport are filled in when
// empty, and Logger writes to testEnv.logs. Everything is closed when the
// test ends.
func MustEnv(tb testing.TB, cfg digitalocean.Config) *testEnv {
	tb.Helper()
	return MustEnvSim(tb, cfg, dosim.Options{})
}

// MustEnvSim is MustEnv with a simulator configured by opts; its Token and
// Now are filled in when empty.
func MustEnvSim(tb testing.TB, cfg digitalocean.Config, opts dosim.Options) *testEnv {
	tb.Helper()
	clock := newFakeClock()
	logs := &syncbuf.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Token == "" {
		opts.Token = token
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := dosim.New(opts)
	tb.Cleanup(sim.Close)
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = sim.URL()
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	if cfg.Transport == nil {
		// A transport per test keeps connections (and net/http's own
		// one-shot retry on a reused connection) out of other tests.
		tr := &http.Transport{}
		tb.Cleanup(tr.CloseIdleConnections)
		cfg.Transport = tr
	}
	return &testEnv{sim: sim, client: digitalocean.New(cfg), clock: clock, logs: logs}
}

// seed adds n droplets named pNN.cicf.cloud tagged tags.
func (e *testEnv) seed(n int, prefix string, tags ...string) {
	for i := range n {
		e.sim.AddDroplet(dosim.DropletSpec{
			Name: prefix + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".cicf.cloud",
			Tags: tags,
		})
	}
}

// requests returns the simulator's log entries for route pattern, e.g.
// "POST /v2/droplets".
func (e *testEnv) requests(pattern string) []dosim.Request {
	var out []dosim.Request
	for _, r := range e.sim.RequestLog() {
		if r.Pattern == pattern {
			out = append(out, r)
		}
	}
	return out
}

// statuses returns the status of each request.
func statuses(rs []dosim.Request) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

// waitStatus polls GetDroplet until the droplet has status want, moving the
// fake clock a second between polls, and returns it as last seen.
func (e *testEnv) waitStatus(tb testing.TB, id int, want string) *tasks.Droplet {
	tb.Helper()
	ctx := context.Background()
	for range 600 {
		d, err := e.client.GetDroplet(ctx, id)
		if err != nil {
			tb.Fatalf("GetDroplet(%d) error: %v", id, err)
		}
		if d.Status == want {
			return d
		}
		e.clock.Advance(time.Second)
	}
	tb.Fatalf("droplet %d not %s after 600 polls", id, want)
	return nil
}
