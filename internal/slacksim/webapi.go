package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call is one Web API request as the server received it.
type Call struct {
	// Method is the API method, such as "chat.postMessage".
	Method string
	// Params holds form fields and query parameters, without the token.
	Params url.Values
	// JSON is the request body when it was sent as JSON (views.open, apps.connections.open).
	JSON json.RawMessage
	// Err is the error code answered ("invalid_auth", "ratelimited", …); "" when ok.
	Err string
	// Status is the HTTP status answered.
	Status int
	// At is when the request arrived.
	At time.Time
}

// Param returns the named parameter from the form, or a top-level string
// field of the JSON body; "" if there is none.
func (c Call) Param(name string) string {
	if v, ok := c.Params[name]; ok && len(v) > 0 {
		return v[0]
	}
	if len(c.JSON) == 0 {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.JSON, &fields) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(fields[name], &v) != nil {
		return ""
	}
	return v
}

// rateLimit is a pending RateLimit injection.
type rateLimit struct {
	n          int
	retryAfter time.Duration
}

// tokenKind says which token a method wants.
type tokenKind int

const (
	anyToken tokenKind = iota
	appToken
	botToken
)

// apiMethod answers one Web API method. It runs with s.mu held and returns
// the fields to add to {"ok":true}, or a Slack error code.
type apiMethod struct {
	token  tokenKind
	handle func(s *Server, c *Call) (map[string]any, string)
}

var apiMethods = map[string]apiMethod{
	"apps.connections.open": {appToken, (*Server).appsConnectionsOpenLocked},
	"auth.test":             {anyToken, (*Server).authTestLocked},
	"chat.postMessage":      {botToken, (*Server).chatPostMessageLocked},
	"chat.postEphemeral":    {botToken, (*Server).chatPostEphemeralLocked},
	"chat.update":           {botToken, (*Server).chatUpdateLocked},
	"views.open":            {botToken, (*Server).viewsOpenLocked},
	"users.info":            {botToken, (*Server).usersInfoLocked},
}

// RateLimit makes the next n calls of method fail with HTTP 429 and a
// Retry-After header, which slack-go turns into *slack.RateLimitedError.
// The header carries whole seconds, so retryAfter is rounded up. n <= 0
// removes a pending injection.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.limits, method)
		return
	}
	s.limits[method] = rateLimit{n: n, retryAfter: retryAfter}
}

// Calls returns every Web API call so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// WaitCall returns the first recorded call of method for which pred (nil
// for any) reports true, waiting for it if need be. It fails with ctx's
// error or ErrClosed.
func (s *Server) WaitCall(ctx context.Context, method string, pred func(Call) bool) (Call, error) {
	var found Call
	err := s.wait(ctx, func() bool {
		for _, c := range s.calls {
			if c.Method == method && (pred == nil || pred(c)) {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		return Call{}, fmt.Errorf("wait for %s call: %w", method, err)
	}
	return found, nil
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: strings.TrimPrefix(r.URL.Path, "/api/"), At: time.Now()}
	token, err := readCall(r, &call)

	s.mu.Lock()
	status, body, retryAfter := s.answerLocked(&call, token, err)
	call.Status = status
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	if call.Err != "" {
		s.log.Debug("slacksim: web api error", "method", call.Method, "error", call.Err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if retryAfter >= 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.log.Debug("slacksim: write web api answer", "method", call.Method, "err", err)
	}
}

// answerLocked decides the answer to call: HTTP status, JSON body and the
// Retry-After seconds (-1 for none). It sets call.Err.
func (s *Server) answerLocked(call *Call, token string, readErr error) (int, map[string]any, int) {
	fail := func(status int, code string) (int, map[string]any, int) {
		call.Err = code
		return status, map[string]any{"ok": false, "error": code}, -1
	}
	if lim, ok := s.limits[call.Method]; ok {
		if lim.n--; lim.n <= 0 {
			delete(s.limits, call.Method)
		} else {
			s.limits[call.Method] = lim
		}
		status, body, _ := fail(http.StatusTooManyRequests, "ratelimited")
		return status, body, int(math.Ceil(lim.retryAfter.Seconds()))
	}
	if readErr != nil {
		return fail(http.StatusOK, "invalid_form_data")
	}
	if call.Method == "chat.postMessage" {
		if wait := s.channelWaitLocked(call.Param("channel"), call.At); wait > 0 {
			status, body, _ := fail(http.StatusTooManyRequests, "ratelimited")
			return status, body, int(math.Ceil(wait.Seconds()))
		}
	}
	m, ok := apiMethods[call.Method]
	if !ok {
		return fail(http.StatusOK, "unknown_method")
	}
	if code := s.checkToken(token, m.token); code != "" {
		return fail(http.StatusOK, code)
	}
	fields, code := m.handle(s, call)
	if code != "" {
		return fail(http.StatusOK, code)
	}
	body := map[string]any{"ok": true}
	for k, v := range fields {
		body[k] = v
	}
	return http.StatusOK, body, -1
}

// checkToken returns the Slack error code for token on a method that wants
// kind, or "" if it is accepted.
func (s *Server) checkToken(token string, kind tokenKind) string {
	switch {
	case token == "":
		return "not_authed"
	case token == s.opts.AppToken:
		if kind == botToken {
			return "not_allowed_token_type"
		}
	case token == s.opts.BotToken:
		if kind == appToken {
			return "not_allowed_token_type"
		}
	default:
		return "invalid_auth"
	}
	return ""
}

// readCall fills c.Params or c.JSON from r and returns the token, taken from
// the Authorization header or else the token field, as slack-go sends it.
func readCall(r *http.Request, c *Call) (string, error) {
	token := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return token, fmt.Errorf("read body: %w", err)
		}
		if len(body) > 0 {
			if !json.Valid(body) {
				return token, fmt.Errorf("body is not JSON")
			}
			c.JSON = body
		}
		c.Params = r.URL.Query()
	} else {
		if err := r.ParseForm(); err != nil {
			return token, fmt.Errorf("parse form: %w", err)
		}
		c.Params = r.Form
	}
	if token == "" {
		token = c.Params.Get("token")
	}
	// Recordings must not carry credentials.
	c.Params.Del("token")
	return token, nil
}
