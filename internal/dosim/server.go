// Package dosim is an in-process stand-in for the DigitalOcean v2 HTTP API.
//
// It speaks the wire format the real API speaks (JSON shapes, pagination
// links, error bodies, rate-limit headers, 401/404/429/5xx), so the bot's
// adapter is exercised through the real godo client. Tests and the
// `cicf-bot demo` command use it; it never talks to the network beyond its
// own loopback listener.
//
// Each resource lives in its own file (droplets.go, …) and registers its
// routes in routes; the shared plumbing (auth, rate budget, faults, latency,
// request log) wraps every route in serveHTTP.
package dosim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable: any bearer token is
// accepted, DO's default rate budget applies, and there is no added latency.
type Options struct {
	// Token is the only bearer token accepted. Empty accepts any non-empty
	// token (a missing Authorization header is still a 401).
	Token string
	// RatePerMinute is the burst budget per sliding minute (default 250, like DO).
	RatePerMinute int
	// RatePerHour is the budget reported in the ratelimit-* headers (default 5000).
	RatePerHour int
	// Latency delays every request before it is handled.
	Latency time.Duration
	// Now is the server's clock for rate windows, timestamps and the request
	// log (default time.Now). Tests share a fake clock with the client.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// Request is one entry of the request log. It never holds the token.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	At     time.Time // by Options.Now, when the request arrived
	Status int       // status sent; 0 if the connection was dropped
}

// Server is a running DigitalOcean API stand-in. Its methods are safe for
// concurrent use.
type Server struct {
	opts  Options
	url   string
	srv   *http.Server
	mux   *http.ServeMux
	done  chan struct{} // closed when Serve returns
	close sync.Once

	mu       sync.Mutex
	latency  time.Duration
	log      []Request
	faults   []pendingFault
	limit    limiter
	nextID   int
	droplets map[int]*droplet
}

// New starts a Server on 127.0.0.1 with an ephemeral port. Like
// httptest.NewServer, it panics if it cannot listen on loopback, since
// nothing useful can follow.
func New(opts Options) *Server {
	if opts.RatePerMinute <= 0 {
		opts.RatePerMinute = 250
	}
	if opts.RatePerHour <= 0 {
		opts.RatePerHour = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("dosim: listen on loopback: %v", err))
	}
	s := &Server{
		opts:     opts,
		url:      "http://" + ln.Addr().String() + "/",
		mux:      http.NewServeMux(),
		done:     make(chan struct{}),
		latency:  opts.Latency,
		limit:    limiter{perMinute: opts.RatePerMinute, perHour: opts.RatePerHour},
		nextID:   500000001,
		droplets: map[int]*droplet{},
	}
	s.routes()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("dosim serve", "err", err)
		}
	}()
	return s
}

// routes registers every resource. A later resource adds its lines here and
// its handlers in a file of its own.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /v2/droplets", s.listDroplets)
	s.mux.HandleFunc("GET /v2/droplets/{id}", s.getDroplet)
}

// URL returns the base URL with a trailing slash, for godo.SetBaseURL.
func (s *Server) URL() string { return s.url }

// Close stops the server, drops open connections and waits for it to exit.
// It is safe to call more than once.
func (s *Server) Close() {
	s.close.Do(func() {
		_ = s.srv.Close()
		<-s.done
	})
}

// SetLatency changes the delay added to every request from now on.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
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

// serveHTTP runs the pipeline every request goes through, in the order the
// real service applies it: network delay, upstream faults (a load balancer
// answers before auth), authentication, the per-token rate budget, then the
// resource handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	idx := len(s.log)
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: cloneValues(r.URL.Query()), At: s.opts.Now()})
	latency := s.latency
	s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.log[idx].Status = rec.status
		s.mu.Unlock()
		s.opts.Logger.Debug("dosim request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
	}()

	if latency > 0 && !sleepCtx(r.Context(), latency) {
		return // the client gave up
	}
	rec.Header().Set("X-Request-Id", newRequestID())
	if f, ok := s.takeFault(); ok {
		s.writeFault(rec, r, f)
		return
	}
	if !s.authorized(r) {
		s.setRateHeaders(rec, s.peekRate())
		writeError(rec, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you")
		return
	}
	s.mu.Lock()
	ok, retryAfter, st := s.limit.admit(s.opts.Now())
	s.mu.Unlock()
	s.setRateHeaders(rec, st)
	if !ok {
		rec.Header().Set("Retry-After", retryAfterValue(retryAfter))
		writeError(rec, http.StatusTooManyRequests, "too_many_requests", "API Rate limit exceeded.")
		return
	}
	// Handler only looks the route up; ServeHTTP also sets r.PathValue.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) authorized(r *http.Request) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return false
	}
	return s.opts.Token == "" || h[len(prefix):] == s.opts.Token
}

func (s *Server) peekRate() rateState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit.state(s.opts.Now())
}

func (s *Server) setRateHeaders(w http.ResponseWriter, st rateState) {
	h := w.Header()
	h.Set("Ratelimit-Limit", fmt.Sprint(st.limit))
	h.Set("Ratelimit-Remaining", fmt.Sprint(st.remaining))
	h.Set("Ratelimit-Reset", fmt.Sprint(unixCeil(st.reset)))
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
