package handlers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// checkLabel names a check for people: "HTTPS", "SSH", "host key".
func checkLabel(check string) string {
	if g, ok := strings.CutPrefix(check, "group:"); ok {
		if check == tasks.GroupCloud {
			return "DigitalOcean API"
		}
		return checkLabel(g)
	}
	switch check {
	case tasks.CheckSSH:
		return "SSH"
	case tasks.CheckHostKey:
		return "host key"
	case tasks.CheckHTTPS:
		return "HTTPS"
	case tasks.CheckCert:
		return "certificate"
	case tasks.CheckFirewall:
		return "firewall"
	case tasks.CheckResources:
		return "resources"
	}
	return Escape(check)
}

// lasted renders how long an incident lasted: "40 s", "25 min", "2 h 5 min",
// "3 d 4 h".
func lasted(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%d h %d min", int(d.Hours()), m)
		}
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	if h := int(d.Hours()) % 24; h > 0 {
		return fmt.Sprintf("%d d %d h", int(d.Hours())/24, h)
	}
	return fmt.Sprintf("%d d", int(d.Hours())/24)
}

// plural returns "1 check" or "5 checks".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// alertRender turns alert events into mrkdwn. Everything that came from a
// VM or a person (Detail, Fix, reasons) is escaped.
type alertRender struct {
	domain string
	loc    *time.Location
}

// host names a VM as people type it in a browser, or the class for a
// class-wide event.
func (a alertRender) host(vm string) string {
	if vm == "" {
		return "the class"
	}
	return Escape(vm) + "." + a.domain
}

// when renders a time of day in the class's time zone: "Fri 15:04 CST".
func (a alertRender) when(t time.Time) string {
	return t.In(a.location()).Format("Mon 15:04 MST")
}

func (a alertRender) location() *time.Location {
	if a.loc == nil {
		return time.UTC
	}
	return a.loc
}

// line is one event in a sentence, without the kind's emoji.
func (a alertRender) line(ev tasks.AlertEvent) string {
	what := fmt.Sprintf("*%s* %s", a.host(ev.VM), checkLabel(ev.Check))
	if ev.VM == "" {
		what = "*" + checkLabel(ev.Check) + "*"
	}
	detail := ""
	if ev.Detail != "" {
		detail = ": " + Escape(ev.Detail)
	}
	switch ev.Kind {
	case tasks.EventFiring:
		if ev.VM == "" {
			return fmt.Sprintf("%s fails across the class%s. The bot may be cut off, or DigitalOcean is down; no VM's alert is counted until this clears.", what, detail)
		}
		return fmt.Sprintf("%s failing%s", what, detail)
	case tasks.EventReminder:
		return fmt.Sprintf("%s still failing since %s (%s)%s", what, a.when(ev.Since), plural(ev.Checks, "check"), detail)
	case tasks.EventEscalated:
		return fmt.Sprintf("%s got worse%s", what, detail)
	case tasks.EventResolved:
		s := fmt.Sprintf("%s is fine again", what)
		if ev.Checks > 0 {
			s += fmt.Sprintf(" — down %s, %s", lasted(ev.Duration), plural(ev.Checks, "check"))
		}
		return s
	case tasks.EventFlapping:
		return fmt.Sprintf("%s keeps changing (%d times within %s)%s. Quiet until it is stable for %s.",
			what, tasks.FlapChanges, lasted(tasks.FlapWindow), detail, lasted(tasks.FlapQuiet))
	case tasks.EventMuted:
		s := fmt.Sprintf("<@%s> muted alerts of %s until %s", Escape(ev.By), a.muteTarget(ev.VM), a.when(ev.Until))
		if ev.Detail != "" {
			s += ": " + Escape(ev.Detail)
		}
		return s
	case tasks.EventUnmuted:
		if ev.By == "" {
			return fmt.Sprintf("The mute of %s has ended; alerts are posted again.", a.muteTarget(ev.VM))
		}
		return fmt.Sprintf("<@%s> unmuted %s; alerts are posted again.", Escape(ev.By), a.muteTarget(ev.VM))
	}
	return what + detail
}

func (a alertRender) muteTarget(vm string) string {
	if vm == tasks.MuteAll {
		return "every VM"
	}
	return "*" + a.host(vm) + "*"
}

// emoji marks a kind of event at the start of its message.
func emoji(k tasks.EventKind, level int) string {
	switch k {
	case tasks.EventFiring:
		if level > 0 {
			return ":warning:"
		}
		return ":rotating_light:"
	case tasks.EventReminder:
		return ":repeat:"
	case tasks.EventEscalated:
		return ":arrow_double_up:"
	case tasks.EventResolved:
		return ":white_check_mark:"
	case tasks.EventFlapping:
		return ":twisted_rightwards_arrows:"
	case tasks.EventMuted:
		return ":mute:"
	case tasks.EventUnmuted:
		return ":loud_sound:"
	}
	return ":information_source:"
}

// message renders a batch of events of one kind as one message: a single
// event as a sentence with its fix; several as a heading and a line each.
func (a alertRender) message(evs []tasks.AlertEvent) string {
	if len(evs) == 0 {
		return ""
	}
	k := evs[0].Kind
	if len(evs) == 1 {
		s := emoji(k, 0) + " " + a.line(evs[0])
		if k == tasks.EventFiring && evs[0].Fix != "" {
			s += "\n_Fix:_ " + Escape(evs[0].Fix)
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", emoji(k, 0), batchHeading(k, len(evs)))
	for _, ev := range evs {
		fmt.Fprintf(&b, "• %s\n", a.line(ev))
	}
	return strings.TrimRight(b.String(), "\n")
}

func batchHeading(k tasks.EventKind, n int) string {
	switch k {
	case tasks.EventFiring:
		return fmt.Sprintf("*%d new alerts*", n)
	case tasks.EventResolved:
		return fmt.Sprintf("*%d alerts resolved*", n)
	case tasks.EventReminder:
		return fmt.Sprintf("*%d alerts still open*", n)
	case tasks.EventFlapping:
		return fmt.Sprintf("*%d alerts flapping*", n)
	}
	return fmt.Sprintf("*%d alert notices*", n)
}

// studentDM renders the events of one student's VM for their DM: what is
// wrong and what to do, or that it is fixed.
func (a alertRender) studentDM(evs []tasks.AlertEvent) string {
	var b strings.Builder
	for i, ev := range evs {
		if i > 0 {
			b.WriteString("\n")
		}
		switch ev.Kind {
		case tasks.EventFiring:
			fmt.Fprintf(&b, "%s Your VM *%s*: %s is failing", emoji(ev.Kind, 0), a.host(ev.VM), checkLabel(ev.Check))
			if ev.Detail != "" {
				b.WriteString(": " + Escape(ev.Detail))
			}
			if ev.Fix != "" {
				b.WriteString("\n_What to do:_ " + Escape(ev.Fix))
			}
			b.WriteString("\nYour instructors see this alert too.")
		case tasks.EventResolved:
			fmt.Fprintf(&b, "%s Your VM *%s*: %s is fine again.", emoji(ev.Kind, 0), a.host(ev.VM), checkLabel(ev.Check))
		}
	}
	return b.String()
}

// alertVMs returns the distinct VM names of evs, sorted, without "".
func alertVMs(evs []tasks.AlertEvent) []string {
	seen := map[string]bool{}
	var out []string
	for _, ev := range evs {
		if ev.VM != "" && ev.VM != tasks.MuteAll && !seen[ev.VM] {
			seen[ev.VM] = true
			out = append(out, ev.VM)
		}
	}
	sort.Strings(out)
	return out
}
