package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/slacksim"
)

// buttonValue returns the value of the reply's confirm button.
func buttonValue(t *testing.T, e *serveEnv, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.slack.WaitResponse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Style    string `json:"style"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(resp.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			if b.Type == "actions" && el.ActionID == "cicf_confirm" && el.Style == "danger" {
				return el.Value
			}
		}
	}
	t.Fatalf("reply has no confirm button: %s", resp.Blocks)
	return ""
}

// click sends a block_actions interaction as user and returns the reply.
func (e *serveEnv) click(t *testing.T, user, actionID, value string) slacksim.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	id, err := e.slack.SendInteractive(ctx, map[string]any{
		"type":      "block_actions",
		"user":      map[string]any{"id": user, "username": "someone", "team_id": "T0CICF"},
		"team":      map[string]any{"id": "T0CICF", "domain": "cicf"},
		"channel":   map[string]any{"id": "C0CLASS01", "name": "class"},
		"container": map[string]any{"type": "message", "is_ephemeral": true},
		"actions":   []map[string]any{{"action_id": actionID, "block_id": "cicf_confirm", "value": value, "type": "button", "action_ts": "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.slack.WaitAck(ctx, id); err != nil {
		t.Fatalf("no ack for the click: %v", err)
	}
	resp, err := e.slack.WaitResponse(ctx, id)
	if err != nil {
		t.Fatalf("no reply to the click: %v", err)
	}
	return resp
}

func TestServeDestroyAsksWithButtonAndShowsProgress(t *testing.T) {
	e := startServe(t)
	e.do.AddDomain("cicf.cloud")
	expectReply(t, e.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma>"), "Added `emma`")

	ask := e.sendAcked(t, e2eTeacher, "destroy emma")
	value := buttonValue(t, e, ask)

	// Only the requester may confirm; the stranger's click changes nothing.
	if r := e.click(t, e2eEmma, "cicf_confirm", value); !strings.Contains(r.Text, "Only the person who asked") || r.ReplaceOriginal {
		t.Errorf("someone else's click = %q (replace %v), want a refusal that keeps the buttons", r.Text, r.ReplaceOriginal)
	}
	r := e.click(t, e2eTeacher, "cicf_confirm", value)
	if !strings.Contains(r.Text, "Destroying `emma`") || !r.ReplaceOriginal {
		t.Errorf("confirm click = %q (replace %v), want the run started in place of the question", r.Text, r.ReplaceOriginal)
	}
	if r := e.click(t, e2eTeacher, "cicf_confirm", value); !strings.Contains(r.Text, "no longer valid") {
		t.Errorf("second click = %q, want it refused", r.Text)
	}

	// Progress: one message in the instructor's DM, then edits until done.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	post, err := e.slack.WaitCall(ctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Param("channel") == e2eTeacher })
	if err != nil {
		t.Fatalf("no progress message: %v", err)
	}
	if _, err := e.slack.WaitCall(ctx, "chat.update", func(c slacksim.Call) bool {
		return strings.Contains(c.Param("text")+string(c.JSON)+c.Params.Encode(), "Done")
	}); err != nil {
		t.Fatalf("progress message never said Done: %v\nfirst post: %+v", err, post)
	}
	for _, d := range e.do.Droplets() {
		if d.Name == "emma.cicf.cloud" {
			t.Errorf("droplet %d still exists after destroy", d.ID)
		}
	}
	expectReply(t, e.send(t, e2eTeacher, "runs"), "destroy of emma — :white_check_mark: done")

	// Cancel drops the offer.
	value = buttonValue(t, e, e.sendAcked(t, e2eTeacher, "destroy emma"))
	if r := e.click(t, e2eTeacher, "cicf_cancel", value); !strings.Contains(r.Text, "Cancelled") || !r.ReplaceOriginal {
		t.Errorf("cancel click = %q (replace %v), want Cancelled in place of the question", r.Text, r.ReplaceOriginal)
	}
	if r := e.click(t, e2eTeacher, "cicf_confirm", value); !strings.Contains(r.Text, "no longer valid") {
		t.Errorf("confirm after cancel = %q, want it refused", r.Text)
	}
}
