package handlers

import (
	"context"
	"regexp"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// IDs of the password modal; the submission is recognised by them.
const (
	ViewPassword        = "cicf_password" // callback_id
	BlockPassword       = "cicf_password" // the input block, where errors show
	ActionPasswordInput = "password"
)

// channelRE is what private_metadata may hold: the channel the command was
// typed in, where the outcome is posted (ephemeral).
var channelRE = regexp.MustCompile(`^[CDG][A-Z0-9]{2,20}$`)

// passwordView is the modal that asks for the JupyterLab password.
func passwordView(channelID string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "at least 12 characters", false, false), ActionPasswordInput)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ViewPassword,
		PrivateMetadata: channelID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "JupyterLab password", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Set password", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
				"The password for your JupyterLab page (user `cicf`). The bot keeps only a bcrypt hash on your VM, never the password. "+
					"Slack shows what you type here, so make sure nobody is looking.", false, false), nil, nil),
			slack.NewInputBlock(BlockPassword, slack.NewTextBlockObject(slack.PlainTextType, "New password", false, false),
				slack.NewTextBlockObject(slack.PlainTextType, "12 or more characters, up to 72 bytes; not your name or your VM's name.", false, false), input),
		}},
	}
}

// openPasswordForm opens the modal with the slash command's trigger, which
// Slack honours for 3 s: it runs right after the ack, outside the queue of
// commands.
func (b *SlackBot) openPasswordForm(ctx context.Context, cmd slack.SlashCommand) error {
	_, err := b.api.OpenViewContext(ctx, cmd.TriggerID, passwordView(cmd.ChannelID))
	return err
}

// submitPassword answers a submission of the password modal. The ack
// carries the verdict: errors on the field keep the modal open; a plain
// ack closes it, and the outcome follows ephemerally (or in a DM) once the
// VM has the new password.
func (b *SlackBot) submitPassword(ctx context.Context, req *socketmode.Request, cb slack.InteractionCallback) {
	pw := cb.View.State.Values[BlockPassword][ActionPasswordInput].Value
	fieldErr, refusal := b.router.CheckPassword(ctx, cb.User.ID, pw)
	if fieldErr != "" {
		b.ackWith(req, slack.NewErrorsViewSubmissionResponse(map[string]string{BlockPassword: fieldErr}))
		return
	}
	b.ackWith(req, nil)
	reply := refusal
	if reply == nil {
		b.post(ctx, cb, Textf(":hourglass_flowing_sand: Setting your JupyterLab password and checking it from outside…"))
		reply = b.router.SetPassword(ctx, cb.User.ID, pw)
	}
	b.post(ctx, cb, reply)
}

// post shows reply to the submitter only: ephemeral in the channel the
// command came from, else in their DM with the bot.
func (b *SlackBot) post(ctx context.Context, cb slack.InteractionCallback, reply *Reply) {
	blocks, fallback := RenderBlocks(reply)
	var err error
	if ch := cb.View.PrivateMetadata; channelRE.MatchString(ch) {
		if _, err = b.api.PostEphemeralContext(ctx, ch, cb.User.ID, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)); err == nil {
			return
		}
	}
	if _, _, err = b.api.PostMessageContext(ctx, cb.User.ID, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		b.logger.ErrorContext(ctx, "tell the outcome of a password form", "user_id", cb.User.ID, "err", err)
	}
}

// ackWith answers the envelope with payload (nil: a plain ack).
func (b *SlackBot) ackWith(req *socketmode.Request, payload any) {
	if req == nil {
		return
	}
	var err error
	if payload == nil {
		err = b.client.Ack(*req)
	} else {
		err = b.client.Ack(*req, payload)
	}
	if err != nil {
		b.logger.Error("ack envelope", "envelope_id", req.EnvelopeID, "err", err)
	}
}
