// Package dosim is an in-process stand-in for the DigitalOcean v2 HTTP API.
//
// It speaks the wire format the real API speaks (JSON shapes, pagination
// links, error bodies, rate-limit headers, 401/404/429/5xx), so the bot's
// adapter is exercised through the real godo client. Tests and the
// `cicf-bot demo` command use it; it never talks to the network beyond its
// own loopback listener.
//
// Each resource lives in its own file (droplets.go, droplet_create.go,
// actions.go, domains.go, sizes.go) and registers its routes in routes; the
// shared plumbing (auth, rate budget, faults, latency, request log) wraps
// every route in serveHTTP.
//
// Time passes lazily: a droplet boots, an action completes and a deleted
// droplet disappears when a request or an inspection method finds that
// Options.Now has passed the moment, so a fake clock drives them and the
// server runs no goroutine besides its listener.
package dosim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable: any bearer token is
// accepted, DO's default rate budget applies, there is no added latency, and
// droplets boot, act and disappear without delay.
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
	// Now is the server's clock for rate windows, timestamps, the request
	// log and the delays below (default time.Now). Tests share a fake clock
	// with the client.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger

	// BootDelay is how long a created droplet stays "new" before it turns
	// "active" and shows its addresses (default 0: at the next request).
	BootDelay time.Duration
	// ActionDelay is how long a droplet action stays "in-progress" before
	// it completes and changes the droplet's status (default 0).
	ActionDelay time.Duration
	// DeleteDelay is how long a deleted droplet stays visible (default 0).
	DeleteDelay time.Duration
	// TimeScale multiplies every duration the server waits or counts:
	// BootDelay, ActionDelay, DeleteDelay, Latency and SetLatency, and the
	// rate-limit minute and hour. Default 1; 0.01 runs 100 times faster.
	// Retry-After stays in whole seconds (at least 1), as DO sends it, so a
	// client under compression waits longer than it needs to.
	TimeScale float64
	// AssignIP picks the public addresses of a created droplet, shown once
	// it is active. It is called once per create, outside the server's lock,
	// before the create is answered. Default: 198.18.x.y and 2001:db8::x.
	// IPv6 is dropped when the create did not ask for it.
	AssignIP func(name string, id int) (ipv4, ipv6 string)
	// OnCreate is called with each accepted create, outside the server's
	// lock, before the create is answered.
	OnCreate func(DropletInfo)
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

	mu           sync.Mutex
	latency      time.Duration
	log          []Request
	counts       map[string]int // by route pattern
	faults       []pendingFault
	limit        limiter
	nextID       int
	nextAddr     int
	droplets     map[int]*droplet
	deleting     int // droplets with deleteAt set
	nextActionID int
	actions      map[int]*action
	running      []*action // in progress, for settle
	nextRecordID int
	domains      map[string]*zone
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
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("dosim: listen on loopback: %v", err))
	}
	s := &Server{
		opts:   opts,
		url:    "http://" + ln.Addr().String() + "/",
		mux:    http.NewServeMux(),
		done:   make(chan struct{}),
		counts: map[string]int{},
		limit: limiter{
			perMinute: opts.RatePerMinute, perHour: opts.RatePerHour,
			minute: scale(time.Minute, opts.TimeScale), hour: scale(time.Hour, opts.TimeScale),
		},
		nextID:       500000001,
		droplets:     map[int]*droplet{},
		nextActionID: 2000000001,
		actions:      map[int]*action{},
		nextRecordID: 300000001,
		domains:      map[string]*zone{},
	}
	s.latency = s.scaled(opts.Latency)
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
	s.mux.HandleFunc("POST /v2/droplets", s.createDroplet)
	s.mux.HandleFunc("GET /v2/droplets/{id}", s.getDroplet)
	s.mux.HandleFunc("DELETE /v2/droplets/{id}", s.deleteDroplet)
	s.mux.HandleFunc("POST /v2/droplets/{id}/actions", s.postDropletAction)
	s.mux.HandleFunc("GET /v2/droplets/{id}/actions", s.listDropletActions)
	s.mux.HandleFunc("GET /v2/actions/{id}", s.getAction)
	s.mux.HandleFunc("GET /v2/domains/{domain}/records", s.listRecords)
	s.mux.HandleFunc("POST /v2/domains/{domain}/records", s.createRecord)
	s.mux.HandleFunc("GET /v2/domains/{domain}/records/{id}", s.getRecord)
	s.mux.HandleFunc("PUT /v2/domains/{domain}/records/{id}", s.updateRecord)
	s.mux.HandleFunc("PATCH /v2/domains/{domain}/records/{id}", s.updateRecord)
	s.mux.HandleFunc("DELETE /v2/domains/{domain}/records/{id}", s.deleteRecord)
	s.mux.HandleFunc("GET /v2/sizes", s.listSizes)
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

// SetLatency changes the delay added to every request from now on; it is
// multiplied by Options.TimeScale like Options.Latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = s.scaled(d)
}

// scaled applies Options.TimeScale to d.
func (s *Server) scaled(d time.Duration) time.Duration { return scale(d, s.opts.TimeScale) }

func scale(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }

// serveHTTP runs the pipeline every request goes through, in the order the
// real service applies it: network delay, upstream faults (a load balancer
// answers before auth), authentication, the per-token rate budget, then the
// resource handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	s.mu.Lock()
	idx := len(s.log)
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Pattern: pattern, Query: cloneValues(r.URL.Query()), At: s.opts.Now()})
	s.counts[pattern]++
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
	f, faulty := s.takeFault(r)
	if faulty && !f.AnswerLost {
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
	if pattern == "" {
		writeError(rec, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	// Droplets boot, actions finish and deletions land lazily, by the
	// clock, so a fake clock moves them and no goroutine needs an owner.
	s.mu.Lock()
	s.settle(s.opts.Now())
	s.mu.Unlock()
	if faulty { // AnswerLost: act, then lose the answer
		s.mux.ServeHTTP(&discardWriter{header: http.Header{}}, r)
		s.writeFault(rec, r, f)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// discardWriter takes an answer nobody will see.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

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
