package dosim

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"time"
)

// Request is one entry of the request log. It never holds the token or a
// request body.
type Request struct {
	Method  string
	Path    string
	Pattern string // the route matched, e.g. "POST /v2/droplets/{id}/actions"; "" if none
	Query   url.Values
	At      time.Time // by Options.Now, when the request arrived
	Status  int       // status sent; 0 if the connection was dropped
}

// Requests returns how many requests the server has received, including
// rejected and faulted ones.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// RequestLog returns a copy of the request log, oldest first.
func (s *Server) RequestLog() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Query = cloneValues(r.Query)
		out[i] = r
	}
	return out
}

// Counts returns how many requests each route pattern received, rejected
// and faulted ones included, keyed like Request.Pattern ("" for requests
// that matched no route).
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack for dropped connections.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
