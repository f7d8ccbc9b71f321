package slacksim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestSlashCommandEnvelope(t *testing.T) {
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)

	id, err := s.SendSlashCommand(ctx, SlashCommand{
		UserID: "U123", UserName: "ada", ChannelID: "C42", ChannelName: "cicf-2025", Text: "vm status",
	})
	if err != nil {
		t.Fatalf("SendSlashCommand: %v", err)
	}
	e := c.next(t, socketmode.EventTypeSlashCommand)
	cmd, ok := e.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("event data is %T, want slack.SlashCommand", e.Data)
	}
	if e.Request.EnvelopeID != id || !e.Request.AcceptsResponsePayload || e.Request.RetryAttempt != 0 {
		t.Errorf("request = %+v, want envelope %s accepting a response payload, no retry", e.Request, id)
	}
	fields := []struct{ name, got, want string }{
		{"command", cmd.Command, "/cicf"},
		{"text", cmd.Text, "vm status"},
		{"user_id", cmd.UserID, "U123"},
		{"user_name", cmd.UserName, "ada"},
		{"channel_id", cmd.ChannelID, "C42"},
		{"channel_name", cmd.ChannelName, "cicf-2025"},
		{"team_id", cmd.TeamID, "T0CICF"},
		{"team_domain", cmd.TeamDomain, "cicf"},
		{"api_app_id", cmd.APIAppID, "A1"},
		{"response_url", cmd.ResponseURL, strings.TrimSuffix(s.APIURL(), "/api/") + "/response/" + id},
	}
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("payload %s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if cmd.TriggerID == "" || cmd.Token == "" || cmd.IsEnterpriseInstall {
		t.Errorf("payload trigger_id %q, token %q, is_enterprise_install %v; want both set and false",
			cmd.TriggerID, cmd.Token, cmd.IsEnterpriseInstall)
	}

	if err := c.sm.Ack(*e.Request, map[string]any{"text": "Working on it…"}); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	ack, err := s.WaitAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency <= 0 || ack.Latency > s.opts.AckTimeout {
		t.Errorf("ack latency = %v, want within (0, %v]", ack.Latency, s.opts.AckTimeout)
	}
	if got, want := string(ack.Payload), `{"text":"Working on it…"}`; got != want {
		t.Errorf("ack payload = %s, want %s", got, want)
	}
	if got := s.Unacked(); len(got) != 0 {
		t.Errorf("Unacked() = %+v, want none", got)
	}

	// The command's trigger opens one modal, once.
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "Confirm", false, false)}
	if _, err := c.api.OpenViewContext(ctx, cmd.TriggerID, view); err != nil {
		t.Errorf("OpenView with the command's trigger: %v", err)
	}
	if _, err := c.api.OpenViewContext(ctx, cmd.TriggerID, view); err == nil || err.Error() != "trigger_exchanged" {
		t.Errorf("OpenView with a used trigger: err = %v, want trigger_exchanged", err)
	}
}

func TestResponseURL(t *testing.T) {
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)
	id, err := s.SendSlashCommand(ctx, SlashCommand{UserID: "U1", Text: "help"})
	if err != nil {
		t.Fatalf("SendSlashCommand: %v", err)
	}
	cmd := c.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)

	blocks := slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*Done*", false, false), nil, nil),
	}}
	msg := &slack.WebhookMessage{Text: "Done", ResponseType: "ephemeral", ReplaceOriginal: true, Blocks: &blocks}
	if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, msg); err != nil {
		t.Fatalf("PostWebhook to response_url: %v", err)
	}
	got, err := s.WaitResponse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Done" || got.ResponseType != "ephemeral" || !got.ReplaceOriginal || got.DeleteOriginal {
		t.Errorf("response = %+v, want ephemeral text Done replacing the original", got)
	}
	if !strings.Contains(string(got.Blocks), `"*Done*"`) {
		t.Errorf("response blocks = %s, want the section", got.Blocks)
	}

	// slack-go's other way to use a response_url.
	if _, _, err := c.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, "in_channel"),
		slack.MsgOptionText("Posted", false)); err != nil {
		t.Fatalf("PostMessage with MsgOptionResponseURL: %v", err)
	}
	if rs := s.Responses(id); len(rs) != 2 || rs[1].ResponseType != "in_channel" || rs[1].Text != "Posted" {
		t.Errorf("Responses(%s) = %+v, want a second, in_channel response", id, rs)
	}
}

func TestResponseURLRejects(t *testing.T) {
	s := MustNew(t, Options{})
	ctx := testContext(t)
	url := s.ResponseURL("k")
	for i := range maxResponseUses {
		if err := slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "x"}); err != nil {
			t.Fatalf("use %d of response_url: %v", i+1, err)
		}
	}
	tests := []struct {
		name string
		url  string
		msg  *slack.WebhookMessage
	}{
		{"used up", url, &slack.WebhookMessage{Text: "x"}},
		{"unknown", s.baseURL + "/response/nope", &slack.WebhookMessage{Text: "x"}},
		{"no text", s.ResponseURL("empty"), &slack.WebhookMessage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := slack.PostWebhookContext(ctx, tt.url, tt.msg)
			var sce slack.StatusCodeError
			if !errors.As(err, &sce) {
				t.Errorf("PostWebhook = %v, want a StatusCodeError", err)
			}
		})
	}
}

func TestInteractiveEnvelope(t *testing.T) {
	tests := []struct {
		payload     map[string]any
		wantAccepts bool
		wantRespURL bool
	}{
		{map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1"},
			"actions": []any{map[string]any{"action_id": "confirm", "value": "yes", "type": "button"}}}, false, true},
		{map[string]any{"type": "view_submission", "view": map[string]any{"id": "V1", "callback_id": "cb"}}, true, false},
	}
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)
	for _, tt := range tests {
		typ := tt.payload["type"].(string)
		t.Run(typ, func(t *testing.T) {
			id, err := s.SendInteractive(ctx, tt.payload)
			if err != nil {
				t.Fatalf("SendInteractive: %v", err)
			}
			e := c.next(t, socketmode.EventTypeInteractive)
			cb := e.Data.(slack.InteractionCallback)
			if string(cb.Type) != typ || cb.TriggerID == "" || cb.APIAppID != "A1" {
				t.Errorf("callback type %q, trigger_id %q, api_app_id %q; want %s with a trigger and A1",
					cb.Type, cb.TriggerID, cb.APIAppID, typ)
			}
			if got := cb.ResponseURL != ""; got != tt.wantRespURL {
				t.Errorf("response_url %q, want set: %v", cb.ResponseURL, tt.wantRespURL)
			}
			if e.Request.AcceptsResponsePayload != tt.wantAccepts {
				t.Errorf("accepts_response_payload = %v, want %v", e.Request.AcceptsResponsePayload, tt.wantAccepts)
			}
			c.ack(t, s, e, id)
		})
	}
}

func TestUnackedEnvelopeTimesOut(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := MustNew(t, Options{AckTimeout: timeout})
	c := connect(t, s)
	ctx := testContext(t)

	id, err := s.SendSlashCommand(ctx, SlashCommand{UserID: "U1", Text: "slow"})
	if err != nil {
		t.Fatalf("SendSlashCommand: %v", err)
	}
	e := c.next(t, socketmode.EventTypeSlashCommand)
	env, err := s.WaitTimeout(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if env.Acked || env.Attempts != 1 {
		t.Errorf("timed-out envelope = %+v, want unacked, sent once (Slack does not retry slash commands)", env)
	}
	if got := s.Unacked(); len(got) != 1 || got[0].ID != id {
		t.Errorf("Unacked() = %+v, want %s", got, id)
	}

	// A late ack is recorded, but the timeout stays on record.
	ack := c.ack(t, s, e, id)
	if ack.Latency < timeout {
		t.Errorf("late ack latency = %v, want at least %v", ack.Latency, timeout)
	}
	if got := s.Unacked(); len(got) != 0 {
		t.Errorf("Unacked() after the late ack = %+v, want none", got)
	}
	if got := s.TimedOut(); len(got) != 1 || got[0].ID != id || !got[0].Acked {
		t.Errorf("TimedOut() = %+v, want %s, acked late", got, id)
	}
}

func TestTimedOutEnvelopeRetried(t *testing.T) {
	s := MustNew(t, Options{AckTimeout: 100 * time.Millisecond, MaxRetries: 1})
	c := connect(t, s)
	ctx := testContext(t)

	id, err := s.SendInteractive(ctx, json.RawMessage(`{"type":"block_actions","actions":[]}`))
	if err != nil {
		t.Fatalf("SendInteractive: %v", err)
	}
	first := c.next(t, socketmode.EventTypeInteractive).Request
	retry := c.next(t, socketmode.EventTypeInteractive).Request
	if first.RetryAttempt != 0 || retry.EnvelopeID != id || retry.RetryAttempt != 1 || retry.RetryReason != "timeout" {
		t.Errorf("first %+v, retry %+v; want the same envelope retried once for timeout", first, retry)
	}
	if err := c.sm.Ack(*retry); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if _, err := s.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := s.Envelopes(); len(got) != 1 || got[0].Attempts != 2 || !got[0].TimedOut {
		t.Errorf("Envelopes() = %+v, want one, sent twice, timed out", got)
	}
}

func TestSendWithoutConnection(t *testing.T) {
	s := MustNew(t, Options{})
	ctx := testContext(t)
	if _, err := s.SendSlashCommand(ctx, SlashCommand{UserID: "U1"}); !errors.Is(err, ErrNoConnection) {
		t.Errorf("SendSlashCommand = %v, want ErrNoConnection", err)
	}
	if _, err := s.SendInteractive(ctx, map[string]any{"type": "block_actions"}); !errors.Is(err, ErrNoConnection) {
		t.Errorf("SendInteractive = %v, want ErrNoConnection", err)
	}
	if got := s.Envelopes(); len(got) != 0 {
		t.Errorf("Envelopes() = %+v, want none", got)
	}
}
