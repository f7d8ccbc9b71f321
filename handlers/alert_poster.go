package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/tasks"
)

// Action IDs of the buttons on a firing alert; their value is the VM name.
const (
	ActionAlertMute  = "cicf_alert_mute"
	ActionAlertCheck = "cicf_alert_check"
)

// SlackMessenger posts messages; *slack.Client implements it.
type SlackMessenger interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
}

// AlertPosterConfig is what the poster is told.
type AlertPosterConfig struct {
	// Channel is the class channel's ID; "" sends alerts to the log only
	// (the alerts verb still shows them).
	Channel string
	// Domain makes VM names into host names.
	Domain string
	// Location is the class's time zone, for the times in messages.
	Location *time.Location
	// Interval is the tick: at most one message to the channel per tick,
	// which is Slack's limit of one per second per channel. Default 1 s.
	Interval time.Duration
	// Costs, if set, puts what the class costs a day in the digest.
	Costs CostReporter
	// Leases and Holder, if set, let replicas on one database share the
	// outbox: only the replica holding the poster's lease posts, so an
	// event is not posted once per replica. nil: this is the only one.
	Leases tasks.Leases
	Holder string
}

// posterLease names the poster's lease. It lasts posterLeaseTTL and is
// renewed once half of it has passed: a tick (at most tickTimeout) never
// outlives it, and a replica that dies hands the outbox on within it.
const (
	posterLease    = "alert-poster"
	posterLeaseTTL = 2 * time.Minute
)

// AlertPoster sends the alert outbox to Slack: one message per tick to the
// class channel, batching the events of a kind, with the incidents' threads,
// and a DM to a student about their own VM. An event is marked sent only
// after Slack took it, so a restart loses nothing; the outbox keeps what is
// owed, so the poster holds no state that matters.
type AlertPoster struct {
	cfg      AlertPosterConfig
	alerts   tasks.AlertService
	students tasks.StudentService
	slack    SlackMessenger
	logger   *slog.Logger
	now      func() time.Time
	render   alertRender
	// holdUntil is when Slack allows the next message after a 429.
	holdUntil time.Time
	// renewAt is when the poster's lease, taken at renewAt minus half its
	// TTL, is to be renewed; zero when it was never taken. Past it, the
	// lease may have gone to another replica: the next tick asks again.
	renewAt time.Time
}

// NewAlertPoster returns a poster; Run it.
func NewAlertPoster(cfg AlertPosterConfig, alerts tasks.AlertService, students tasks.StudentService, api SlackMessenger, logger *slog.Logger, now func() time.Time) *AlertPoster {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	return &AlertPoster{
		cfg: cfg, alerts: alerts, students: students, slack: api, logger: logger, now: now,
		render: alertRender{domain: cfg.Domain, loc: cfg.Location},
	}
}

// Run ticks until ctx ends (see runTicks), then gives up the poster's
// lease so that another replica posts at once.
func (p *AlertPoster) Run(ctx context.Context) {
	runTicks(ctx, p.cfg.Interval, tickTimeout, p.logger, "post alerts", func(ctx context.Context) error {
		_, err := p.Tick(ctx)
		return err
	})
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tickTimeout)
	defer cancel()
	p.releaseLease(rctx)
}

// holdLease reports whether this replica may post: it has no Leases, or it
// holds the poster's lease (taken or renewed here once half of it passed).
func (p *AlertPoster) holdLease(ctx context.Context) (bool, error) {
	if p.cfg.Leases == nil {
		return true, nil
	}
	now := p.now()
	if !p.renewAt.IsZero() && now.Before(p.renewAt) {
		return true, nil
	}
	held, err := p.cfg.Leases.Acquire(ctx, posterLease, p.cfg.Holder, posterLeaseTTL)
	if err != nil {
		return false, fmt.Errorf("poster lease: %w", err)
	}
	if !held {
		return false, nil
	}
	p.renewAt = now.Add(posterLeaseTTL / 2)
	return true, nil
}

// releaseLease hands the outbox to another replica at once when this one
// stops, instead of after the lease runs out.
func (p *AlertPoster) releaseLease(ctx context.Context) {
	if p.cfg.Leases == nil || p.renewAt.IsZero() {
		return
	}
	if err := p.cfg.Leases.Release(ctx, posterLease, p.cfg.Holder); err != nil {
		p.logger.WarnContext(ctx, "release the poster lease", "err", err)
	}
	p.renewAt = time.Time{}
}

// tickTimeout bounds one tick: a post, the DMs and the marks.
const tickTimeout = 30 * time.Second

// pendingLimit bounds the outbox read per tick; a batch longer than this
// waits for the next tick.
const pendingLimit = 100

// Tick sends at most one message to the class channel (and the students'
// DMs that go with it) and returns how many events it marked sent. It sends
// nothing while Slack's Retry-After lasts.
func (p *AlertPoster) Tick(ctx context.Context) (int, error) {
	if p.now().Before(p.holdUntil) {
		return 0, nil
	}
	if held, err := p.holdLease(ctx); !held || err != nil {
		return 0, err
	}
	pending, err := p.alerts.PendingEvents(ctx, pendingLimit)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	batch := nextBatch(pending)
	if len(batch) == 0 {
		return 0, nil
	}
	ts := ""
	if p.cfg.Channel == "" {
		for _, ev := range batch {
			p.logger.InfoContext(ctx, "alert", "kind", string(ev.Kind), "vm", ev.VM, "check", ev.Check, "detail", ev.Detail)
		}
	} else {
		ts, err = p.post(ctx, batch)
		if errors.Is(err, errHeld) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		p.dmStudents(ctx, batch)
	}
	n := 0
	for _, ev := range batch {
		thread := ""
		if ev.Kind == tasks.EventFiring || ev.Kind == tasks.EventFlapping {
			thread = ts
		}
		if err := p.alerts.MarkSent(ctx, ev.ID, thread, p.now()); err != nil {
			return n, fmt.Errorf("mark alert event %d sent: %w", ev.ID, err)
		}
		n++
	}
	return n, nil
}

// post sends batch as one message and returns its ts.
func (p *AlertPoster) post(ctx context.Context, batch []tasks.AlertEvent) (string, error) {
	text := p.render.message(batch)
	if batch[0].Kind == tasks.EventDigest {
		text = p.digestMessage(ctx, batch[0])
	}
	rep := Textf("%s", text)
	blocks, fallback := RenderBlocks(rep)
	if batch[0].Kind == tasks.EventFiring {
		blocks = append(blocks, alertButtons(alertVMs(batch))...)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)}
	if th := batch[0].ThreadTS; th != "" && inThread(batch[0].Kind) {
		opts = append(opts, slack.MsgOptionTS(th))
		if batch[0].Kind == tasks.EventResolved {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	_, ts, err := p.slack.PostMessageContext(ctx, p.cfg.Channel, opts...)
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		p.holdUntil = p.now().Add(rl.RetryAfter)
		p.logger.WarnContext(ctx, "slack rate limit; holding alerts", "retry_after", rl.RetryAfter.String())
		return "", errHeld
	}
	if err != nil {
		// A refusal such as not_in_channel lasts until someone fixes it:
		// try again in a while rather than every tick.
		p.holdUntil = p.now().Add(errorBackoff)
		return "", fmt.Errorf("post %d %s alert events to %s: %w", len(batch), batch[0].Kind, p.cfg.Channel, err)
	}
	return ts, nil
}

// errorBackoff is how long the poster waits after Slack refused a message.
const errorBackoff = 15 * time.Second

// errHeld says Slack asked the poster to wait; the events stay pending.
var errHeld = errors.New("held by Slack's rate limit")

// inThread reports whether events of kind k go in their incident's thread.
func inThread(k tasks.EventKind) bool {
	return k == tasks.EventReminder || k == tasks.EventEscalated || k == tasks.EventResolved
}

// alertButtons returns, per VM (at most 10), the Mute 1 h and Check now
// buttons. Who may press them is checked on the click.
func alertButtons(vms []string) []slack.Block {
	var out []slack.Block
	for i, vm := range vms {
		if i == 10 {
			break
		}
		label := func(s string) *slack.TextBlockObject {
			return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
		}
		mute := slack.NewButtonBlockElement(ActionAlertMute, vm, label("Mute "+vm+" 1 h"))
		check := slack.NewButtonBlockElement(ActionAlertCheck, vm, label("Check "+vm+" now"))
		out = append(out, slack.NewActionBlock("cicf_alert_"+vm, mute, check))
	}
	return out
}

// dmStudents tells each student whose VM is in batch, once, what is wrong
// and how to fix it, or that it is fixed. A DM that fails is logged, not
// retried: the channel message is the record.
func (p *AlertPoster) dmStudents(ctx context.Context, batch []tasks.AlertEvent) {
	k := batch[0].Kind
	if k != tasks.EventFiring && k != tasks.EventResolved {
		return
	}
	byVM := map[string][]tasks.AlertEvent{}
	for _, ev := range batch {
		if ev.VM != "" {
			byVM[ev.VM] = append(byVM[ev.VM], ev)
		}
	}
	for _, vm := range alertVMs(batch) {
		st, err := p.students.FindStudent(ctx, vm)
		if err != nil || st.SlackID == "" {
			continue // a VM of no one on the roster: the channel was told
		}
		text := p.render.studentDM(byVM[vm])
		if _, _, err := p.slack.PostMessageContext(ctx, st.SlackID, slack.MsgOptionText(text, false)); err != nil {
			p.logger.WarnContext(ctx, "alert DM to student", "vm", vm, "user_id", st.SlackID, "err", err)
		}
	}
}

// nextBatch picks from the pending events, oldest first, the next message:
// the oldest event and every later one that can share its message (same
// kind, same thread). An event whose incident has an earlier event left
// waiting is not taken, so an incident's messages keep their order.
func nextBatch(pending []tasks.AlertEvent) []tasks.AlertEvent {
	if len(pending) == 0 {
		return nil
	}
	first := pending[0]
	batch := []tasks.AlertEvent{first}
	if first.Kind == tasks.EventDigest {
		return batch
	}
	type incident struct {
		vm, check string
		n         int64
	}
	waiting := map[incident]bool{}
	for _, ev := range pending[1:] {
		key := incident{ev.VM, ev.Check, ev.Incident}
		if ev.Kind == first.Kind && !waiting[key] && (!inThread(ev.Kind) || ev.ThreadTS == first.ThreadTS) {
			batch = append(batch, ev)
			continue
		}
		waiting[key] = true
	}
	return batch
}
