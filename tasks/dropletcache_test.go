package tasks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

func TestDropletCacheSharesOneRequest(t *testing.T) {
	env := newTestEnv(t)
	env.useSim(t, dosim.New(dosim.Options{Token: "t", Latency: 50 * time.Millisecond}))
	env.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{classTag}})
	cache := tasks.NewDropletCache(env.fleet.Droplets, time.Now)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got, err := cache.List(context.Background(), classTag, time.Minute); err != nil || len(got) != 1 {
				t.Errorf("List = %d droplets, %v; want 1", len(got), err)
			}
		})
	}
	wg.Wait()
	if n := env.sim.Requests(); n != 1 {
		t.Errorf("20 concurrent lists sent %d requests, want 1", n)
	}
	// maxAge 0 always asks again.
	if _, err := cache.List(context.Background(), classTag, 0); err != nil {
		t.Fatal(err)
	}
	if n := env.sim.Requests(); n != 2 {
		t.Errorf("a fresh list sent %d requests in all, want 2", n)
	}
}

// TestDropletCacheAgesByItsClock moves the injected clock: a list is served
// from the cache while younger than maxAge, and asked again after.
func TestDropletCacheAgesByItsClock(t *testing.T) {
	env := newTestEnv(t)
	env.useSim(t, dosim.New(dosim.Options{Token: "t"}))
	env.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{classTag}})
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	cache := tasks.NewDropletCache(env.fleet.Droplets, func() time.Time { return now })
	for _, step := range []struct {
		advance time.Duration
		want    int // requests in all
	}{{0, 1}, {4 * time.Second, 1}, {999 * time.Millisecond, 1}, {time.Millisecond, 2}, {time.Second, 2}} {
		now = now.Add(step.advance)
		if _, err := cache.List(context.Background(), classTag, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if n := env.sim.Requests(); n != step.want {
			t.Fatalf("after +%s: %d requests in all, want %d", step.advance, n, step.want)
		}
	}
}
