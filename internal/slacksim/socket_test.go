package slacksim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestHello(t *testing.T) {
	s := MustNew(t, Options{})
	c := startClient(t, s)

	connected := c.next(t, socketmode.EventTypeConnected).Data.(*socketmode.ConnectedEvent)
	if got := connected.Info.URL; !strings.HasPrefix(got, "ws://127.0.0.1:") || !strings.Contains(got, "/link/?ticket=") {
		t.Errorf("connection URL = %q, want ws://127.0.0.1:PORT/link/?ticket=…", got)
	}
	hello := c.next(t, socketmode.EventTypeHello).Request
	if hello.NumConnections != 1 || hello.ConnectionInfo.AppID != "A1" || hello.DebugInfo.Host == "" {
		t.Errorf("hello = %+v, want num_connections 1, app_id A1 and a debug host", hello)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d, want 1", got)
	}
	if got := s.OpenConnections(); got != 1 {
		t.Errorf("OpenConnections() = %d, want 1", got)
	}
}

func TestDisconnectReconnects(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			// A long grace shows that slack-go leaves on its own.
			s := MustNew(t, Options{DisconnectGrace: time.Minute})
			c := connect(t, s)
			ctx := testContext(t)

			s.Disconnect(reason)
			if err := s.WaitConnections(ctx, 2); err != nil {
				t.Fatalf("after Disconnect(%q): %v", reason, err)
			}
			c.next(t, socketmode.EventTypeHello)
			if got := s.OpenConnections(); got != 1 {
				t.Errorf("OpenConnections() = %d after reconnect, want 1", got)
			}
			assertDelivers(t, s, c)
		})
	}
}

func TestDropConnectionReconnects(t *testing.T) {
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)

	s.DropConnection()
	if err := s.WaitConnections(ctx, 2); err != nil {
		t.Fatalf("after DropConnection: %v", err)
	}
	c.next(t, socketmode.EventTypeHello)
	assertDelivers(t, s, c)
}

// assertDelivers checks that a slash command reaches c and its ack is recorded.
func assertDelivers(t *testing.T, s *Server, c *testClient) {
	t.Helper()
	ctx := testContext(t)
	id, err := s.SendSlashCommand(ctx, SlashCommand{UserID: "U1", UserName: "ada", Text: "status"})
	if err != nil {
		t.Fatalf("SendSlashCommand: %v", err)
	}
	e := c.next(t, socketmode.EventTypeSlashCommand)
	if e.Request.EnvelopeID != id {
		t.Fatalf("envelope ID = %q, want %q", e.Request.EnvelopeID, id)
	}
	c.ack(t, s, e, id)
}

func TestPingKeepsConnection(t *testing.T) {
	const clientMax = 300 * time.Millisecond
	tests := []struct {
		name          string
		pingInterval  time.Duration
		wantReconnect bool
	}{
		{"pings within the client's interval", 50 * time.Millisecond, false},
		{"no pings", time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustNew(t, Options{PingInterval: tt.pingInterval})
			connect(t, s, socketmode.OptionPingInterval(clientMax))
			ctx := testContext(t)

			if tt.wantReconnect {
				if err := s.WaitConnections(ctx, 2); err != nil {
					t.Fatalf("client did not reconnect after missing pings: %v", err)
				}
				return
			}
			// The client checks once per interval; give it several chances to
			// give up wrongly. Real time is the point of this test.
			time.Sleep(4 * clientMax)
			if got := s.Connections(); got != 1 {
				t.Errorf("Connections() = %d with pings every %v, want 1", got, tt.pingInterval)
			}
		})
	}
}

func TestInvalidAppTokenStopsClient(t *testing.T) {
	s := MustNew(t, Options{})
	c := startClientWithTokens(t, s, s.opts.BotToken, "xapp-wrong")
	select {
	case err := <-c.runErr:
		if err == nil || err.Error() != "invalid_auth" {
			t.Errorf("RunContext() = %v, want invalid_auth", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("RunContext did not return with a wrong app token")
	}
	if got := s.Connections(); got != 0 {
		t.Errorf("Connections() = %d, want 0", got)
	}
}

func TestRateLimitedConnectionsOpen(t *testing.T) {
	s := MustNew(t, Options{})
	s.RateLimit("apps.connections.open", 1, 0)
	c := startClient(t, s)

	ev := c.next(t, socketmode.EventTypeConnectionError).Data.(*slack.ConnectionErrorEvent)
	var rl *slack.RateLimitedError
	if !errors.As(ev.ErrorObj, &rl) {
		t.Errorf("connection error = %v, want *slack.RateLimitedError", ev.ErrorObj)
	}
	c.next(t, socketmode.EventTypeHello)
}

func TestCloseEndsWaits(t *testing.T) {
	s := New(Options{})
	ctx := testContext(t)
	errc := make(chan error, 1)
	go func() {
		_, err := s.WaitAck(ctx, "never")
		errc <- err
	}()
	s.Close()
	s.Close() // idempotent
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("WaitAck after Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.SendSlashCommand(ctx, SlashCommand{}); !errors.Is(err, ErrClosed) {
		t.Errorf("SendSlashCommand after Close: err = %v, want ErrClosed", err)
	}
}
