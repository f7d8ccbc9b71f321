package slacksim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Message is a message chat.postMessage accepted, as the channel shows it.
type Message struct {
	Channel string // channel ID, or a user ID for a DM
	TS      string
	// ThreadTS is the thread the message was posted in; "" for a
	// top-level message.
	ThreadTS string
	// Broadcast is reply_broadcast: a thread reply also shown in the channel.
	Broadcast bool
	Text      string // the fallback text
	Blocks    string // the blocks as JSON; "" if none
	At        time.Time
}

// channelBucket is one channel's allowance under Options.ChannelBurst.
type channelBucket struct {
	tokens float64
	at     time.Time
}

// Messages returns the messages posted to channel ("" for every channel),
// oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(channel)
}

func (s *Server) messagesLocked(channel string) []Message {
	var out []Message
	for _, m := range s.posted {
		if channel == "" || m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

// WaitMessages waits until channel ("" for any) holds at least n messages
// for which pred (nil for any) reports true, and returns those. It fails
// with ctx's error or ErrClosed.
func (s *Server) WaitMessages(ctx context.Context, channel string, n int, pred func(Message) bool) ([]Message, error) {
	var found []Message
	err := s.wait(ctx, func() bool {
		found = found[:0]
		for _, m := range s.messagesLocked(channel) {
			if pred == nil || pred(m) {
				found = append(found, m)
			}
		}
		return len(found) >= n
	})
	if err != nil {
		return slices.Clone(found), fmt.Errorf("wait for %d messages in %q (have %d): %w", n, channel, len(found), err)
	}
	return slices.Clone(found), nil
}

// recordMessageLocked keeps a posted message; s.mu must be held.
func (s *Server) recordMessageLocked(c *Call, ts string) {
	s.posted = append(s.posted, Message{
		Channel: c.Param("channel"), TS: ts, ThreadTS: c.Param("thread_ts"),
		Broadcast: c.Param("reply_broadcast") == "true", Text: c.Param("text"), Blocks: c.Param("blocks"), At: c.At,
	})
}

// channelWaitLocked applies Slack's limit of about one chat.postMessage per
// second per channel, with bursts of Options.ChannelBurst: it takes one
// message from the channel's allowance and returns 0, or returns how long
// to wait (the Retry-After) when there is none. s.mu must be held.
func (s *Server) channelWaitLocked(channel string, now time.Time) time.Duration {
	burst := float64(s.opts.ChannelBurst)
	if burst <= 0 || channel == "" {
		return 0
	}
	b, ok := s.buckets[channel]
	if !ok {
		b = &channelBucket{tokens: burst, at: now}
		s.buckets[channel] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.at).Seconds())
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(time.Second))
	}
	b.tokens--
	return 0
}

// RateLimited returns the chat.postMessage calls answered 429 because their
// channel was over its allowance, oldest first.
func (s *Server) RateLimited() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method == "chat.postMessage" && c.Err == "ratelimited" {
			out = append(out, c)
		}
	}
	return out
}

// BlockAction is a click on a button of a message, as Slack sends it.
type BlockAction struct {
	UserID    string
	ChannelID string
	MessageTS string // the message the button is in
	ActionID  string
	BlockID   string
	Value     string
}

// SendBlockAction sends a block_actions envelope for a button click, shaped
// like Slack's (user, channel, container, message, actions), and returns the
// envelope ID, which also names its response URL.
func (s *Server) SendBlockAction(ctx context.Context, a BlockAction) (string, error) {
	now := time.Now()
	actionTS := fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	return s.SendInteractive(ctx, map[string]any{
		"type":      "block_actions",
		"user":      map[string]any{"id": a.UserID, "team_id": s.opts.TeamID},
		"team":      map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"channel":   map[string]any{"id": a.ChannelID},
		"container": map[string]any{"type": "message", "message_ts": a.MessageTS, "channel_id": a.ChannelID, "is_ephemeral": false},
		"message":   map[string]any{"type": "message", "ts": a.MessageTS},
		"actions": []map[string]any{{
			"type": "button", "action_id": a.ActionID, "block_id": a.BlockID, "value": a.Value, "action_ts": actionTS,
		}},
	})
}
