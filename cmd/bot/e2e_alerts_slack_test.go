package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/slacksim"
)

// The class channel as the alert tests read it, and the alert's buttons.

// messages returns the channel's messages for which match holds.
func (e *alertEnv) messages(match func(slacksim.Message) bool) []slacksim.Message {
	var out []slacksim.Message
	for _, m := range e.slack.Messages(alertChannel) {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

// waitMessage waits for a channel message for which match holds.
func (e *alertEnv) waitMessage(t *testing.T, what string, match func(slacksim.Message) bool) slacksim.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ms, err := e.slack.WaitMessages(ctx, alertChannel, 1, match)
	if err != nil {
		var texts []string
		for _, m := range e.slack.Messages(alertChannel) {
			texts = append(texts, fmt.Sprintf("%s thread=%q: %s", m.At.Format("15:04:05.000"), m.ThreadTS, m.Text))
		}
		t.Fatalf("no %s in the channel: %v\nchannel:\n%s\nbot log (end):\n%s", what, err, strings.Join(texts, "\n"), e.logTail())
	}
	return ms[0]
}

// about matches the messages posted after since that name all of words.
func about(since time.Time, threaded bool, words ...string) func(slacksim.Message) bool {
	return func(m slacksim.Message) bool {
		if !m.At.After(since) || (m.ThreadTS != "") != threaded {
			return false
		}
		for _, w := range words {
			if !strings.Contains(m.Text, w) {
				return false
			}
		}
		return true
	}
}

// clickAlert clicks a button of the alert message ts as user and returns
// the bot's answer to the click.
func (e *alertEnv) clickAlert(t *testing.T, user, actionID, ts, vm string) slacksim.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := e.slack.SendBlockAction(ctx, slacksim.BlockAction{UserID: user, ChannelID: alertChannel, MessageTS: ts, ActionID: actionID, BlockID: "cicf_alert_" + vm, Value: vm})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.slack.WaitResponse(ctx, id)
	if err != nil {
		t.Fatalf("no answer to the click: %v", err)
	}
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	if json.Unmarshal(resp.Blocks, &blocks) == nil {
		for _, b := range blocks {
			resp.Text += "\n" + b.Text.Text
		}
	}
	return resp
}
