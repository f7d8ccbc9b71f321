package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cicf/cicf-bot/internal/slacksim"
)

// instructorID is the one instructor (CICF_INSTRUCTORS); students and
// strangers get IDs from their number.
const instructorID = "U0TEACH01"

func studentName(i int) string { return fmt.Sprintf("s%02d", i) }
func studentID(i int) string   { return fmt.Sprintf("U0STU%04d", i) }
func strangerID(i int) string  { return fmt.Sprintf("U0NOB%04d", i) }

// command is the i-th command of a burst over a class of n students: a
// fixed rotation of instructor, student and stranger commands, so that
// every bot gets the same burst. Every command reads the roster and is audited;
// the third that are instructor and student status also list the droplets
// and record the VMs.
func command(i, n int) slacksim.SlashCommand {
	k := i/6%n + 1
	c := slacksim.SlashCommand{ChannelID: "C0CLASS01", ChannelName: "class"}
	switch i % 6 {
	case 0:
		c.UserID, c.UserName, c.Text = instructorID, "teacher", "status all"
	case 1:
		c.UserID, c.UserName, c.Text = studentID(k), studentName(k), "status"
	case 2:
		c.UserID, c.UserName, c.Text = instructorID, "teacher", "help"
	case 3:
		c.UserID, c.UserName, c.Text = studentID(k), studentName(k), "help"
	case 4:
		c.UserID, c.UserName, c.Text = strangerID(k), "", "status"
	case 5:
		c.UserID, c.UserName, c.Text = strangerID(k), "", "help"
	}
	return c
}

// seed adds the class to the roster from the instructor, one command at a
// time, and returns the replies that do not look like success.
func seed(ctx context.Context, in *instance, class int) ([]string, error) {
	var odd []string
	for i := 1; i <= class; i++ {
		id, err := in.sim.SendSlashCommand(ctx, slacksim.SlashCommand{
			UserID: instructorID, UserName: "teacher", ChannelID: "C0CLASS01",
			Text: fmt.Sprintf("roster add %s <@%s|%s>", studentName(i), studentID(i), studentName(i)),
		})
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", studentName(i), err)
		}
		resp, err := in.sim.WaitResponse(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", studentName(i), err)
		}
		if !strings.HasPrefix(resp.Text, "Added") && resp.Text != "ok" {
			odd = append(odd, resp.Text)
		}
	}
	return odd, nil
}

// result is one burst's outcome.
type result struct {
	sent      int
	acks      []time.Duration // first ack of each envelope, sorted
	timeouts  int             // envelopes not acked within Slack's 3 s
	replies   int             // envelopes answered through response_url by the deadline
	internal  int             // replies that say "Internal error"
	stale     int             // replies that say DigitalOcean is not answering
	lastReply time.Duration   // first send to last reply
	peakKiB   int             // VmHWM at the end of the burst
	// peakSinceStart is set when VmHWM could not be reset before the
	// burst, so peakKiB is the peak since the process started.
	peakSinceStart bool
	load           float64 // /proc/loadavg's 1-minute figure just before the burst
	sendErrs       []error
	samples        map[string]string // one reply text per command text, for -v
	envelopes      []envelopeTrace   // in the order the commands were built
}

// envelopeTrace is one command of a burst, for -csv. Times run from the
// burst's first send; -1 means it never happened.
type envelopeTrace struct {
	user, text  string
	sent, ack   time.Duration // send time; ack latency (from its own send)
	reply       time.Duration // when the reply arrived
	internalErr bool
	stale       bool
}

// burst fires n commands at once and waits, up to replyTimeout, for every
// ack and reply.
func burst(ctx context.Context, in *instance, n, class int, replyTimeout time.Duration) result {
	pid := in.cmd.Process.Pid
	peakReset := resetPeak(pid) == nil
	load := loadAvg()

	cmds := make([]slacksim.SlashCommand, n)
	for i := range cmds {
		cmds[i] = command(i, class)
	}
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			ids[i], errs[i] = in.sim.SendSlashCommand(ctx, cmds[i])
		})
	}
	close(gate)
	wg.Wait()

	dctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	// One waiter at a time: 200 concurrent waiters would each rescan the
	// stand-in's state on every change and compete with the bot for CPU.
	for _, id := range ids {
		if id != "" {
			_, _ = in.sim.WaitAck(dctx, id)
		}
	}
	for _, id := range ids {
		if id != "" {
			_, _ = in.sim.WaitResponse(dctx, id)
		}
	}

	r := result{samples: map[string]string{}, load: load}
	for _, err := range errs {
		if err != nil {
			r.sendErrs = append(r.sendErrs, err)
		}
	}
	mine := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			mine[id] = true
			r.sent++
		}
	}
	first := map[string]slacksim.Ack{}
	for _, a := range in.sim.Acks() {
		if _, seen := first[a.EnvelopeID]; mine[a.EnvelopeID] && !seen {
			first[a.EnvelopeID] = a
		}
	}
	const slackAckTimeout = 3 * time.Second
	var start time.Time
	sentAt := map[string]time.Time{}
	for _, e := range in.sim.Envelopes() {
		if !mine[e.ID] {
			continue
		}
		sentAt[e.ID] = e.SentAt
		if start.IsZero() || e.SentAt.Before(start) {
			start = e.SentAt
		}
		a, acked := first[e.ID]
		if acked {
			r.acks = append(r.acks, a.Latency)
		}
		if e.TimedOut || !acked || a.Latency > slackAckTimeout {
			r.timeouts++
		}
	}
	slices.Sort(r.acks)
	for i, id := range ids {
		t := envelopeTrace{user: cmds[i].UserID, text: cmds[i].Text, sent: -1, ack: -1, reply: -1}
		if at, ok := sentAt[id]; ok {
			t.sent = at.Sub(start)
		}
		if a, ok := first[id]; ok {
			t.ack = a.Latency
		}
		rs := in.sim.Responses(id)
		if id != "" && len(rs) > 0 {
			t.reply = rs[0].At.Sub(start)
			t.internalErr = strings.Contains(rs[0].Text, "Internal error")
			t.stale = strings.Contains(rs[0].Text, "DigitalOcean is not answering")
		}
		r.envelopes = append(r.envelopes, t)
		if t.reply < 0 {
			continue
		}
		r.replies++
		if t.internalErr {
			r.internal++
		}
		if t.stale {
			r.stale++
		}
		if d := rs[0].At.Sub(start); d > r.lastReply {
			r.lastReply = d
		}
		if _, ok := r.samples[cmds[i].Text]; !ok {
			r.samples[cmds[i].Text] = rs[0].Text
		}
	}
	if m, err := readMemory(pid); err == nil {
		r.peakKiB, r.peakSinceStart = m.hwm, !peakReset
	}
	return r
}

// percentile returns the nearest-rank p-th percentile of sorted, 0 if empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := min(max(int(math.Ceil(p/100*float64(len(sorted)))), 1), len(sorted))
	return sorted[rank-1]
}
