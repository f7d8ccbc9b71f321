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
	cache := tasks.NewDropletCache(env.fleet.Droplets)
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
