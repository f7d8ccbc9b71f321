package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) checkCommand() *Command {
	return &Command{
		Verb: "check",
		Usages: []Usage{
			{tasks.RoleStudent, "", "run every check of your VM now"},
			{tasks.RoleInstructor, "NAME", "run every check of a VM now"},
		},
		Help: "Runs every check of a VM at once — SSH with the pinned host key, HTTPS, certificate, open ports, CPU, memory and disk — " +
			"and shows what each found, with what to do about a failure. The results count toward alerts like a scheduled check.",
		Examples: []string{"/cicf check", "/cicf check emma"},
		Run:      r.check,
	}
}

func (r *Router) check(ctx context.Context, req *Request) (*Reply, error) {
	c := req.Caller
	var name string
	switch {
	case len(req.Args) > 1:
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf check NAME`, e.g. `/cicf check emma`.")
	case len(req.Args) == 0 && c.Role == tasks.RoleInstructor:
		return nil, tasks.Errorf(tasks.EINVALID, "Say which VM: `/cicf check NAME`, e.g. `/cicf check emma`.")
	case len(req.Args) == 0:
		name = c.Student.Name
	default:
		n, err := r.studentName(ctx, req.Args[0])
		if err != nil {
			return nil, err
		}
		name = n
	}
	if c.Role != tasks.RoleInstructor && (c.Student == nil || name != c.Student.Name) {
		return nil, tasks.Errorf(tasks.EFORBIDDEN, "You can only check your own VM: type `/cicf check`.")
	}
	return r.checkNow(ctx, name)
}

// checkNow runs the checks of name and renders them.
func (r *Router) checkNow(ctx context.Context, name string) (*Reply, error) {
	rs, err := r.alerts.Checker.CheckNow(ctx, name)
	if err != nil {
		return nil, err
	}
	return Textf("%s", r.alerts.render.results(name, rs)), nil
}

// statusMark is how a check's status reads at a glance.
func statusMark(s tasks.CheckStatus) string {
	switch s {
	case tasks.CheckOK:
		return "✓"
	case tasks.CheckFail:
		return "✗"
	}
	return "?"
}

// results renders what the checks of vm found, failures first, each with
// its detail and, for failures, the fix.
func (a alertRender) results(vm string, rs []tasks.Result) string {
	if len(rs) == 0 {
		return fmt.Sprintf("*%s*: no check could run. Is the VM provisioned? See `/cicf status %s`.", a.host(vm), Escape(vm))
	}
	rank := map[tasks.CheckStatus]int{tasks.CheckFail: 0, tasks.CheckUnknown: 1, tasks.CheckOK: 2}
	rs = append([]tasks.Result(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return rank[rs[i].Status] < rank[rs[j].Status] })
	fails := 0
	var b strings.Builder
	for _, res := range rs {
		if res.Status == tasks.CheckFail {
			fails++
		}
		fmt.Fprintf(&b, "\n%s %s", statusMark(res.Status), checkLabel(res.Check))
		switch {
		case res.Status == tasks.CheckUnknown && res.Detail != "":
			b.WriteString(" — could not look: " + Escape(res.Detail))
		case res.Detail != "":
			b.WriteString(" — " + Escape(res.Detail))
		}
		if res.Status == tasks.CheckFail && res.Fix != "" {
			b.WriteString("\n    _Fix:_ " + Escape(res.Fix))
		}
	}
	head := fmt.Sprintf("*%s* checked now: all %d checks pass.", a.host(vm), len(rs))
	if fails > 0 {
		head = fmt.Sprintf("*%s* checked now: %d of %d failing.", a.host(vm), fails, len(rs))
	}
	return head + b.String()
}
