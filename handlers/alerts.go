package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// AlertChecker runs every check of one VM now; *tasks.Alerts implements it.
type AlertChecker interface {
	// CheckNow returns the results of every check of the VM called name,
	// ENOTFOUND if there is no such VM.
	CheckNow(ctx context.Context, name string) ([]tasks.Result, error)
}

// AlertDeps is what the alert verbs need. With Service nil they are not
// offered.
type AlertDeps struct {
	Service tasks.AlertService
	Checker AlertChecker
	// Location is the class's time zone, for times in replies.
	Location *time.Location
}

// routerAlerts is the Router's part for alerts.
type routerAlerts struct {
	AlertDeps
	render alertRender
}

func (r *Router) addAlertCommands(d AlertDeps) {
	if d.Service == nil {
		return
	}
	r.alerts = routerAlerts{AlertDeps: d, render: alertRender{domain: r.fleet.Domain, loc: d.Location}}
	for _, c := range []*Command{r.alertsCommand(), r.muteCommand(), r.unmuteCommand()} {
		r.cmds.add(c)
	}
	if d.Checker != nil {
		r.cmds.add(r.checkCommand())
	}
}

func (r *Router) alertsCommand() *Command {
	return &Command{
		Verb:     "alerts",
		Usages:   []Usage{{tasks.RoleInstructor, "", "open alerts and mutes"}},
		Help:     "Lists the alerts that are firing or flapping, with since when and what was found, and the mutes in force with who set them, why and until when.",
		Examples: []string{"/cicf alerts"},
		Run:      r.alertsList,
	}
}

func (r *Router) alertsList(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) > 0 {
		return nil, tasks.Errorf(tasks.EINVALID, "`/cicf alerts` takes nothing more. For one VM's checks, type `/cicf check NAME`.")
	}
	now := r.now()
	open, err := r.alerts.Service.OpenAlerts(ctx)
	if err != nil {
		return nil, err
	}
	mutes, err := r.alerts.Service.ActiveMutes(ctx, now)
	if err != nil {
		return nil, err
	}
	rep := &Reply{}
	if len(open) == 0 {
		rep.Add(":white_check_mark: No open alerts.")
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "*%s open*\n", plural(len(open), "alert"))
		for _, st := range open {
			b.WriteString("• " + r.alerts.render.openLine(st, now) + "\n")
		}
		rep.Add(b.String())
	}
	if len(mutes) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "*%s in force*\n", plural(len(mutes), "mute"))
		for _, m := range mutes {
			b.WriteString("• " + r.alerts.render.muteLine(m) + "\n")
		}
		rep.Add(b.String())
	}
	return rep, nil
}

// openLine renders an open alert for the alerts verb.
func (a alertRender) openLine(st tasks.AlertState, now time.Time) string {
	what := "*" + a.host(st.VM) + "* " + checkLabel(st.Check)
	if st.VM == "" {
		what = "*" + checkLabel(st.Check) + "* across the class"
	}
	s := fmt.Sprintf("%s since %s (%s ago, %s)", what, a.when(st.Since), age(now.Sub(st.Since)), plural(st.Checks, "failed check"))
	if st.Flapping {
		s += " — flapping"
	}
	if st.Detail != "" {
		s += ": " + Escape(st.Detail)
	}
	return s
}

// muteLine renders a mute: what, until when, who and why.
func (a alertRender) muteLine(m tasks.Mute) string {
	s := fmt.Sprintf("%s until %s, by <@%s>", a.muteTarget(m.VM), a.when(m.Until), Escape(m.By))
	if m.Reason != "" {
		s += ": " + Escape(m.Reason)
	}
	return s
}
