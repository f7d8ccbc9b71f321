package dosim

import (
	"net/http"
	"strings"
	"time"
)

// Fault is one injected failure, answered before authentication the way an
// overloaded edge or an outage answers.
type Fault struct {
	// Status is the HTTP status to send (default 500).
	Status int
	// RetryAfter, if positive, is sent as Retry-After in whole seconds (rounded up).
	RetryAfter time.Duration
	// ResetAfter, if positive, reports the hourly budget as spent:
	// ratelimit-remaining 0 and ratelimit-reset this long from now.
	ResetAfter time.Duration
	// Only, if set ("POST /v2/droplets"), limits the fault to requests with
	// that method and path; others pass it by.
	Only string
	// AnswerLost carries the request out first and only then answers with
	// the fault: the API acted, the client cannot know (a proxy that failed
	// on the way back).
	AnswerLost bool
	// Drop closes the connection without any answer, as a crashed proxy does;
	// Status and the headers are then ignored. net/http silently resends an
	// idempotent request once when a reused keep-alive connection drops, so a
	// test that counts requests should drop one sent on a fresh connection.
	Drop bool
}

type pendingFault struct {
	f    Fault
	left int
}

// FailNext makes the next n requests fail with status, sending Retry-After
// when retryAfter is positive. Calls queue up: their faults are served in
// order, after any already pending.
func (s *Server) FailNext(n int, status int, retryAfter time.Duration) {
	s.InjectFault(n, Fault{Status: status, RetryAfter: retryAfter})
}

// InjectFault makes the next n requests fail as f describes, after any faults
// already pending. n < 1 does nothing.
func (s *Server) InjectFault(n int, f Fault) {
	if n < 1 {
		return
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, pendingFault{f: f, left: n})
}

func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := s.faults[i].f
		if f.Only != "" && f.Only != r.Method+" "+r.URL.Path {
			continue
		}
		s.faults[i].left--
		if s.faults[i].left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
			return
		}
		// Hijacking is impossible (HTTP/2); the closest thing is a 502.
		f.Status = http.StatusBadGateway
	}
	st := s.peekRate()
	if f.ResetAfter > 0 {
		st.remaining = 0
		st.reset = s.opts.Now().Add(f.ResetAfter)
	}
	s.setRateHeaders(w, st)
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterValue(f.RetryAfter))
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		writeError(w, f.Status, "too_many_requests", "API Rate limit exceeded.")
	case http.StatusInternalServerError:
		writeError(w, f.Status, "server_error", "Server was unable to give you a response.")
	case http.StatusServiceUnavailable:
		writeError(w, f.Status, "service_unavailable", "The service is temporarily unavailable. Please try again later.")
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		// The edge answers these itself, in HTML rather than the API's JSON.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("<html><body><h1>" + http.StatusText(f.Status) + "</h1></body></html>\n"))
	default:
		id := strings.ToLower(strings.ReplaceAll(http.StatusText(f.Status), " ", "_"))
		writeError(w, f.Status, id, http.StatusText(f.Status))
	}
}
