package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) runsCommand() *Command {
	return &Command{
		Verb:     "runs",
		Usages:   []Usage{{tasks.RoleInstructor, "[NAME]", "recent provisions, resets and the like, with outcome"}},
		Help:     "Lists the newest runs (provision, reset, destroy, power), of one VM or of the class: who asked, where each stands, and why a failed one failed.",
		Examples: []string{"/cicf runs", "/cicf runs emma"},
		Run:      r.listRuns,
	}
}

func (r *Router) listRuns(ctx context.Context, req *Request) (*Reply, error) {
	vm := ""
	if len(req.Args) > 1 {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf runs` or `/cicf runs NAME`.")
	}
	if len(req.Args) == 1 {
		name, err := r.studentName(ctx, req.Args[0])
		if err != nil {
			return nil, err
		}
		vm = name
	}
	runs, err := r.runner.RecentRuns(ctx, vm, 20)
	if err != nil {
		return nil, err
	}
	pending, err := r.pendingOffers(ctx, vm)
	if err != nil {
		return nil, err
	}
	rep := Textf("No runs yet.")
	if len(runs) > 0 {
		rep = Textf("*Recent runs*")
	}
	var b strings.Builder
	for _, run := range runs {
		fmt.Fprintf(&b, "• #%d %s — %s, asked by %s %s ago", run.ID, Escape(run.Title()), runState(run), who(run.RequestedBy), age(r.now().Sub(run.CreatedAt)))
		if run.Error != "" {
			fmt.Fprintf(&b, "\n    _%s_", Escape(run.Error)) // may quote VM output
		}
		b.WriteString("\n")
	}
	if b.Len() > 0 {
		rep.Add(b.String())
	}
	if pending != "" {
		rep.Add(pending)
	}
	return rep, nil
}

// pendingOffers lists the confirmations still waiting, of vm or of all if
// vm is "": a destroy somebody may click within minutes. "" when none.
func (r *Router) pendingOffers(ctx context.Context, vm string) (string, error) {
	offers, err := r.offers.Pending(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, of := range offers {
		if vm != "" && !slices.Contains(of.Names(), vm) {
			continue
		}
		fmt.Fprintf(&b, "• %s, asked by %s, until %s\n", Escape(of.Summary()), who(of.Requester), of.ExpiresAt.UTC().Format("15:04 UTC"))
	}
	if b.Len() == 0 {
		return "", nil
	}
	return "*Waiting for confirmation*\n" + b.String(), nil
}

func runState(run *tasks.Run) string {
	switch run.State {
	case tasks.RunRunning:
		return fmt.Sprintf("running %s (%s)", run.Progress(), run.CurrentStep())
	case tasks.RunFailed:
		return fmt.Sprintf(":x: failed at step %d/%d", run.Step+1, len(run.Steps))
	}
	return ":white_check_mark: done"
}

// who renders a requester: a Slack mention, or the console.
func who(id string) string {
	if tasks.ValidateSlackID(id) == nil {
		return "<@" + id + ">"
	}
	return id
}
