package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Acks returns every ack received so far, oldest first, including repeated
// and late ones.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acks)
}

// WaitAck returns the first ack for envelopeID, waiting for it if need be.
// It fails with ctx's error or ErrClosed.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.wait(ctx, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("wait for ack of %s: %w", envelopeID, err)
	}
	return found, nil
}

// Envelopes returns every envelope sent so far, in send order.
func (s *Server) Envelopes() []Envelope {
	return s.envelopesWhere(func(*envelope) bool { return true })
}

// Unacked returns the envelopes no ack has arrived for yet, in send order.
func (s *Server) Unacked() []Envelope {
	return s.envelopesWhere(func(e *envelope) bool { return !e.Acked })
}

// TimedOut returns the envelopes whose ack did not arrive within
// Options.AckTimeout, in send order; Slack would have shown those users an
// error.
func (s *Server) TimedOut() []Envelope {
	return s.envelopesWhere(func(e *envelope) bool { return e.TimedOut })
}

func (s *Server) envelopesWhere(keep func(*envelope) bool) []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Envelope
	for _, id := range s.order {
		if e := s.envelopes[id]; keep(e) {
			out = append(out, e.Envelope)
		}
	}
	return out
}

// WaitTimeout waits until envelopeID has timed out and returns it. It
// fails with ctx's error, ErrClosed, or at once if the envelope is unknown.
func (s *Server) WaitTimeout(ctx context.Context, envelopeID string) (Envelope, error) {
	var found Envelope
	known := true
	err := s.wait(ctx, func() bool {
		e, ok := s.envelopes[envelopeID]
		if !ok {
			known = false
			return true
		}
		found = e.Envelope
		return e.TimedOut
	})
	if err == nil && !known {
		err = fmt.Errorf("no such envelope")
	}
	if err != nil {
		return Envelope{}, fmt.Errorf("wait for timeout of %s: %w", envelopeID, err)
	}
	return found, nil
}

// recordAck records data, a message from the client, as an ack.
func (s *Server) recordAck(c *wsConn, data []byte, at time.Time) {
	var m struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.EnvelopeID == "" {
		s.log.Warn("slacksim: message from client is not an ack", "conn", c.id, "err", err)
		return
	}
	if string(m.Payload) == "null" {
		m.Payload = nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.envelopes[m.EnvelopeID]
	if !ok {
		s.log.Warn("slacksim: ack for unknown envelope", "conn", c.id, "envelope_id", m.EnvelopeID)
		return
	}
	ack := Ack{EnvelopeID: m.EnvelopeID, Payload: m.Payload, Latency: at.Sub(e.SentAt), At: at}
	s.acks = append(s.acks, ack)
	if !e.Acked {
		e.Acked = true
		e.deadline = time.Time{}
		delete(s.pending, e.ID)
	}
	s.notifyLocked()

	if e.TimedOut {
		s.log.Warn("slacksim: late ack", "envelope_id", e.ID, "latency", ack.Latency)
	}
	if ack.Payload != nil && !e.accepts {
		s.log.Warn("slacksim: ack payload on an envelope that accepts none; Slack ignores it",
			"envelope_id", e.ID, "type", e.Type)
	}
}

// runAckTimeouts marks envelopes that miss Options.AckTimeout as timed out
// and resends them up to Options.MaxRetries times, until Close.
func (s *Server) runAckTimeouts() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		resends, next := s.expire(time.Now())
		for _, w := range resends {
			s.resend(w)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-s.done:
			return
		case <-s.kick:
		case <-timer.C:
		}
	}
}

// expire settles the envelopes due by now and returns the ones to send
// again and the next deadline (zero if none).
func (s *Server) expire(now time.Time) ([]wireEnvelope, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var resends []wireEnvelope
	var next time.Time
	changed := false
	for _, e := range s.pending {
		if e.deadline.After(now) {
			if next.IsZero() || e.deadline.Before(next) {
				next = e.deadline
			}
			continue
		}
		changed = true
		if !e.TimedOut {
			e.TimedOut = true
			s.log.Warn("slacksim: envelope not acked in time",
				"envelope_id", e.ID, "type", e.Type, "ack_timeout", s.opts.AckTimeout)
		}
		if e.Attempts > s.opts.MaxRetries {
			e.deadline = time.Time{}
			delete(s.pending, e.ID)
			continue
		}
		e.Attempts++
		e.deadline = now.Add(s.opts.AckTimeout)
		if next.IsZero() || e.deadline.Before(next) {
			next = e.deadline
		}
		resends = append(resends, wireEnvelope{
			EnvelopeID:             e.ID,
			Payload:                e.Payload,
			Type:                   e.Type,
			AcceptsResponsePayload: e.accepts,
			RetryAttempt:           e.Attempts - 1,
			RetryReason:            "timeout",
		})
	}
	if changed {
		s.notifyLocked()
	}
	return resends, next
}

// resend writes a retry to the newest connection, if there is one.
func (s *Server) resend(w wireEnvelope) {
	s.mu.Lock()
	c := s.currentLocked()
	s.mu.Unlock()
	if c == nil {
		s.log.Warn("slacksim: no connection to retry envelope on", "envelope_id", w.EnvelopeID)
		return
	}
	if err := c.writeJSON(context.Background(), w); err != nil {
		s.log.Warn("slacksim: retry envelope", "envelope_id", w.EnvelopeID, "err", err)
	}
}
