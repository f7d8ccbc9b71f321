package slacksim

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestMessagesRecordThreadAndBroadcast(t *testing.T) {
	s := MustNew(t, Options{})
	api := newAPI(s, "xoxb-test", "xapp-test")
	ctx := testContext(t)
	_, top, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("down", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("still down", false), slack.MsgOptionTS(top)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("fixed", false), slack.MsgOptionTS(top), slack.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U2", slack.MsgOptionText("a DM", false)); err != nil {
		t.Fatal(err)
	}
	got := s.Messages("C1")
	if len(got) != 3 {
		t.Fatalf("Messages(C1) = %d messages, want 3", len(got))
	}
	want := []struct {
		text, thread string
		broadcast    bool
	}{{"down", "", false}, {"still down", top, false}, {"fixed", top, true}}
	for i, w := range want {
		if got[i].Text != w.text || got[i].ThreadTS != w.thread || got[i].Broadcast != w.broadcast || got[i].TS == "" {
			t.Errorf("message %d = %+v, want text %q thread %q broadcast %v", i, got[i], w.text, w.thread, w.broadcast)
		}
	}
	if all := s.Messages(""); len(all) != 4 || all[3].Channel != "U2" {
		t.Errorf("Messages(\"\") = %+v, want 4 with the DM last", all)
	}
	ms, err := s.WaitMessages(ctx, "C1", 1, func(m Message) bool { return m.Broadcast })
	if err != nil || len(ms) != 1 || ms[0].Text != "fixed" {
		t.Errorf("WaitMessages(broadcast) = %+v, %v", ms, err)
	}
}

// TestChannelBurstLimit: past the burst, a channel's next message gets 429
// with a Retry-After that slack-go reports; other channels are not held.
func TestChannelBurstLimit(t *testing.T) {
	s := MustNew(t, Options{ChannelBurst: 2})
	api := newAPI(s, "xoxb-test", "xapp-test")
	ctx := testContext(t)
	for i := range 2 {
		if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("ok", false)); err != nil {
			t.Fatalf("message %d within the burst: %v", i, err)
		}
	}
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("one too many", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter < time.Second {
		t.Fatalf("third message = %v, want *slack.RateLimitedError with Retry-After ≥ 1s", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("other channel", false)); err != nil {
		t.Errorf("another channel: %v, want it allowed", err)
	}
	if n := len(s.Messages("C1")); n != 2 {
		t.Errorf("C1 holds %d messages, want 2 (the refused one is not recorded)", n)
	}
	if n := len(s.RateLimited()); n != 1 {
		t.Errorf("RateLimited() = %d calls, want 1", n)
	}
}

// TestSendBlockAction: slack-go decodes the click into the fields a bot
// reads (user, channel, action ID, value, message ts).
func TestSendBlockAction(t *testing.T) {
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)
	if _, err := s.SendBlockAction(ctx, BlockAction{UserID: "U1", ChannelID: "C1", MessageTS: "1.000100", ActionID: "mute", BlockID: "b", Value: "emma"}); err != nil {
		t.Fatal(err)
	}
	evt := c.next(t, socketmode.EventTypeInteractive)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		t.Fatalf("data %T, want slack.InteractionCallback", evt.Data)
	}
	act := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U1" || cb.Channel.ID != "C1" ||
		cb.Container.MessageTs != "1.000100" || len(act) != 1 || act[0].ActionID != "mute" || act[0].Value != "emma" || cb.ResponseURL == "" {
		t.Fatalf("callback = %+v, want U1's click of mute=emma in C1 on 1.000100 with a response URL", cb)
	}
}
