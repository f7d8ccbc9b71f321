package handlers

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/tasks"
)

// SlackProgress shows each run as one Slack message in the requester's DM
// with the bot, edited as steps finish. Updates are coalesced (only the
// newest state of a run is sent) and paced to one message per second per
// channel, as Slack asks; a 429 waits for its Retry-After.
type SlackProgress struct {
	api    *slack.Client
	runs   runMessages
	logger *slog.Logger
	domain string
	now    func() time.Time

	mu      sync.Mutex
	pending map[int64]tasks.Run
	msgs    map[int64]msgRef     // run ID → its message
	next    map[string]time.Time // channel → earliest next send
	wake    chan struct{}
}

var _ tasks.ProgressReporter = (*SlackProgress)(nil)

// runMessages records where a run's message is, so that a resumed run
// edits it rather than posting a new one (tasks.RunService does).
type runMessages interface {
	SetRunMessage(ctx context.Context, id int64, channel, ts string) error
}

// NewSlackProgress returns a reporter posting through api and recording its
// messages in runs; Run sends. now is the clock that paces sends
// (time.Now in production).
func NewSlackProgress(api *slack.Client, domain string, runs runMessages, now func() time.Time, logger *slog.Logger) *SlackProgress {
	return &SlackProgress{
		api: api, runs: runs, logger: logger, domain: domain, now: now,
		pending: map[int64]tasks.Run{}, msgs: map[int64]msgRef{}, next: map[string]time.Time{},
		wake: make(chan struct{}, 1),
	}
}

// Report queues the run's newest state.
func (p *SlackProgress) Report(_ context.Context, r tasks.Run) {
	p.mu.Lock()
	p.pending[r.ID] = r
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run sends queued updates until ctx ends, then makes a last attempt to
// flush what is queued (bounded by a few seconds).
func (p *SlackProgress) Run(ctx context.Context) {
	for {
		wait := p.sendDue(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			p.flush(ctx)
			return
		case <-p.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// flushTimeout bounds the last attempt to send what is queued at shutdown.
const flushTimeout = 5 * time.Second

// flush sends what is queued until nothing is or flushTimeout has passed.
// What cannot be sent before then (Slack said Retry-After a minute) is
// left: waiting for it would hold up the shutdown.
func (p *SlackProgress) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	for p.hasPending() {
		t := time.NewTimer(p.sendDue(fctx))
		select {
		case <-fctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (p *SlackProgress) hasPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) > 0
}

// sendDue sends one update per channel that may send now and returns how
// long to wait before the next is due.
func (p *SlackProgress) sendDue(ctx context.Context) time.Duration {
	now := p.now()
	wait := time.Hour
	p.mu.Lock()
	var due []tasks.Run
	busy := map[string]bool{}
	for id, r := range p.pending {
		ch := r.Channel
		if busy[ch] {
			continue
		}
		if at := p.next[ch]; now.Before(at) {
			wait = min(wait, at.Sub(now))
			continue
		}
		busy[ch] = true
		due = append(due, r)
		delete(p.pending, id)
		p.next[ch] = now.Add(time.Second)
	}
	p.mu.Unlock()
	for _, r := range due {
		if err := p.send(ctx, r); err != nil {
			var rl *slack.RateLimitedError
			p.mu.Lock()
			if _, newer := p.pending[r.ID]; !newer {
				p.pending[r.ID] = r // try again later
			}
			switch {
			case errors.As(err, &rl):
				p.next[r.Channel] = p.now().Add(rl.RetryAfter)
			case ctx.Err() != nil:
				// Stopped mid-send: the shutdown's flush tries again at once.
				p.next[r.Channel] = p.now()
			default:
				p.next[r.Channel] = p.now().Add(5 * time.Second)
				p.logger.WarnContext(ctx, "progress message failed", "run_id", r.ID, "err", err)
			}
			p.mu.Unlock()
		}
		wait = min(wait, time.Second)
	}
	if len(due) > 0 || p.hasPending() {
		wait = min(wait, time.Second)
	}
	return wait
}

func (p *SlackProgress) send(ctx context.Context, r tasks.Run) error {
	text := progressText(r, p.domain)
	blocks, fallback := RenderBlocks(Textf("%s", text))
	opts := []slack.MsgOption{slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)}
	p.mu.Lock()
	m, ok := p.msgs[r.ID]
	p.mu.Unlock()
	if !ok && r.MessageTS != "" {
		// A run resumed after a restart: its message is in the store.
		m, ok = msgRef{channel: r.Channel, ts: r.MessageTS}, true
	}
	if !ok {
		// Posting to a user ID opens the bot's DM with them; Slack answers
		// with the DM's channel ID, which chat.update needs.
		ch, ts, err := p.api.PostMessageContext(ctx, r.Channel, opts...)
		if err != nil {
			return err
		}
		if r.State == tasks.RunRunning {
			p.mu.Lock()
			p.msgs[r.ID] = msgRef{channel: ch, ts: ts}
			p.mu.Unlock()
			if err := p.runs.SetRunMessage(ctx, r.ID, ch, ts); err != nil {
				p.logger.WarnContext(ctx, "record progress message", "run_id", r.ID, "err", err)
			}
		}
		return nil
	}
	if _, _, _, err := p.api.UpdateMessageContext(ctx, m.channel, m.ts, opts...); err != nil {
		return err
	}
	p.mu.Lock()
	if r.State == tasks.RunRunning {
		p.msgs[r.ID] = m
	} else {
		delete(p.msgs, r.ID) // finished: the message will not change again
	}
	p.mu.Unlock()
	return nil
}

type msgRef struct{ channel, ts string }
