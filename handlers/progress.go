package handlers

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cicf/cicf-bot/tasks"
)

// ConsoleProgress prints one progress line per step of every run.
type ConsoleProgress struct {
	mu     sync.Mutex
	Out    io.Writer
	Domain string
}

var _ tasks.ProgressReporter = (*ConsoleProgress)(nil)

// Report prints the run's progress line.
func (p *ConsoleProgress) Report(_ context.Context, r tasks.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("[run #%d] %-26s %s", r.ID, r.Title(), r.Progress())
	switch r.State {
	case tasks.RunRunning:
		line += " " + r.CurrentStep() + "…"
	case tasks.RunDone:
		line += " done." + doneNote(r, p.Domain)
	case tasks.RunFailed:
		line += " FAILED: " + r.Error
	}
	fmt.Fprintln(p.Out, line)
}

// progressText renders a run as the body of its Slack message.
func progressText(r tasks.Run, domain string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* (asked by %s)\n`%s`", Escape(capitalize(r.Title())), who(r.RequestedBy), r.Progress())
	for i, s := range r.Steps {
		mark := "◻️"
		switch {
		case i < r.Step || r.State == tasks.RunDone:
			mark = "✅"
		case i == r.Step && r.State == tasks.RunFailed:
			mark = "❌"
		case i == r.Step:
			mark = "⏳"
		}
		fmt.Fprintf(&b, "\n%s %s", mark, Escape(s))
	}
	switch r.State {
	case tasks.RunDone:
		fmt.Fprintf(&b, "\n*Done* in %s.%s", age(r.FinishedAt.Sub(r.CreatedAt)), doneNote(r, domain))
	case tasks.RunFailed:
		fmt.Fprintf(&b, "\n*Failed:* %s\n`/cicf runs %s` lists it; fix the cause and run the command again.", Escape(r.Error), Escape(r.VM))
	}
	return b.String()
}

// doneNote tells what a person must know after a run: the host key to
// expect on the next ssh login.
func doneNote(r tasks.Run, domain string) string {
	if r.Kind != tasks.RunProvision && r.Kind != tasks.RunReset {
		return ""
	}
	fp := fingerprint(r.Data.HostKey)
	if fp == "" {
		return ""
	}
	note := fmt.Sprintf(" Host key `%s`.", fp)
	if r.Kind == tasks.RunReset {
		note += fmt.Sprintf(" ssh will warn that the host key changed: run `ssh-keygen -R %s.%s`, then accept only this fingerprint.", Escape(r.VM), domain)
	}
	return note
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
