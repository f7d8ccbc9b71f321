package slacksim

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// A view opened with a slash command's trigger is recorded for that user;
// its submission reaches the client with the typed values, and the ack's
// field errors are read back, checked against the view's input blocks.
func TestViewOpenSubmitAndErrors(t *testing.T) {
	s := MustNew(t, Options{})
	c := connect(t, s)
	ctx := testContext(t)
	if _, err := s.SendSlashCommand(ctx, SlashCommand{UserID: "U0EMMA001", ChannelID: "C0CLASS01", Text: "password"}); err != nil {
		t.Fatal(err)
	}
	e := c.next(t, socketmode.EventTypeSlashCommand)
	c.sm.Ack(*e.Request)
	cmd := e.Data.(slack.SlashCommand)
	input := slack.NewInputBlock("pw_block", slack.NewTextBlockObject(slack.PlainTextType, "Password", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "pw"))
	view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "cb", PrivateMetadata: "C0CLASS01",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "T", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{input}}}
	if _, err := c.api.OpenViewContext(ctx, cmd.TriggerID, view); err != nil {
		t.Fatal(err)
	}
	views := s.Views()
	if len(views) != 1 {
		t.Fatalf("Views() = %+v, want 1", views)
	}
	v := views[0]
	if v.UserID != "U0EMMA001" || v.CallbackID != "cb" || v.PrivateMetadata != "C0CLASS01" || len(v.InputBlocks) != 1 || v.InputBlocks[0] != "pw_block" {
		t.Errorf("view = %+v, want emma's, cb, C0CLASS01, input pw_block", v)
	}

	for _, tc := range []struct {
		ack     any
		want    map[string]string
		wantErr string
	}{
		{slack.NewErrorsViewSubmissionResponse(map[string]string{"pw_block": "too short"}), map[string]string{"pw_block": "too short"}, ""},
		{nil, nil, ""},
		{slack.NewErrorsViewSubmissionResponse(map[string]string{"other": "x"}), nil, "not an input block"},
	} {
		id, err := s.SubmitView(ctx, v, map[string]map[string]string{"pw_block": {"pw": "typed value"}})
		if err != nil {
			t.Fatal(err)
		}
		ev := c.next(t, socketmode.EventTypeInteractive)
		cb := ev.Data.(slack.InteractionCallback)
		if cb.Type != slack.InteractionTypeViewSubmission || cb.User.ID != "U0EMMA001" || cb.View.CallbackID != "cb" ||
			cb.View.PrivateMetadata != "C0CLASS01" || cb.View.State.Values["pw_block"]["pw"].Value != "typed value" {
			t.Fatalf("submission = %+v, want emma's view_submission with the typed value", cb)
		}
		if tc.ack == nil {
			c.sm.Ack(*ev.Request)
		} else {
			c.sm.Ack(*ev.Request, tc.ack)
		}
		got, err := s.SubmissionErrors(ctx, id, v)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SubmissionErrors = %v, %v; want an error with %q", got, err, tc.wantErr)
			}
		case err != nil || len(got) != len(tc.want) || got["pw_block"] != tc.want["pw_block"]:
			t.Errorf("SubmissionErrors = %v, %v; want %v", got, err, tc.want)
		}
	}
}
