package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/tasks"
)

// dmTries bounds how often a student's DM is tried after errors that may
// pass (a 429 does not count: it says when to come back).
const dmTries = 3

// dmRetry is the pause between tries after an error that may pass.
const dmRetry = 5 * time.Second

// dmLease is how long a claimed DM is this sender's alone. It outlasts a
// tick (dmTickTimeout), so a live sender always records its answer first;
// when it lapses the sender is presumed dead and another takes the DM.
const dmLease = 2 * time.Minute

// dmTickTimeout bounds one tick: the claim, the posts and their outcomes.
const dmTickTimeout = 30 * time.Second

// dmBatch bounds the DMs claimed per tick; more wait for the next.
const dmBatch = 20

// permanentDMErrors are Slack's answers that no retry changes: the person
// is gone, deactivated, a bot, or the ID names no one the bot can see.
var permanentDMErrors = map[string]bool{
	"channel_not_found": true, "user_not_found": true, "cannot_dm_bot": true,
	"account_inactive": true, "user_disabled": true, "is_archived": true,
	"not_in_channel": true, "invalid_arguments": true,
}

// runFinder reads a run; tasks.RunService does.
type runFinder interface {
	FindRun(ctx context.Context, id int64) (*tasks.Run, error)
}

// StudentDMConfig is what the DM sender is told.
type StudentDMConfig struct {
	// Domain makes VM names into host names.
	Domain string
	// Welcome writes the welcome DM (Router.Welcome); nil sends a short
	// text naming the next commands.
	Welcome func(ctx context.Context, name string) (*Reply, error)
	// Interval is the tick; one DM per student per tick keeps to Slack's
	// one message per second per channel. Default 1 s.
	Interval time.Duration
}

// StudentDMSender posts the DMs the store queued for students when their
// runs were recorded done (tasks.StudentDMQueue): the welcome, and the new
// host key after someone else's reset. It holds no state that matters: what
// is owed is in the store, also what an earlier process left.
//
// Delivery is at least once. A DM is claimed, counting a try, before it is
// posted, and marked done after Slack answers; a process that dies between
// the two leaves a claim that lapses, and the DM is posted again. Chosen
// over at most once because a lost reset notice leaves the student facing
// "REMOTE HOST IDENTIFICATION HAS CHANGED" with no key to check it against,
// while a repeat costs one duplicate message, in a window of one request.
// Counting the try at the claim keeps even that to dmTries posts.
type StudentDMSender struct {
	cfg    StudentDMConfig
	queue  tasks.StudentDMQueue
	runs   runFinder
	slack  SlackMessenger
	logger *slog.Logger
	now    func() time.Time
	// owner names this sender's claims; holdUntil is when Slack allows the
	// next post after a 429. Only Tick uses them, one call at a time.
	owner     string
	holdUntil time.Time
}

// NewStudentDMSender returns a sender posting through api what queue owes,
// written from the runs in runs; Run it.
func NewStudentDMSender(cfg StudentDMConfig, queue tasks.StudentDMQueue, runs runFinder, api SlackMessenger, logger *slog.Logger, now func() time.Time) *StudentDMSender {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &StudentDMSender{cfg: cfg, queue: queue, runs: runs, slack: api, logger: logger, now: now, owner: "dm-" + hex.EncodeToString(b[:])}
}

// Run ticks until ctx ends (see runTicks).
func (s *StudentDMSender) Run(ctx context.Context) {
	runTicks(ctx, s.cfg.Interval, dmTickTimeout, s.logger, "send student DMs", func(ctx context.Context) error {
		_, err := s.Tick(ctx)
		return err
	})
}

// Tick posts the DMs that are due, one per student, and returns how many
// it finished (sent, or given up). While Slack's Retry-After lasts it hands
// every DM it claimed back, untried. It returns the store's errors; a DM
// whose outcome could not be recorded stays claimed and is posted again
// when the claim lapses.
func (s *StudentDMSender) Tick(ctx context.Context) (int, error) {
	now := s.now()
	dms, err := s.queue.ClaimDMs(ctx, s.owner, now, now.Add(dmLease), dmBatch)
	if err != nil {
		return 0, err
	}
	n, busy := 0, map[string]bool{}
	var errs []error
	for _, dm := range dms {
		if busy[dm.To] || s.now().Before(s.holdUntil) {
			// A second DM to one student waits a second; all wait out a 429.
			at := now.Add(time.Second)
			if s.holdUntil.After(at) {
				at = s.holdUntil
			}
			errs = append(errs, s.retry(ctx, dm, at, true))
			continue
		}
		busy[dm.To] = true
		done, err := s.deliver(ctx, dm)
		if done {
			n++
		}
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// deliver posts dm and records what came of it; done reports that it was
// recorded done (sent or given up) rather than due again.
func (s *StudentDMSender) deliver(ctx context.Context, dm tasks.StudentDM) (done bool, err error) {
	log := s.logger.With("run_id", dm.RunID, "user_id", dm.To, "kind", string(dm.Kind))
	if dm.Tries > dmTries {
		// The last try's process died before it recorded Slack's answer.
		log.WarnContext(ctx, "student message: no answer recorded for the last try; giving up", "tries", dm.Tries)
		return true, s.finish(ctx, dm, tasks.DMGaveUp, "no answer recorded")
	}
	err = s.send(ctx, dm)
	var se slack.SlackErrorResponse
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		s.holdUntil = s.now().Add(rl.RetryAfter)
		return false, s.retry(ctx, dm, s.holdUntil, true)
	}
	switch {
	case err == nil:
		return true, s.finish(ctx, dm, tasks.DMSent, "")
	case errors.As(err, &se) && permanentDMErrors[se.Err]:
		log.WarnContext(ctx, "student cannot be messaged; not retrying", "slack_error", se.Err)
		return true, s.finish(ctx, dm, tasks.DMUnreachable, se.Err)
	case dm.Tries >= dmTries:
		log.WarnContext(ctx, "student message failed; giving up", "tries", dm.Tries, "err", err)
		return true, s.finish(ctx, dm, tasks.DMGaveUp, dmDetail(err))
	default:
		log.InfoContext(ctx, "student message failed; will retry", "tries", dm.Tries, "err", err)
		return false, s.retry(ctx, dm, s.now().Add(dmRetry), false)
	}
}

func (s *StudentDMSender) finish(ctx context.Context, dm tasks.StudentDM, outcome tasks.DMOutcome, detail string) error {
	if err := s.queue.DoneDM(ctx, dm.ID, outcome, detail, s.now()); err != nil {
		return fmt.Errorf("record DM %d %s: %w", dm.ID, outcome, err)
	}
	return nil
}

func (s *StudentDMSender) retry(ctx context.Context, dm tasks.StudentDM, at time.Time, refund bool) error {
	if _, err := s.queue.RetryDM(ctx, dm.ID, s.owner, at, refund); err != nil {
		return fmt.Errorf("hand back DM %d: %w", dm.ID, err)
	}
	return nil
}

// dmDetail is what the queue keeps of a failure: Slack's error code, or the
// start of the error (which carries no message text and no token).
func dmDetail(err error) string {
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return se.Err
	}
	d := err.Error()
	if len(d) > 200 {
		d = d[:200]
	}
	return d
}

// send writes dm from its run and posts it to the student.
func (s *StudentDMSender) send(ctx context.Context, dm tasks.StudentDM) error {
	r, err := s.runs.FindRun(ctx, dm.RunID)
	if err != nil {
		return fmt.Errorf("run %d of the %s DM: %w", dm.RunID, dm.Kind, err)
	}
	var rep *Reply
	switch dm.Kind {
	case tasks.DMWelcome:
		if rep, err = s.welcome(ctx, r.VM); err != nil {
			return err
		}
	case tasks.DMReset:
		rep = Textf("Your VM `%s.%s` was reset by %s: a fresh VM with your current SSH key and an empty home directory.%s",
			Escape(r.VM), s.cfg.Domain, who(r.RequestedBy), doneNote(*r, s.cfg.Domain))
	default:
		return fmt.Errorf("DM %d: unknown kind %q", dm.ID, dm.Kind)
	}
	blocks, fallback := RenderBlocks(rep)
	_, _, err = s.slack.PostMessageContext(ctx, dm.To, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	return err
}
