package dosim_test

import (
	"net/http"
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
	spend(t, s, clock, 3, 100*time.Millisecond, start.Add(36*time.Second)) // an hour is 36s
	resp, _ := mustLimit(t, s, "4th request in a 600ms minute")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (whole seconds, at least 1)", got)
	}
	clock.Advance(300 * time.Millisecond) // the first request leaves the minute
	if resp, _ := get(t, s, token, "v2/droplets"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the compressed minute: status %d, want 200", resp.StatusCode)
	}
}
