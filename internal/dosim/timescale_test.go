package dosim_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// TestTimeScaleRate checks that TimeScale shortens the rate-limit minute
// and hour alike.
func TestTimeScaleRate(t *testing.T) {
	clock := newFakeClock()
	s := MustServer(t, dosim.Options{Token: token, RatePerMinute: 3, TimeScale: 0.01, Now: clock.Now})
	start := clock.Now()
	for i := range 3 {
		resp, _ := get(t, s, token, "v2/droplets")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i+1, resp.StatusCode)
		}
		if got, want := resp.Header.Get("ratelimit-reset"), strconv.FormatInt(start.Add(36*time.Second).Unix(), 10); got != want {
			t.Errorf("request %d: ratelimit-reset %s, want %s (an hour is 36s)", i+1, got, want)
		}
		clock.Advance(100 * time.Millisecond)
	}
	resp, _ := get(t, s, token, "v2/droplets")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request in a 600ms minute: status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (whole seconds, at least 1)", got)
	}
	clock.Advance(300 * time.Millisecond) // the first request leaves the minute
	if resp, _ := get(t, s, token, "v2/droplets"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the compressed minute: status %d, want 200", resp.StatusCode)
	}
}
