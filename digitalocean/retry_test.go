package digitalocean_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
	"github.com/digitalocean/godo"
)

const unavailableMsg = "DigitalOcean is not answering right now; try again in a minute."

func TestListDropletsRetries(t *testing.T) {
	s := time.Second
	tests := []struct {
		name         string
		maxRetries   int
		inject       func(*dosim.Server)
		wantRequests int
		wantWaits    []time.Duration
		wantStatus   int // in the cause when the call fails; 0 for success
	}{
		{
			name:         "429 with Retry-After 1s, then ok",
			inject:       func(sim *dosim.Server) { sim.FailNext(1, http.StatusTooManyRequests, s) },
			wantRequests: 2, wantWaits: []time.Duration{s},
		},
		{
			name:         "500 twice, then ok",
			inject:       func(sim *dosim.Server) { sim.FailNext(2, http.StatusInternalServerError, 0) },
			wantRequests: 3, wantWaits: []time.Duration{s / 2, s},
		},
		{
			name:         "503 with Retry-After 2s, then ok",
			inject:       func(sim *dosim.Server) { sim.FailNext(1, http.StatusServiceUnavailable, 2*s) },
			wantRequests: 2, wantWaits: []time.Duration{2 * s},
		},
		{
			name: "429 with the hourly budget spent waits for ratelimit-reset",
			inject: func(sim *dosim.Server) {
				sim.InjectFault(1, dosim.Fault{Status: http.StatusTooManyRequests, ResetAfter: 3 * s})
			},
			wantRequests: 2, wantWaits: []time.Duration{3 * s},
		},
		{
			name:         "502 from the edge in HTML, then ok",
			inject:       func(sim *dosim.Server) { sim.FailNext(1, http.StatusBadGateway, 0) },
			wantRequests: 2, wantWaits: []time.Duration{s / 2},
		},
		{
			name:         "dropped connection, then ok",
			inject:       func(sim *dosim.Server) { sim.InjectFault(1, dosim.Fault{Drop: true}) },
			wantRequests: 2, wantWaits: []time.Duration{s / 2},
		},
		{
			name:         "backoff is capped",
			maxRetries:   6,
			inject:       func(sim *dosim.Server) { sim.FailNext(6, http.StatusInternalServerError, 0) },
			wantRequests: 7, wantWaits: []time.Duration{s / 2, s, 2 * s, 4 * s, 8 * s, 8 * s},
		},
		{
			name:         "persistent 503 gives up",
			maxRetries:   3,
			inject:       func(sim *dosim.Server) { sim.FailNext(100, http.StatusServiceUnavailable, 0) },
			wantRequests: 4, wantWaits: []time.Duration{s / 2, s, 2 * s},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name:         "no retries when disabled",
			maxRetries:   -1,
			inject:       func(sim *dosim.Server) { sim.FailNext(1, http.StatusInternalServerError, 0) },
			wantRequests: 1, wantWaits: nil,
			wantStatus: http.StatusInternalServerError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{MaxRetries: tt.maxRetries})
			e.seed(3, "s", "cicf")
			tt.inject(e.sim)

			got, err := e.client.ListDroplets(context.Background(), "cicf")

			if n := e.sim.Requests(); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
			if w := e.clock.Waits(); !slices.Equal(w, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", w, tt.wantWaits)
			}
			// The simulator saw the waits: each retry arrived that much later.
			log := e.sim.RequestLog()
			for i := 1; i < len(log) && i <= len(tt.wantWaits); i++ {
				if gap := log[i].At.Sub(log[i-1].At); gap < tt.wantWaits[i-1] {
					t.Errorf("request %d came %v after the one before, want at least %v", i+1, gap, tt.wantWaits[i-1])
				}
			}
			if strings.Contains(e.logs.String(), token) {
				t.Errorf("the debug log contains the token:\n%s", e.logs)
			}
			if len(tt.wantWaits) > 0 && !strings.Contains(e.logs.String(), "digitalocean: retrying") {
				t.Errorf("the debug log shows no retry:\n%s", e.logs)
			}
			if tt.wantStatus == 0 {
				if err != nil || len(got) != 3 {
					t.Fatalf("ListDroplets(cicf) = %d droplets, %v; want 3, nil", len(got), err)
				}
				return
			}
			if code, msg := tasks.ErrorCode(err), tasks.ErrorMessage(err); code != tasks.EUNAVAILABLE || msg != unavailableMsg {
				t.Errorf("ListDroplets(cicf) error %q %q, want %q %q", code, msg, tasks.EUNAVAILABLE, unavailableMsg)
			}
			er, ok := errors.AsType[*godo.ErrorResponse](err)
			if !ok || er.Response.StatusCode != tt.wantStatus {
				t.Errorf("ListDroplets(cicf) error %v, want a *godo.ErrorResponse with status %d in its chain", err, tt.wantStatus)
			}
		})
	}
}

// TestListDropletsDeadline checks that a wait longer than the time left is
// not started: the call returns before its deadline.
func TestListDropletsDeadline(t *testing.T) {
	t.Run("caller's deadline, real sleep", func(t *testing.T) {
		e := MustEnv(t, digitalocean.Config{})
		e.client = digitalocean.New(digitalocean.Config{Token: token, BaseURL: e.sim.URL()}) // real clock and sleep
		e.sim.FailNext(1, http.StatusTooManyRequests, time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		_, err := e.client.ListDroplets(ctx, "cicf")

		if ctx.Err() != nil {
			t.Errorf("ListDroplets returned only after the caller's deadline; want at once")
		}
		if code := tasks.ErrorCode(err); code != tasks.EUNAVAILABLE {
			t.Errorf("ListDroplets error %v, want %s", err, tasks.EUNAVAILABLE)
		}
		if er, ok := errors.AsType[*godo.ErrorResponse](err); !ok || er.Response.StatusCode != http.StatusTooManyRequests {
			t.Errorf("ListDroplets error %v, want the 429 as its cause", err)
		}
		if n := e.sim.Requests(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("Config.CallTimeout", func(t *testing.T) {
		e := MustEnv(t, digitalocean.Config{
			CallTimeout: 5 * time.Second,
			Sleep: func(ctx context.Context, d time.Duration) error {
				t.Errorf("slept %v with less than 5s left", d)
				return nil
			},
		})
		e.sim.FailNext(1, http.StatusServiceUnavailable, 30*time.Second)
		if _, err := e.client.ListDroplets(context.Background(), "cicf"); tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
			t.Errorf("ListDroplets error %v, want %s", err, tasks.EUNAVAILABLE)
		}
	})
	t.Run("hanging API", func(t *testing.T) {
		// Each attempt gives up after Timeout; a GET is tried again, up to
		// MaxRetries, and then the call fails.
		e := MustEnv(t, digitalocean.Config{Timeout: 100 * time.Millisecond, MaxRetries: 2})
		e.sim.SetLatency(time.Minute)
		_, err := e.client.ListDroplets(context.Background(), "cicf")
		if tasks.ErrorCode(err) != tasks.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ListDroplets error %v, want %s caused by context.DeadlineExceeded", err, tasks.EUNAVAILABLE)
		}
		if w := e.clock.Waits(); len(w) != 2 {
			t.Errorf("waits = %v, want 2 (one before each retry)", w)
		}
	})
}

func TestListDropletsUnreachable(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{MaxRetries: 2})
	e.sim.Close() // nothing listens there any more

	_, err := e.client.ListDroplets(context.Background(), "cicf")

	if code, msg := tasks.ErrorCode(err), tasks.ErrorMessage(err); code != tasks.EUNAVAILABLE || msg != unavailableMsg {
		t.Errorf("ListDroplets error %q %q (%v), want %q %q", code, msg, err, tasks.EUNAVAILABLE, unavailableMsg)
	}
	if w := e.clock.Waits(); !slices.Equal(w, []time.Duration{time.Second / 2, time.Second}) {
		t.Errorf("waits = %v, want [500ms 1s] (refused dials are retried)", w)
	}
}
