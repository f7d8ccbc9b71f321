package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/cicf/cicf-bot/store"
)

// dump returns the stored latest results and alert states, one a line,
// to tell why a wait ran out.
func (e *alertEnv) dump() string {
	ctx := context.Background()
	svc := store.NewAlertService(e.db)
	var b strings.Builder
	rs, err := svc.LatestResults(ctx, "")
	fmt.Fprintf(&b, "results (err %v):\n", err)
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %s %s at %s: %s\n", r.VM, r.Check, r.Status, r.At.Format("15:04:05.000"), r.Detail)
	}
	sts, err := svc.AlertStates(ctx)
	fmt.Fprintf(&b, "states (err %v):\n", err)
	for _, st := range sts {
		fmt.Fprintf(&b, "  %s %s firing=%v flapping=%v fails=%d oks=%d checks=%d incident=%d announced=%d updated %s\n",
			st.VM, st.Check, st.Firing, st.Flapping, st.Fails, st.Oks, st.Checks, st.Incident, st.Announced, st.UpdatedAt.Format("15:04:05.000"))
	}
	return b.String()
}

// stacks stops the bot with SIGQUIT, which makes the Go runtime print
// every goroutine's stack, and returns that part of its log: where a bot
// that stopped working is stuck.
func (e *alertEnv) stacks() string {
	n := len(e.stderr.String())
	// e.done holds Wait's answer once the bot ended; it goes back for the
	// cleanup, which may wait for it too.
	select {
	case err := <-e.done:
		e.done <- err
		return fmt.Sprintf("the bot is not running: %v", err)
	default:
	}
	if err := e.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return "the bot is not running: " + err.Error()
	}
	select {
	case err := <-e.done:
		e.done <- err
	case <-time.After(10 * time.Second):
	}
	return "goroutines of the bot:\n" + e.stderr.String()[n:]
}

// logTail returns the end of the bot's log.
func (e *alertEnv) logTail() string {
	lines := strings.Split(e.stderr.String(), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}
