package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/tasks"
)

// dmTries bounds how often a student's DM is tried after errors that may
// pass (a 429 does not count: it says when to come back).
const dmTries = 3

// dmRetry is the pause between tries after an error that may pass.
const dmRetry = 5 * time.Second

// studentDM is a message to the student whose VM someone else changed. It
// is sent on its own, after the requester's progress message, so that a
// student who cannot be messaged never holds up or repeats the requester's.
type studentDM struct {
	run   tasks.Run
	tries int
	at    time.Time // not before
}

// permanentDMErrors are Slack's answers that no retry changes: the person
// is gone, deactivated, a bot, or the ID names no one the bot can see.
var permanentDMErrors = map[string]bool{
	"channel_not_found": true, "user_not_found": true, "cannot_dm_bot": true,
	"account_inactive": true, "user_disabled": true, "is_archived": true,
	"not_in_channel": true, "invalid_arguments": true,
}

// queueDM queues the student's DM for a finished run that asks for one.
func (p *SlackProgress) queueDM(r tasks.Run) {
	if r.State != tasks.RunDone || dmTo(r) == "" {
		return
	}
	p.mu.Lock()
	if _, queued := p.dms[r.ID]; !queued {
		p.dms[r.ID] = &studentDM{run: r, at: p.now()}
	}
	p.mu.Unlock()
}

// sendDMs sends the students' DMs that are due and returns how long until
// the next one is.
func (p *SlackProgress) sendDMs(ctx context.Context) time.Duration {
	now := p.now()
	wait := time.Hour
	p.mu.Lock()
	var due []*studentDM
	for _, d := range p.dms {
		to := dmTo(d.run)
		at := d.at
		if n := p.next[to]; n.After(at) {
			at = n
		}
		if now.Before(at) {
			wait = min(wait, at.Sub(now))
			continue
		}
		due = append(due, d)
		p.next[to] = now.Add(time.Second)
	}
	p.mu.Unlock()
	for _, d := range due {
		err := p.notifyStudent(ctx, d.run)
		p.mu.Lock()
		var rl *slack.RateLimitedError
		var se slack.SlackErrorResponse
		switch {
		case err == nil:
			delete(p.dms, d.run.ID)
		case errors.As(err, &rl):
			d.at = p.now().Add(rl.RetryAfter)
			wait = min(wait, rl.RetryAfter)
		case errors.As(err, &se) && permanentDMErrors[se.Err]:
			delete(p.dms, d.run.ID)
			p.logger.WarnContext(ctx, "student cannot be messaged; not retrying", "run_id", d.run.ID, "slack_error", se.Err)
		default:
			d.tries++
			if d.tries >= dmTries {
				delete(p.dms, d.run.ID)
				p.logger.WarnContext(ctx, "student message failed; giving up", "run_id", d.run.ID, "tries", d.tries, "err", err)
			} else {
				d.at = p.now().Add(dmRetry)
				wait = min(wait, dmRetry)
			}
		}
		p.mu.Unlock()
	}
	return wait
}

// notifyStudent tells a student whose VM someone else reset what changed
// and which host key to accept.
func (p *SlackProgress) notifyStudent(ctx context.Context, r tasks.Run) error {
	if r.Data.Welcome != "" {
		return p.sendWelcome(ctx, r)
	}
	text := fmt.Sprintf("Your VM `%s.%s` was reset by %s: a fresh VM with your current SSH key and an empty home directory.%s",
		Escape(r.VM), p.domain, who(r.RequestedBy), doneNote(r, p.domain))
	blocks, fallback := RenderBlocks(Textf("%s", text))
	_, _, err := p.api.PostMessageContext(ctx, r.Data.Notify, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	return err
}
