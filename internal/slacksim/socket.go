package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds every WebSocket write, so a client that stopped
// reading cannot hold up the server.
const writeTimeout = 5 * time.Second

// wsConn is one socket mode connection.
type wsConn struct {
	id int
	ws *websocket.Conn

	writeMu   sync.Mutex // gorilla allows one writer at a time
	closeOnce sync.Once
	done      chan struct{} // closed by close
}

// writeJSON sends v as one text message, within ctx's deadline if sooner
// than writeTimeout.
func (c *wsConn) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal message: %w", err)
	}
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write to connection %d: %w", c.id, err)
	}
	return nil
}

// close shuts the TCP connection without a close frame; gorilla's Close
// does exactly that, which is what an abrupt drop needs.
func (c *wsConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// Connections returns how many socket mode connections have been greeted
// with a hello, including closed ones. Connections are numbered in that
// order from 1; the number shows in the hello's debug_info host.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos
}

// OpenConnections returns how many connections currently receive envelopes.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until n hellos have been sent in total, so after a
// disconnect, WaitConnections(ctx, Connections()+1) waits for the client to
// come back. It fails with ctx's error or ErrClosed.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	if err := s.wait(ctx, func() bool { return s.hellos >= n }); err != nil {
		return fmt.Errorf("wait for %d socket mode connections: %w", n, err)
	}
	return nil
}

// Disconnect asks every open connection to go away the way Slack does: it
// sends {"type":"disconnect","reason":reason} and closes the connection
// after Options.DisconnectGrace unless the client closes it first. Slack's
// reasons are "refresh_requested", "warning" and "link_disabled". The
// connections stop receiving envelopes at once.
func (s *Server) Disconnect(reason string) {
	conns := s.takeConns()

	for _, c := range conns {
		msg := map[string]any{
			"type":       "disconnect",
			"reason":     reason,
			"debug_info": map[string]any{"host": s.host(c)},
		}
		if err := c.writeJSON(context.Background(), msg); err != nil {
			s.log.Debug("slacksim: send disconnect", "conn", c.id, "err", err)
			c.close()
			continue
		}
		s.log.Debug("slacksim: sent disconnect", "conn", c.id, "reason", reason)
		started := s.spawn(func() {
			t := time.NewTimer(s.opts.DisconnectGrace)
			defer t.Stop()
			select {
			case <-t.C:
				deadline := time.Now().Add(writeTimeout)
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
			case <-c.done:
			case <-s.done:
			}
			c.close()
		})
		if !started {
			c.close()
		}
	}
}

// takeConns removes every open connection from the server, so that none
// receives another envelope, wakes the waiters on the connection count,
// and returns them for the caller to close.
func (s *Server) takeConns() []*wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := s.conns
	s.conns = nil
	s.notifyLocked()
	return conns
}

// DropConnection closes every open connection's TCP connection without a
// disconnect message or close frame, like a network failure.
func (s *Server) DropConnection() {
	conns := s.takeConns()
	for _, c := range conns {
		s.log.Debug("slacksim: dropping connection", "conn", c.id)
		c.close()
	}
}

// currentLocked returns the connection that gets new envelopes, the newest
// one, or nil; s.mu must be held.
func (s *Server) currentLocked() *wsConn {
	if len(s.conns) == 0 {
		return nil
	}
	return s.conns[len(s.conns)-1]
}

func (s *Server) host(c *wsConn) string {
	return fmt.Sprintf("applink-sim-%d", c.id)
}

// handleLink serves the WebSocket URL apps.connections.open hands out.
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	if !s.tickets[ticket] {
		s.mu.Unlock()
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	delete(s.tickets, ticket) // tickets are single-use, as on Slack
	// http.Server.Close does not wait for hijacked connections, so the
	// connection's life is counted in s.wg; adding under s.mu while not
	// closed keeps Add from racing with Close's Wait.
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("slacksim: websocket upgrade", "err", err) // Upgrade has answered
		return
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}
	defer c.close()

	// Hold the write lock until the hello is out, so that no envelope
	// sent meanwhile can overtake it.
	c.writeMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.writeMu.Unlock()
		return
	}
	// Counted before the write: the client may act on the hello before
	// this goroutine runs again, and whoever it tells must see the count.
	s.hellos++
	c.id = s.hellos
	s.conns = append(s.conns, c)
	num := len(s.conns)
	s.notifyLocked()
	s.mu.Unlock()
	err = s.writeHelloLocked(c, num)
	c.writeMu.Unlock()
	if err != nil {
		s.log.Debug("slacksim: send hello", "conn", c.id, "err", err)
		s.forget(c)
		return
	}
	s.log.Debug("slacksim: connected", "conn", c.id, "num_connections", num)

	s.spawn(func() { s.ping(c) })
	s.read(c)
	s.forget(c)
}

// writeHelloLocked sends the hello; c.writeMu must be held.
func (s *Server) writeHelloLocked(c *wsConn, num int) error {
	hello := map[string]any{
		"type":            "hello",
		"num_connections": num,
		"debug_info": map[string]any{
			"host":                        s.host(c),
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	}
	b, err := json.Marshal(hello)
	if err != nil {
		return fmt.Errorf("marshal hello: %w", err)
	}
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// forget stops routing envelopes to c.
func (s *Server) forget(c *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
		s.notifyLocked()
	}
}

// ping sends WebSocket PINGs until c is closed; slack-go reconnects if they stop.
func (s *Server) ping(c *wsConn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-s.done:
			return
		case now := <-t.C:
			// WriteControl may run concurrently with the other writers.
			payload := []byte(fmt.Sprintf("%d", now.UnixMilli()))
			if err := c.ws.WriteControl(websocket.PingMessage, payload, now.Add(writeTimeout)); err != nil {
				s.log.Debug("slacksim: ping", "conn", c.id, "err", err)
				c.close()
				return
			}
		}
	}
}

// read records the acks c sends until the connection fails or closes.
func (s *Server) read(c *wsConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			s.log.Debug("slacksim: connection closed", "conn", c.id, "err", err)
			return
		}
		s.recordAck(c, data, time.Now())
	}
}
