package testclock

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
	c := New(start)
	if got := c.Now(); !got.Equal(start) || got.Location() != start.Location() {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	// Advancing from many goroutines adds up (and is race-free under -race).
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			c.Advance(time.Second)
			_ = c.Now()
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("after 10 x Advance(1s): Now() = %v, want %v", got, want)
	}
}
