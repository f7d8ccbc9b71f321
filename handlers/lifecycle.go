package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) provisionCommand() *Command {
	return &Command{
		Verb:   "provision",
		Usages: []Usage{{tasks.RoleInstructor, "NAME|all", "create VMs for students who have an SSH key"}},
		Help: "Creates the student's droplet, points DNS at it, waits for SSH with the host key the bot pinned, rotates that key, " +
			"installs JupyterLab behind Caddy and checks from outside that only 22/80/443 are open. " +
			"`all` does this for every roster entry that has a key and no VM yet, in parallel, and lists those still waiting for a key.",
		Examples: []string{"/cicf provision emma", "/cicf provision all"},
		Run:      r.provision,
	}
}

func (r *Router) provision(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) != 1 {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf provision NAME` or `/cicf provision all`.")
	}
	if strings.EqualFold(req.Args[0].Text, "all") {
		return r.provisionAll(ctx, req.Caller)
	}
	name, err := r.studentName(ctx, req.Args[0])
	if err != nil {
		return nil, err
	}
	run, err := r.runner.Start(ctx, tasks.RunProvision, name, req.Caller.UserID, req.Caller.UserID)
	if err != nil {
		return nil, err
	}
	return Textf("Provisioning `%s` (run #%d, %d steps). %s", r.fleet.FQDN(name), run.ID, len(run.Steps), progressHint), nil
}

// progressHint says where a run's progress shows.
const progressHint = "Progress follows as steps finish."

func (r *Router) provisionAll(ctx context.Context, c *tasks.Caller) (*Reply, error) {
	students, err := r.students.ListStudents(ctx)
	if err != nil {
		return nil, err
	}
	var started, noKey, skipped []string
	for _, s := range students {
		if s.PublicKey == "" {
			noKey = append(noKey, "`"+s.Name+"`")
			continue
		}
		run, err := r.runner.Start(ctx, tasks.RunProvision, s.Name, c.UserID, c.UserID)
		switch code := tasks.ErrorCode(err); {
		case err == nil:
			started = append(started, fmt.Sprintf("`%s` (#%d)", s.Name, run.ID))
		case code == tasks.ECONFLICT || code == tasks.EINVALID:
			skipped = append(skipped, "`"+s.Name+"`")
		default:
			return nil, fmt.Errorf("provision all: %s: %w", s.Name, err)
		}
	}
	rep := &Reply{}
	if len(started) == 0 {
		rep.Add("Nothing to provision.")
	} else {
		rep.Add(fmt.Sprintf("Provisioning %d VMs in parallel: %s. %s", len(started), strings.Join(started, ", "), progressHint))
	}
	if len(skipped) > 0 {
		rep.Add(fmt.Sprintf("Already have a VM or a run in progress: %s.", strings.Join(skipped, ", ")))
	}
	if len(noKey) > 0 {
		rep.Add(fmt.Sprintf("Waiting for an SSH key: %s. Add one with `/cicf key NAME PUBKEY`, then provision again.", strings.Join(noKey, ", ")))
	}
	return rep, nil
}

func (r *Router) resetCommand() *Command {
	return &Command{
		Verb: "reset",
		Usages: []Usage{
			{tasks.RoleStudent, "", "start your VM over from scratch (asks first)"},
			{tasks.RoleInstructor, "NAME", "rebuild a student's VM from scratch (asks first)"},
		},
		Help: "Builds a fresh VM under the same name with the student's current SSH key and a new host key, moves DNS to it, " +
			"then deletes the old droplet — and everything in its home directory. The student must then accept the new host key: " +
			"the bot says which fingerprint to expect.",
		Examples: []string{"/cicf reset", "/cicf reset emma"},
		Run:      r.reset,
	}
}

func (r *Router) reset(ctx context.Context, req *Request) (*Reply, error) {
	c := req.Caller
	var name string
	if c.Role == tasks.RoleInstructor {
		if len(req.Args) != 1 {
			return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf reset NAME`, e.g. `/cicf reset emma`.")
		}
		var err error
		if name, err = r.studentName(ctx, req.Args[0]); err != nil {
			return nil, err
		}
	} else {
		if !r.studentsMayReset {
			return nil, tasks.Errorf(tasks.EFORBIDDEN, "Resetting is up to your instructor in this class. Ask them to run `/cicf reset %s`.", c.Student.Name)
		}
		if len(req.Args) > 0 && req.Args[0].Text != c.Student.Name {
			return nil, tasks.Errorf(tasks.EFORBIDDEN, "You can only reset your own VM: type `/cicf reset`.")
		}
		name = c.Student.Name
	}
	if _, err := r.students.FindStudent(ctx, name); err != nil {
		return nil, err
	}
	q := fmt.Sprintf("*Reset `%s`?* A fresh VM replaces it: same name, current SSH key, new host key. "+
		"The old droplet is deleted with *everything in /home/cicf*. This takes 5–10 minutes.", r.fleet.FQDN(name))
	return r.ask(ctx, c, tasks.OfferReset, []string{name}, q, "Reset "+name)
}

func (r *Router) destroyCommand() *Command {
	return &Command{
		Verb:     "destroy",
		Usages:   []Usage{{tasks.RoleInstructor, "NAME|all", "delete droplets and DNS records (asks first)"}},
		Help:     "Deletes the droplet (only one carrying the class tag), its disk and its DNS records. The roster entry stays, so `provision` can build it again.",
		Examples: []string{"/cicf destroy emma", "/cicf destroy all"},
		Run:      r.destroy,
	}
}

func (r *Router) destroy(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) != 1 {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf destroy NAME` or `/cicf destroy all`.")
	}
	var names []string
	if strings.EqualFold(req.Args[0].Text, "all") {
		fs, err := r.fleet.Status(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range fs.Items {
			if it.VM != nil && it.VM.Status != "" {
				names = append(names, it.Name)
			}
		}
		if len(names) == 0 {
			return Textf("No droplets to destroy."), nil
		}
	} else {
		name, err := r.studentName(ctx, req.Args[0])
		if err != nil {
			return nil, err
		}
		names = []string{name}
	}
	q := fmt.Sprintf("*Destroy %d VM(s)?* %s — droplets, disks and DNS records are deleted for good.", len(names), strings.Join(names, ", "))
	return r.ask(ctx, req.Caller, tasks.OfferDestroy, names, q, fmt.Sprintf("Destroy %d", len(names)))
}

// startEach starts one run per name and reports what started and what not.
func (r *Router) startEach(ctx context.Context, c *tasks.Caller, kind tasks.RunKind, names []string, verb string) (*Reply, error) {
	var started, problems []string
	for _, n := range names {
		run, err := r.runner.Start(ctx, kind, n, c.UserID, c.UserID)
		if err != nil {
			if tasks.ErrorCode(err) == tasks.EINTERNAL {
				return nil, err
			}
			problems = append(problems, tasks.ErrorMessage(err))
			continue
		}
		started = append(started, fmt.Sprintf("`%s` (#%d)", n, run.ID))
	}
	rep := &Reply{}
	if len(started) > 0 {
		rep.Add(fmt.Sprintf("%s %s. %s", verb, strings.Join(started, ", "), progressHint))
	}
	for _, p := range problems {
		rep.Add(p)
	}
	return rep, nil
}

func (r *Router) powerCommand() *Command {
	return &Command{
		Verb:     "power",
		Usages:   []Usage{{tasks.RoleInstructor, "on|off NAME|all", "power droplets on or off"}},
		Help:     "Powers droplets on or off through DigitalOcean (a powered-off droplet still costs money; `destroy` stops that).",
		Examples: []string{"/cicf power off emma", "/cicf power on all"},
		Run:      r.power,
	}
}

func (r *Router) power(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) != 2 || (req.Args[0].Text != "on" && req.Args[0].Text != "off") {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf power on NAME`, `/cicf power off NAME` or use `all` for the class.")
	}
	kind, verb := tasks.RunPowerOn, "Powering on"
	if req.Args[0].Text == "off" {
		kind, verb = tasks.RunPowerOff, "Powering off"
	}
	var names []string
	if strings.EqualFold(req.Args[1].Text, "all") {
		fs, err := r.fleet.Status(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range fs.Items {
			if it.Student != nil && it.VM != nil && it.VM.Status != "" {
				names = append(names, it.Name)
			}
		}
	} else {
		name, err := r.studentName(ctx, req.Args[1])
		if err != nil {
			return nil, err
		}
		names = []string{name}
	}
	if len(names) == 0 {
		return Textf("No droplets to power %s.", req.Args[0].Text), nil
	}
	return r.startEach(ctx, req.Caller, kind, names, verb)
}

func (r *Router) confirmCommand() *Command {
	return &Command{
		Verb:   "confirm",
		Hidden: true,
		Usages: []Usage{
			{tasks.RoleStudent, "ID", "confirm what the bot asked"},
			{tasks.RoleInstructor, "ID", "confirm what the bot asked"},
		},
		Help: "Confirms a reset or destroy, for front ends without buttons (the console).",
		Run: func(ctx context.Context, req *Request) (*Reply, error) {
			if len(req.Args) != 1 {
				return nil, tasks.Errorf(tasks.EINVALID, "Type `confirm ID` with the ID the bot gave you.")
			}
			return r.confirm(ctx, req.Caller.UserID, req.Args[0].Text, req.Audit)
		},
	}
}
