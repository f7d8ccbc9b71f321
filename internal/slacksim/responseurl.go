package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Slack lets an app use a response_url five times within 30 minutes.
const (
	maxResponseUses = 5
	responseURLTTL  = 30 * time.Minute
)

// Response is one POST to a response_url.
type Response struct {
	// Key names the response_url: the envelope ID for slash commands, or the
	// key given to ResponseURL.
	Key             string
	Text            string
	Blocks          json.RawMessage // the "blocks" array, nil if absent
	ResponseType    string          // "ephemeral" (Slack's default) or "in_channel"
	ReplaceOriginal bool
	DeleteOriginal  bool
	// JSON is the whole request body.
	JSON json.RawMessage
	At   time.Time
}

// hook is the state of one response_url.
type hook struct {
	issued    time.Time
	responses []Response
}

// ResponseURL returns a response_url on this server whose POSTs are
// recorded under key, for building interactive payloads. Calling it again
// with the same key returns the same URL.
func (s *Server) ResponseURL(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responseURLLocked(key)
}

func (s *Server) responseURLLocked(key string) string {
	if _, ok := s.hooks[key]; !ok {
		s.hooks[key] = &hook{issued: time.Now()}
	}
	return s.baseURL + "/response/" + key
}

// Responses returns the POSTs to the response_url named key, oldest first.
func (s *Server) Responses(key string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.hooks[key]; ok {
		return slices.Clone(h.responses)
	}
	return nil
}

// WaitResponse returns the first POST to the response_url named key,
// waiting for it if need be. It fails with ctx's error or ErrClosed.
func (s *Server) WaitResponse(ctx context.Context, key string) (Response, error) {
	rs, err := s.WaitResponses(ctx, key, 1)
	if err != nil {
		return Response{}, err
	}
	return rs[0], nil
}

// WaitResponses waits until the response_url named key has had at least n
// POSTs and returns them all. It fails with ctx's error or ErrClosed.
func (s *Server) WaitResponses(ctx context.Context, key string, n int) ([]Response, error) {
	var rs []Response
	err := s.wait(ctx, func() bool {
		if h, ok := s.hooks[key]; ok && len(h.responses) >= n {
			rs = slices.Clone(h.responses)
			return true
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("wait for %d responses to %s: %w", n, key, err)
	}
	return rs, nil
}

// DropResponses makes POSTs to the response_url named key lose their
// connection before any answer, as when Slack's edge is unreachable: the
// client sees a transport error (which, in Go, quotes the URL). An empty
// key drops every response_url, including those of envelopes not yet sent.
func (s *Server) DropResponses(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped[key] = true
}

func (s *Server) handleResponse(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	drop := s.dropped[strings.TrimPrefix(r.URL.Path, "/response/")] || s.dropped[""]
	s.mu.Unlock()
	if hj, ok := w.(http.Hijacker); ok && drop {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/response/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	resp := Response{Key: key, JSON: body, At: time.Now()}
	status, code := s.recordResponse(resp)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	answer := map[string]any{"ok": code == ""}
	if code != "" {
		answer["error"] = code
		s.log.Debug("slacksim: response_url error", "key", key, "error", code)
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// recordResponse checks and stores resp, returning the HTTP status and a
// Slack error code ("" when accepted).
func (s *Server) recordResponse(resp Response) (int, string) {
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		Attachments     json.RawMessage `json:"attachments"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(resp.JSON, &msg); err != nil {
		return http.StatusBadRequest, "invalid_payload"
	}
	if msg.Text == "" && isEmptyJSON(msg.Blocks) && isEmptyJSON(msg.Attachments) && !msg.DeleteOriginal {
		return http.StatusBadRequest, "no_text"
	}
	resp.Text = msg.Text
	resp.ResponseType = msg.ResponseType
	resp.ReplaceOriginal = msg.ReplaceOriginal
	resp.DeleteOriginal = msg.DeleteOriginal
	if !isEmptyJSON(msg.Blocks) {
		resp.Blocks = msg.Blocks
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[resp.Key]
	switch {
	case !ok:
		return http.StatusNotFound, "no_service"
	case resp.At.Sub(h.issued) > responseURLTTL:
		return http.StatusNotFound, "expired_url"
	case len(h.responses) >= maxResponseUses:
		return http.StatusNotFound, "used_url"
	}
	h.responses = append(h.responses, resp)
	s.notifyLocked()
	return http.StatusOK, ""
}

func isEmptyJSON(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "[]":
		return true
	}
	return false
}
