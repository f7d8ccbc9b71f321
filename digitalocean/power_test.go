package digitalocean_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

func TestPowerDroplet(t *testing.T) {
	s := time.Second
	tests := []struct {
		name        string
		status      string // "" for no such droplet
		on          bool
		wantCode    string
		wantActions int             // POST /v2/droplets/{id}/actions
		wantWaits   []time.Duration // between action polls
		wantStatus  string
	}{
		{"off", "active", false, "", 1, []time.Duration{s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s}, "off"},
		{"on", "off", true, "", 1, []time.Duration{s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s}, "active"},
		{"already off", "off", false, "", 0, nil, "off"},
		{"already on", "active", true, "", 0, nil, "active"},
		{"still being created", "new", true, tasks.ECONFLICT, 0, nil, "new"},
		{"no such droplet", "", true, tasks.ENOTFOUND, 0, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Actions take 30s: polls after 1s, 3s, 7s, 15s and 23s see
			// them in progress (the waits capped at 8s), the one after 31s
			// sees them done.
			e := MustEnvSim(t, digitalocean.Config{}, dosim.Options{ActionDelay: 30 * time.Second})
			id := 777
			if tt.status != "" {
				id = e.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Status: tt.status, Tags: []string{"cicf"}})
			}

			err := e.client.PowerDroplet(context.Background(), id, tt.on)

			if code := tasks.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("PowerDroplet(%d, %v) error code %q (%v), want %q", id, tt.on, code, err, tt.wantCode)
			}
			if n := len(e.requests("POST /v2/droplets/{id}/actions")); n != tt.wantActions {
				t.Errorf("%d action requests, want %d", n, tt.wantActions)
			}
			if w := e.clock.Waits(); !slices.Equal(w, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", w, tt.wantWaits)
			}
			if n, want := len(e.requests("GET /v2/actions/{id}")), len(tt.wantWaits); n != want {
				t.Errorf("%d action polls, want %d", n, want)
			}
			if tt.wantStatus == "" {
				return
			}
			if got := e.sim.Droplets()[0].Status; got != tt.wantStatus {
				t.Errorf("droplet status after PowerDroplet = %q, want %q", got, tt.wantStatus)
			}
		})
	}
}

func TestPowerDropletBusy(t *testing.T) {
	e := MustEnvSim(t, digitalocean.Config{}, dosim.Options{ActionDelay: time.Hour})
	id := e.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}})
	// Another client starts an action and gives up waiting for it.
	other := digitalocean.New(digitalocean.Config{Token: token, BaseURL: e.sim.URL(), Now: e.clock.Now,
		Sleep: func(context.Context, time.Duration) error { return context.Canceled }})
	if err := other.PowerDroplet(context.Background(), id, false); tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
		t.Fatalf("PowerDroplet that gave up: %v, want %s", err, tasks.EUNAVAILABLE)
	}

	err := e.client.PowerDroplet(context.Background(), id, false)

	if code := tasks.ErrorCode(err); code != tasks.ECONFLICT {
		t.Errorf("PowerDroplet during another action: code %q (%v), want %q", code, err, tasks.ECONFLICT)
	}
}

// TestPowerDropletDeadline runs on the real clock: the action never
// finishes in the simulator's (fake, frozen) time, so only ctx ends the wait.
func TestPowerDropletDeadline(t *testing.T) {
	e := MustEnvSim(t, digitalocean.Config{}, dosim.Options{ActionDelay: time.Minute})
	id := e.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}})
	c := digitalocean.New(digitalocean.Config{Token: token, BaseURL: e.sim.URL(), PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	err := c.PowerDroplet(ctx, id, false)

	if tasks.ErrorCode(err) != tasks.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PowerDroplet past the deadline: %v, want %s caused by context.DeadlineExceeded", err, tasks.EUNAVAILABLE)
	}
	if n := len(e.requests("GET /v2/actions/{id}")); n < 2 {
		t.Errorf("%d action polls, want several", n)
	}
}
