// Package slacksim is a stand-in for Slack that tests and benchmarks drive
// through the real slack-go client. It speaks Slack's protocols over loopback
// HTTP and WebSocket: the Web API methods the bot uses, response URLs, and
// socket mode (hello, envelopes, acks, pings and disconnects). Everything the
// client sends is recorded, and the Wait methods let a caller block until a
// call, response or ack arrives instead of sleeping.
//
// A test or benchmark points slack-go at the server and drives it:
//
//	sim := slacksim.New(slacksim.Options{})
//	defer sim.Close()
//	api := slack.New("xoxb-test", slack.OptionAPIURL(sim.APIURL()),
//		slack.OptionAppLevelToken("xapp-test"))
//	go socketmode.New(api).RunContext(ctx) // the bot, reading Events
//	if err := sim.WaitConnections(ctx, 1); err != nil { … }
//	id, err := sim.SendSlashCommand(ctx, slacksim.SlashCommand{UserID: "U1", Text: "status"})
//	ack, err := sim.WaitAck(ctx, id)        // ack.Latency
//	resp, err := sim.WaitResponse(ctx, id)  // what the bot posted to response_url
package slacksim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned by the Wait methods and senders once Close has been called.
var ErrClosed = errors.New("slacksim: server closed")

// ErrNoConnection is returned when an envelope is sent while no socket mode
// client is connected; real Slack shows the user "dispatch_failed" then.
var ErrNoConnection = errors.New("slacksim: no socket mode connection")

// Options configures a Server. The zero value is usable.
type Options struct {
	// AppToken is the app-level token apps.connections.open accepts. Default "xapp-test".
	AppToken string
	// BotToken is the bot token the other Web API methods accept. Default "xoxb-test".
	BotToken string

	// PingInterval is the time between WebSocket PINGs on each connection.
	// slack-go drops a connection that sees no PING for its maxPingInterval
	// (30 s unless socketmode.OptionPingInterval says otherwise), so keep this
	// well below that. Default 5 s.
	PingInterval time.Duration
	// AckTimeout is how long an envelope may wait for its ack before it is
	// recorded as timed out. Default 3 s, as on Slack.
	AckTimeout time.Duration
	// MaxRetries is how many times a timed-out envelope is sent again, with
	// retry_attempt and retry_reason "timeout". Default 0: Slack does not
	// retry slash commands or interactions, it shows the user an error.
	MaxRetries int
	// DisconnectGrace is how long Disconnect waits after the disconnect
	// message before closing the connection itself. Default 1 s.
	DisconnectGrace time.Duration

	// TeamID, TeamDomain, AppID and BotUserID identify the workspace and app.
	// Defaults "T0CICF", "cicf", "A1" and "U0BOT".
	TeamID     string
	TeamDomain string
	AppID      string
	BotUserID  string

	// Users are the workspace members users.info knows. A user who sends a
	// slash command is added automatically.
	Users []User

	// ChannelBurst, when above 0, limits chat.postMessage to one message per
	// second per channel with bursts of this many, answering 429 with
	// Retry-After beyond it, as Slack does. 0: no limit.
	ChannelBurst int

	// Logger receives the server's diagnostics. Default: discard.
	Logger *slog.Logger
}

// User is a workspace member as users.info reports it.
type User struct {
	ID       string
	Name     string
	RealName string
	IsAdmin  bool
	TZ       string
}

func (o Options) withDefaults() Options {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.AppToken, "xapp-test")
	def(&o.BotToken, "xoxb-test")
	def(&o.TeamID, "T0CICF")
	def(&o.TeamDomain, "cicf")
	def(&o.AppID, "A1")
	def(&o.BotUserID, "U0BOT")
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 3 * time.Second
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.DisconnectGrace <= 0 {
		o.DisconnectGrace = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is a running Slack stand-in. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	log      *slog.Logger
	baseURL  string // http://127.0.0.1:PORT
	http     *http.Server
	upgrader websocket.Upgrader

	done      chan struct{} // closed by Close
	kick      chan struct{} // wakes the ack-timeout loop when an envelope is sent
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	changed chan struct{} // closed and replaced whenever recorded state changes
	seq     int           // for trigger and view IDs
	lastTS  int64         // last message ts handed out, in microseconds
	calls   []Call
	limits  map[string]rateLimit
	// unreachable maps a channel or user ID to the error posting to it gets.
	unreachable map[string]string
	// dropped response_url keys: their POSTs lose the connection.
	dropped   map[string]bool
	users     map[string]User
	messages  map[string]bool      // channel+"/"+ts of messages chat.update may edit
	triggers  map[string]*trigger  // trigger_id → state
	hooks     map[string]*hook     // response URL key → state
	tickets   map[string]bool      // unused apps.connections.open tickets
	conns     []*wsConn            // connections that receive envelopes, oldest first
	hellos    int                  // hellos sent, ever
	envelopes map[string]*envelope // by envelope ID
	pending   map[string]*envelope // envelopes waiting for an ack within a deadline
	order     []string             // envelope IDs in send order
	acks      []Ack
	views     []View                    // opened with views.open, oldest first
	posted    []Message                 // chat.postMessage, in order
	buckets   map[string]*channelBucket // per channel, under ChannelBurst
}

// New starts a Server on 127.0.0.1 with a free port. Like httptest.NewServer
// it panics if it cannot listen, since no test can go on without it.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("slacksim: listen on loopback: %v", err))
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		baseURL: "http://" + ln.Addr().String(),
		upgrader: websocket.Upgrader{
			// slack-go sends Origin https://api.slack.com; any origin is fine here.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		done:        make(chan struct{}),
		kick:        make(chan struct{}, 1),
		changed:     make(chan struct{}),
		limits:      make(map[string]rateLimit),
		unreachable: make(map[string]string),
		dropped:     make(map[string]bool),
		users:       make(map[string]User),
		messages:    make(map[string]bool),
		triggers:    make(map[string]*trigger),
		hooks:       make(map[string]*hook),
		tickets:     make(map[string]bool),
		envelopes:   make(map[string]*envelope),
		pending:     make(map[string]*envelope),
		buckets:     make(map[string]*channelBucket),
	}
	for _, u := range opts.Users {
		s.users[u.ID] = u
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/response/", s.handleResponse)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	s.spawn(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("slacksim: serve", "err", err)
		}
	})
	s.spawn(s.runAckTimeouts)
	return s
}

// APIURL returns the Web API base URL, with the trailing slash
// slack.OptionAPIURL expects.
func (s *Server) APIURL() string { return s.baseURL + "/api/" }

// Close disconnects every client, stops the server and waits for all of its
// goroutines. Wait methods blocked at that time return ErrClosed.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := s.conns
		s.conns = nil
		s.mu.Unlock()

		close(s.done)
		// Hijacked WebSocket connections are not http.Server's to close.
		for _, c := range conns {
			c.close()
		}
		// Shutdown lets in-flight API requests finish, so that no handler
		// outlives Close; Close then ends any that hang.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.log.Warn("slacksim: shut down http server", "err", err)
			_ = s.http.Close()
		}
		s.wg.Wait()
	})
}

// spawn runs f in a goroutine that Close waits for; it reports false and does
// nothing once the server is closed, so no goroutine starts during Close.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait blocks until cond, called with s.mu held, reports true. It returns
// ctx.Err() or ErrClosed if those come first.
func (s *Server) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newEnvelopeID returns a UUID-shaped ID like Slack's envelope IDs.
func newEnvelopeID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// nextTSLocked returns a message timestamp ("1700000000.000100") that is
// unique and increasing, as Slack's are; s.mu must be held.
func (s *Server) nextTSLocked() string {
	us := time.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}
