package slacksim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SlashCommand is what a user typed; SendSlashCommand fills in the rest of
// Slack's payload.
type SlashCommand struct {
	UserID      string
	UserName    string
	ChannelID   string
	ChannelName string
	TeamID      string // default Options.TeamID
	Text        string
	Command     string // default "/cicf"
}

// Envelope is a socket mode envelope the server sent.
type Envelope struct {
	ID      string
	Type    string // "slash_commands" or "interactive"
	Payload json.RawMessage
	// SentAt is when it was first sent.
	SentAt time.Time
	// Attempts counts sends: 1, plus one per retry.
	Attempts int
	// Acked reports whether an ack has arrived, even a late one.
	Acked bool
	// TimedOut reports that no ack arrived within Options.AckTimeout of SentAt.
	TimedOut bool
}

// Ack is an acknowledgement the client sent for an envelope.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload (a response message, response_action, …), nil if none.
	Payload json.RawMessage
	// Latency runs from the envelope's first send to the ack's arrival.
	Latency time.Duration
	At      time.Time
}

// envelope is the server's state for one sent envelope.
type envelope struct {
	Envelope
	accepts  bool      // accepts_response_payload
	deadline time.Time // when the current attempt times out; zero when settled
}

// wireEnvelope is an envelope as Slack writes it on the socket.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Payload                json.RawMessage `json:"payload"`
	Type                   string          `json:"type"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt,omitempty"`
	RetryReason            string          `json:"retry_reason,omitempty"`
}

// slashPayload is a slash command payload as Slack sends it: every field a
// string, as in the HTTP form Slack posts to request URLs.
type slashPayload struct {
	Token               string `json:"token"`
	TeamID              string `json:"team_id"`
	TeamDomain          string `json:"team_domain"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
	Command             string `json:"command"`
	Text                string `json:"text"`
	APIAppID            string `json:"api_app_id"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

// verificationToken is the deprecated token Slack still puts in payloads.
const verificationToken = "sim-verification-token"

// SendSlashCommand sends cmd as a slash_commands envelope to the newest
// connection and returns the envelope ID, which also names the command's
// response_url for Responses and WaitResponse. It fails with
// ErrNoConnection when no client is connected, or if the write fails.
func (s *Server) SendSlashCommand(ctx context.Context, cmd SlashCommand) (string, error) {
	id := newEnvelopeID()
	s.mu.Lock()
	if cmd.TeamID == "" {
		cmd.TeamID = s.opts.TeamID
	}
	if cmd.Command == "" {
		cmd.Command = "/cicf"
	}
	if _, ok := s.users[cmd.UserID]; !ok && cmd.UserID != "" {
		s.users[cmd.UserID] = User{ID: cmd.UserID, Name: cmd.UserName, RealName: cmd.UserName}
	}
	p := slashPayload{
		Token:               verificationToken,
		TeamID:              cmd.TeamID,
		TeamDomain:          s.opts.TeamDomain,
		ChannelID:           cmd.ChannelID,
		ChannelName:         cmd.ChannelName,
		UserID:              cmd.UserID,
		UserName:            cmd.UserName,
		Command:             cmd.Command,
		Text:                cmd.Text,
		APIAppID:            s.opts.AppID,
		IsEnterpriseInstall: "false",
		ResponseURL:         s.responseURLLocked(id),
		TriggerID:           s.issueTriggerLocked(),
	}
	s.triggers[p.TriggerID].user = cmd.UserID
	s.mu.Unlock()
	payload, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal slash command: %w", err)
	}
	return s.send(ctx, id, "slash_commands", payload, true)
}

// SendInteractive sends payload (a block_actions, view_submission, … object,
// or its JSON) as an interactive envelope and returns the envelope ID. Like
// Slack, it adds a trigger_id that views.open accepts, and for block_actions
// a response_url named by the envelope ID, when the payload lacks them. It
// fails with ErrNoConnection when no client is connected, or if the write fails.
func (s *Server) SendInteractive(ctx context.Context, payload any) (string, error) {
	raw, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			return "", fmt.Errorf("marshal interactive payload: %w", err)
		}
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as given
	if err := dec.Decode(&fields); err != nil {
		return "", fmt.Errorf("interactive payload is not a JSON object: %w", err)
	}
	typ, _ := fields["type"].(string)
	id := newEnvelopeID()

	s.mu.Lock()
	setDefault := func(k string, v func() any) {
		if cur, _ := fields[k].(string); cur == "" {
			fields[k] = v()
		}
	}
	setDefault("token", func() any { return verificationToken })
	setDefault("api_app_id", func() any { return s.opts.AppID })
	setDefault("trigger_id", func() any { return s.issueTriggerLocked() })
	if tid, _ := fields["trigger_id"].(string); s.triggers[tid] == nil {
		s.triggers[tid] = &trigger{issued: time.Now()} // a caller-made trigger_id
	}
	if u, ok := fields["user"].(map[string]any); ok {
		tid, _ := fields["trigger_id"].(string)
		s.triggers[tid].user, _ = u["id"].(string)
	}
	if typ == "block_actions" {
		setDefault("response_url", func() any { return s.responseURLLocked(id) })
	}
	s.mu.Unlock()

	raw, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("marshal interactive payload: %w", err)
	}
	// Slack waits for a response payload only where one can change the
	// outcome: response_action for view submissions, options for suggestions.
	accepts := typ == "view_submission" || typ == "block_suggestion"
	return s.send(ctx, id, "interactive", raw, accepts)
}

// send records and writes a new envelope.
func (s *Server) send(ctx context.Context, id, typ string, payload json.RawMessage, accepts bool) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", ErrClosed
	}
	c := s.currentLocked()
	if c == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("send %s envelope: %w", typ, ErrNoConnection)
	}
	now := time.Now()
	env := &envelope{
		Envelope: Envelope{ID: id, Type: typ, Payload: payload, SentAt: now, Attempts: 1},
		accepts:  accepts,
		deadline: now.Add(s.opts.AckTimeout),
	}
	// Recorded before the write, so that an ack cannot arrive for an
	// envelope the server does not know yet.
	s.envelopes[id] = env
	s.pending[id] = env
	s.order = append(s.order, id)
	s.notifyLocked()
	s.mu.Unlock()

	select {
	case s.kick <- struct{}{}:
	default:
	}
	msg := wireEnvelope{EnvelopeID: id, Payload: payload, Type: typ, AcceptsResponsePayload: accepts}
	if err := c.writeJSON(ctx, msg); err != nil {
		s.mu.Lock()
		delete(s.envelopes, id)
		delete(s.pending, id)
		s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
		s.mu.Unlock()
		return "", fmt.Errorf("send %s envelope: %w", typ, err)
	}
	s.log.Debug("slacksim: sent envelope", "envelope_id", id, "type", typ, "conn", c.id)
	return id, nil
}
