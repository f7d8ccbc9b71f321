package slacksim

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// waitTimeout bounds every wait in these tests; a hang is a failure.
const waitTimeout = 10 * time.Second

// MustNew starts a Server whose log goes to the test log, and closes it
// when the test ends.
func MustNew(tb testing.TB, opts Options) *Server {
	tb.Helper()
	lw := &logWriter{tb: tb}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tb.Cleanup(lw.stop) // runs after Close, registered below
	s := New(opts)
	tb.Cleanup(s.Close)
	return s
}

// logWriter sends log lines to tb until stop, since testing panics on
// logging after a test has ended.
type logWriter struct {
	tb      testing.TB
	mu      sync.Mutex
	stopped bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.tb.Log(string(p[:len(p)-1]))
	}
	return len(p), nil
}

func (w *logWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}

// testClient is a real slack-go socket mode client running against a Server.
type testClient struct {
	api    *slack.Client
	sm     *socketmode.Client
	events chan socketmode.Event
	runErr chan error
}

// startClient runs a socket mode client with the server's tokens until the
// test ends.
func startClient(tb testing.TB, s *Server, opts ...socketmode.Option) *testClient {
	tb.Helper()
	return startClientWithTokens(tb, s, s.opts.BotToken, s.opts.AppToken, opts...)
}

func startClientWithTokens(tb testing.TB, s *Server, botToken, appToken string, opts ...socketmode.Option) *testClient {
	tb.Helper()
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
	c := &testClient{
		api:    api,
		sm:     socketmode.New(api, opts...),
		events: make(chan socketmode.Event, 100),
		runErr: make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.runErr <- c.sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-c.sm.Events:
				select {
				case c.events <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return c
}

// next returns the client's next event of type typ, skipping others.
func (c *testClient) next(tb testing.TB, typ socketmode.EventType) socketmode.Event {
	tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case e := <-c.events:
			if e.Type == typ {
				return e
			}
		case <-timeout.C:
			tb.Fatalf("no %s event within %v", typ, waitTimeout)
		}
	}
}

// ack acks the envelope of e and waits until s has recorded the ack of
// envelope id (the one the test sent); it returns what s recorded.
func (c *testClient) ack(tb testing.TB, s *Server, e socketmode.Event, id string) Ack {
	tb.Helper()
	if err := c.sm.Ack(*e.Request); err != nil {
		tb.Fatalf("Ack: %v", err)
	}
	a, err := s.WaitAck(testContext(tb), id)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// connect starts a client and waits for its hello.
func connect(tb testing.TB, s *Server, opts ...socketmode.Option) *testClient {
	tb.Helper()
	c := startClient(tb, s, opts...)
	c.next(tb, socketmode.EventTypeHello)
	return c
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}
