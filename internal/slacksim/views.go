package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// View is a modal the bot opened with views.open.
type View struct {
	ID              string
	UserID          string // who it opened for: the user of the trigger
	CallbackID      string
	PrivateMetadata string
	// InputBlocks are the block IDs of the view's input blocks: the only
	// keys a response_action "errors" may use.
	InputBlocks []string
	// TriggerAge is how old the trigger_id was when views.open used it
	// (Slack refuses one older than 3 s).
	TriggerAge time.Duration
	JSON       json.RawMessage // the view as the bot sent it
}

func (s *Server) recordViewLocked(view map[string]any, t *trigger) {
	v := View{UserID: t.user, TriggerAge: time.Since(t.issued)}
	v.ID, _ = view["id"].(string)
	v.CallbackID, _ = view["callback_id"].(string)
	v.PrivateMetadata, _ = view["private_metadata"].(string)
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		if m, ok := b.(map[string]any); ok && m["type"] == "input" {
			id, _ := m["block_id"].(string)
			v.InputBlocks = append(v.InputBlocks, id)
		}
	}
	v.JSON, _ = json.Marshal(view)
	s.views = append(s.views, v)
	s.notifyLocked()
}

// Views returns the views opened so far, oldest first.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.views)
}

// WaitView returns the first opened view for which keep is true, waiting
// for it if need be; it fails with ctx's error or ErrClosed.
func (s *Server) WaitView(ctx context.Context, keep func(View) bool) (View, error) {
	var found View
	err := s.wait(ctx, func() bool {
		for _, v := range s.views {
			if keep(v) {
				found = v
				return true
			}
		}
		return false
	})
	if err != nil {
		return View{}, fmt.Errorf("wait for a view: %w", err)
	}
	return found, nil
}

// SubmitView sends the view_submission Slack sends when v's user presses
// Submit, with values[block_id][action_id] typed into plain-text inputs,
// and returns the envelope ID. Its ack answers with a response_action;
// SubmissionErrors reads it.
func (s *Server) SubmitView(ctx context.Context, v View, values map[string]map[string]string) (string, error) {
	state := map[string]any{}
	for block, actions := range values {
		m := map[string]any{}
		for action, value := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": value}
		}
		state[block] = m
	}
	var view map[string]any
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		return "", fmt.Errorf("view %s: %w", v.ID, err)
	}
	view["state"] = map[string]any{"values": state}
	return s.SendInteractive(ctx, map[string]any{
		"type": "view_submission",
		"team": map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"user": map[string]any{"id": v.UserID, "team_id": s.opts.TeamID},
		"view": view,
	})
}

// SubmissionErrors waits for the ack of the view submission envelopeID and
// returns the field errors it carries (response_action "errors"); nil when
// the ack closes the modal. Like Slack, it fails when the ack names a
// block that is not an input block of the view, or another action.
func (s *Server) SubmissionErrors(ctx context.Context, envelopeID string, v View) (map[string]string, error) {
	ack, err := s.WaitAck(ctx, envelopeID)
	if err != nil {
		return nil, err
	}
	if len(ack.Payload) == 0 {
		return nil, nil
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(ack.Payload, &resp); err != nil {
		return nil, fmt.Errorf("view submission ack %s: %w", ack.Payload, err)
	}
	switch resp.ResponseAction {
	case "", "clear":
		return nil, nil
	case "errors":
	default:
		return nil, fmt.Errorf("view submission ack: response_action %q is not supported here", resp.ResponseAction)
	}
	if len(resp.Errors) == 0 {
		return nil, fmt.Errorf("view submission ack: response_action errors without errors")
	}
	for block := range resp.Errors {
		if !slices.Contains(v.InputBlocks, block) {
			return nil, fmt.Errorf("view submission ack: error for %q, which is not an input block of view %s (Slack rejects it)", block, v.ID)
		}
	}
	return resp.Errors, nil
}
