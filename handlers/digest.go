package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

// CostReporter says what the class costs now; *tasks.Costs implements it.
type CostReporter interface {
	Report(ctx context.Context) (*tasks.CostReport, error)
}

// digestLimit bounds the lines of each part of the digest; the rest is
// counted, so a bad day does not make a message Slack refuses.
const digestLimit = 15

// digestMessage renders the digest event: what still fails, the last 24 h
// of incidents with how long they lasted, certificates running out, mutes
// ending today and what the class costs a day (asked now, since a price is
// only worth showing fresh).
func (p *AlertPoster) digestMessage(ctx context.Context, ev tasks.AlertEvent) string {
	var d tasks.Digest
	if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
		p.logger.ErrorContext(ctx, "digest event holds no digest", "event_id", ev.ID, "err", err)
		return ":newspaper: *Daily digest*: its data could not be read; see the bot's log. `/cicf alerts` lists what is open."
	}
	var cost *tasks.CostReport
	var costErr error
	if p.cfg.Costs != nil {
		cost, costErr = p.cfg.Costs.Report(ctx)
	}
	return p.render.digestText(d, cost, costErr)
}

// digestText renders d; cost may be nil (not configured, or costErr).
func (a alertRender) digestText(d tasks.Digest, cost *tasks.CostReport, costErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":newspaper: *Daily digest* — %s\n", d.At.In(a.location()).Format("Mon 2 Jan"))
	if len(d.Failing) == 0 {
		b.WriteString(":white_check_mark: Nothing is failing now.\n")
	} else {
		fmt.Fprintf(&b, "*Still failing (%d)*\n", len(d.Failing))
		list(&b, len(d.Failing), func(i int) string { return a.openLine(d.Failing[i], d.At) })
	}
	if len(d.Incidents) == 0 {
		b.WriteString("No incidents in the last 24 h.\n")
	} else {
		fmt.Fprintf(&b, "*Last 24 h: %s*\n", plural(len(d.Incidents), "incident"))
		list(&b, len(d.Incidents), func(i int) string {
			in := d.Incidents[i]
			what := "*" + a.host(in.VM) + "* " + checkLabel(in.Check)
			if in.VM == "" {
				what = "*" + checkLabel(in.Check) + "* across the class"
			}
			state := "lasted " + lasted(in.Duration)
			if in.Open {
				state = "open for " + lasted(in.Duration)
			}
			s := fmt.Sprintf("%s from %s, %s", what, a.when(in.Since), state)
			if in.Detail != "" {
				s += ": " + Escape(in.Detail)
			}
			return s
		})
	}
	if len(d.Certs) > 0 {
		fmt.Fprintf(&b, "*Certificates under %d days*\n", tasks.DigestCertDays)
		list(&b, len(d.Certs), func(i int) string {
			return fmt.Sprintf("*%s*: %s left", a.host(d.Certs[i].VM), plural(int(d.Certs[i].Value), "day"))
		})
	}
	if len(d.Mutes) > 0 {
		b.WriteString("*Mutes ending today*\n")
		list(&b, len(d.Mutes), func(i int) string { return a.muteLine(d.Mutes[i]) })
	}
	switch {
	case costErr != nil:
		b.WriteString("Cost: DigitalOcean did not answer; try `/cicf cost` later.")
	case cost != nil && cost.Total.Droplets > 0:
		fmt.Fprintf(&b, "The class costs $%.2f a day (%s, $%.2f a month).", cost.Total.Hourly*24, plural(cost.Total.Droplets, "droplet"), cost.Total.Monthly)
	case cost != nil:
		b.WriteString("No droplets carry the class tag: the class costs nothing today.")
	}
	return strings.TrimRight(b.String(), "\n")
}

// list writes n bullet lines from line, at most digestLimit, then how many
// more there are.
func list(b *strings.Builder, n int, line func(int) string) {
	for i := 0; i < n && i < digestLimit; i++ {
		b.WriteString("• " + line(i) + "\n")
	}
	if n > digestLimit {
		fmt.Fprintf(b, "• _…and %d more; `/cicf alerts` lists what is open._\n", n-digestLimit)
	}
}
