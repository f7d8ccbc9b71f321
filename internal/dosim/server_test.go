package dosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/testclock"
)

const token = "dop_v1_test"

// newFakeClock returns a clock tests move by hand.
func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
}

// MustServer starts a server with opts and closes it when the test ends.
func MustServer(tb testing.TB, opts dosim.Options) *dosim.Server {
	tb.Helper()
	s := dosim.New(opts)
	tb.Cleanup(s.Close)
	return s
}

// get sends GET path (relative to the server) with the bearer token tok
// ("" for none) and returns the response with its body read.
func get(tb testing.TB, s *dosim.Server, tok, path string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, body
}

type errorBody struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

func decodeError(tb testing.TB, body []byte) errorBody {
	tb.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Fatalf("error body %q: %v", body, err)
	}
	return e
}

func TestAuth(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	tests := []struct {
		name       string
		token      string
		wantStatus int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "dop_v1_other", http.StatusUnauthorized},
		{"right", token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s, tt.token, "v2/droplets")
			if got := resp.StatusCode; got != tt.wantStatus {
				t.Fatalf("GET with %s token: status %d, want %d (body %s)", tt.name, got, tt.wantStatus, body)
			}
			for _, h := range []string{"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("GET with %s token: no %s header", tt.name, h)
				}
			}
			if tt.wantStatus != http.StatusUnauthorized {
				return
			}
			e := decodeError(t, body)
			if e.ID != "unauthorized" || e.Message != "Unable to authenticate you" {
				t.Errorf("401 body = %+v, want id unauthorized and DO's message", e)
			}
			if e.RequestID != resp.Header.Get("x-request-id") {
				t.Errorf("401 request_id = %q, want the X-Request-Id header %q", e.RequestID, resp.Header.Get("x-request-id"))
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	id := s.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud"})
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"v2/droplets/" + strconv.Itoa(id), http.StatusOK},
		{"v2/droplets/" + strconv.Itoa(id+1), http.StatusNotFound},
		{"v2/droplets/emma", http.StatusNotFound},
		{"v2/nothing-here", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, s, token, tt.path)
			if got := resp.StatusCode; got != tt.wantStatus {
				t.Fatalf("GET %s: status %d, want %d", tt.path, got, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q, want JSON", tt.path, got)
			}
			if tt.wantStatus == http.StatusNotFound {
				e := decodeError(t, body)
				if e.ID != "not_found" || e.Message != "The resource you were accessing could not be found." {
					t.Errorf("GET %s: body %+v, want DO's not_found", tt.path, e)
				}
			}
		})
	}
}

func TestRateBudget(t *testing.T) {
	clock := newFakeClock()
	s := MustServer(t, dosim.Options{Token: token, RatePerMinute: 3, RatePerHour: 10, Now: clock.Now})
	start := clock.Now()

	// ratelimit-reset is the first request + 1h.
	remaining := spend(t, s, clock, 3, 10*time.Second, start.Add(time.Hour))
	if want := []string{"9", "8", "7"}; !slices.Equal(remaining, want) {
		t.Errorf("ratelimit-remaining = %q, want %q", remaining, want)
	}

	// The fourth request within the minute is over the burst budget; the
	// first leaves the window 60s after it was made, i.e. in 30s.
	resp, body := mustLimit(t, s, "4th request in a minute")
	if got := resp.Header.Get("Retry-After"); got != "30" {
		t.Errorf("429 Retry-After = %q, want 30", got)
	}
	if e := decodeError(t, body); e.ID != "too_many_requests" {
		t.Errorf("429 body id = %q, want too_many_requests", e.ID)
	}

	clock.Advance(30 * time.Second)
	if resp, _ := get(t, s, token, "v2/droplets"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after Retry-After: status %d, want 200", resp.StatusCode)
	}
	if got, want := s.Requests(), 5; got != want {
		t.Errorf("Requests() = %d, want %d", got, want)
	}
}

func TestHourlyBudget(t *testing.T) {
	clock := newFakeClock()
	s := MustServer(t, dosim.Options{Token: token, RatePerHour: 2, Now: clock.Now})
	start := clock.Now()
	spend(t, s, clock, 2, time.Minute, start.Add(time.Hour))
	resp, _ := mustLimit(t, s, "3rd request in an hour of 2")
	if got := resp.Header.Get("ratelimit-remaining"); got != "0" {
		t.Errorf("ratelimit-remaining = %s, want 0", got)
	}
	if got, want := resp.Header.Get("ratelimit-reset"), strconv.FormatInt(start.Add(time.Hour).Unix(), 10); got != want {
		t.Errorf("ratelimit-reset = %s, want %s", got, want)
	}
}

// spend sends n GETs of v2/droplets, moving clock on by step after each;
// each must answer 200 with ratelimit-reset at reset. It returns each
// answer's ratelimit-remaining.
func spend(t *testing.T, s *dosim.Server, clock *testclock.Clock, n int, step time.Duration, reset time.Time) []string {
	t.Helper()
	var remaining []string
	for i := range n {
		resp, _ := get(t, s, token, "v2/droplets")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i+1, resp.StatusCode)
		}
		if got, want := resp.Header.Get("ratelimit-reset"), strconv.FormatInt(reset.Unix(), 10); got != want {
			t.Errorf("request %d: ratelimit-reset %s, want %s", i+1, got, want)
		}
		remaining = append(remaining, resp.Header.Get("ratelimit-remaining"))
		clock.Advance(step)
	}
	return remaining
}

// mustLimit sends one more GET of v2/droplets, which must answer 429, and
// returns the answer and its body.
func mustLimit(t *testing.T, s *dosim.Server, what string) (*http.Response, []byte) {
	t.Helper()
	resp, body := get(t, s, token, "v2/droplets")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429", what, resp.StatusCode)
	}
	return resp, body
}

func TestFailNext(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	s.FailNext(2, http.StatusServiceUnavailable, 1500*time.Millisecond)
	s.FailNext(1, http.StatusBadGateway, 0)
	tests := []struct {
		wantStatus     int
		wantRetryAfter string
	}{
		{http.StatusServiceUnavailable, "2"},
		{http.StatusServiceUnavailable, "2"},
		{http.StatusBadGateway, ""},
		{http.StatusOK, ""},
	}
	for i, tt := range tests {
		resp, _ := get(t, s, token, "v2/droplets")
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("request %d: status %d, want %d", i+1, resp.StatusCode, tt.wantStatus)
		}
		if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
			t.Errorf("request %d: Retry-After %q, want %q", i+1, got, tt.wantRetryAfter)
		}
	}
	log := s.RequestLog()
	var got []int
	for _, r := range log {
		got = append(got, r.Status)
	}
	want := []int{503, 503, 502, 200}
	if len(got) != len(want) {
		t.Fatalf("logged statuses = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logged statuses = %v, want %v", got, want)
		}
	}
}

func TestInjectFaultReset(t *testing.T) {
	clock := newFakeClock()
	s := MustServer(t, dosim.Options{Token: token, Now: clock.Now})
	s.InjectFault(1, dosim.Fault{Status: http.StatusTooManyRequests, ResetAfter: 3 * time.Second})
	resp, _ := get(t, s, token, "v2/droplets")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "" {
		t.Errorf("Retry-After = %q, want none", got)
	}
	if got, want := resp.Header.Get("ratelimit-reset"), strconv.FormatInt(clock.Now().Unix()+3, 10); got != want {
		t.Errorf("ratelimit-reset = %s, want %s", got, want)
	}
	if got := resp.Header.Get("ratelimit-remaining"); got != "0" {
		t.Errorf("ratelimit-remaining = %s, want 0", got)
	}
}

func TestDrop(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	s.InjectFault(1, dosim.Fault{Drop: true})
	// A client of its own, so the drop hits a fresh connection that net/http
	// does not retry by itself.
	c := &http.Client{Transport: &http.Transport{}}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"v2/droplets", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET after Drop: status %d, want a connection error", resp.StatusCode)
	}
	if got := s.RequestLog()[0].Status; got != 0 {
		t.Errorf("logged status of a dropped request = %d, want 0", got)
	}
}

func TestCloseTwice(t *testing.T) {
	s := dosim.New(dosim.Options{})
	s.Close()
	s.Close()
	if _, err := http.Get(s.URL()); err == nil {
		t.Errorf("GET after Close succeeded, want a connection error")
	}
}
