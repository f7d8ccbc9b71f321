package handlers

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) statusCommand() *Command {
	return &Command{
		Verb: "status",
		Usages: []Usage{
			{tasks.RoleStudent, "", "your VM: state, addresses, host key"},
			{tasks.RoleInstructor, "[NAME|all]", "the class table (problems first), or one VM"},
		},
		Help:     "Shows what the bot knows of a VM right now: DigitalOcean's state, addresses, age and the pinned SSH host key. Instructors get a table of the whole class, problems first.",
		Examples: []string{"/cicf status", "/cicf status all", "/cicf status emma"},
		Run:      r.status,
	}
}

func (r *Router) status(ctx context.Context, req *Request) (*Reply, error) {
	c := req.Caller
	if c.Role != tasks.RoleInstructor {
		if len(req.Args) > 0 && !(req.Args[0].Text == c.Student.Name || req.Args[0].UserID == c.UserID) {
			return nil, tasks.Errorf(tasks.EFORBIDDEN, "You can only see your own VM: type `/cicf status`.")
		}
		return r.card(ctx, c.Student.Name)
	}
	switch {
	case len(req.Args) == 0 || (len(req.Args) == 1 && strings.EqualFold(req.Args[0].Text, "all")):
		return r.fleetTable(ctx)
	case len(req.Args) == 1:
		name, err := r.studentName(ctx, req.Args[0])
		if err != nil {
			return nil, err
		}
		return r.card(ctx, name)
	}
	return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf status`, `/cicf status all` or `/cicf status NAME`.")
}

// studentName resolves a NAME or @mention argument to a roster name.
func (r *Router) studentName(ctx context.Context, t Token) (string, error) {
	if t.UserID != "" {
		s, err := r.students.FindStudentBySlackID(ctx, t.UserID)
		if err != nil {
			if tasks.ErrorCode(err) == tasks.ENOTFOUND {
				return "", tasks.Errorf(tasks.ENOTFOUND, "<@%s> is not on the roster. Try `/cicf roster list`.", t.UserID)
			}
			return "", err
		}
		return s.Name, nil
	}
	name := strings.ToLower(t.Text)
	if err := tasks.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

func (r *Router) card(ctx context.Context, name string) (*Reply, error) {
	st, fs, err := r.fleet.StatusOf(ctx, name)
	if err != nil {
		return nil, err
	}
	fqdn := r.fleet.FQDN(name)
	var b strings.Builder
	vm := st.VM
	if vm == nil || vm.Status == "" {
		fmt.Fprintf(&b, "*%s* — no VM yet.\n", fqdn)
		if st.Student.PublicKey == "" {
			b.WriteString("The bot has no SSH public key for this student yet. Send the contents of `~/.ssh/id_ed25519.pub` to an instructor; the VM is created once the key is in.")
		} else {
			b.WriteString("The SSH key is in; the VM is created when an instructor provisions the class.")
		}
	} else {
		fmt.Fprintf(&b, "*%s* — %s\n", fqdn, Escape(stateLabel(vm.Status)))
		fmt.Fprintf(&b, "IPv4 `%s` · IPv6 `%s`\n", Escape(orDash(vm.IPv4)), Escape(orDash(vm.IPv6)))
		fmt.Fprintf(&b, "Region %s · size %s · droplet %d", Escape(orDash(vm.Region)), Escape(orDash(vm.Size)), vm.DropletID)
		if !vm.CreatedAt.IsZero() {
			fmt.Fprintf(&b, " · created %s ago", age(fs.CheckedAt.Sub(vm.CreatedAt)))
		}
		if vm.LastResetAt.IsZero() {
			b.WriteString(" · never reset\n")
		} else {
			fmt.Fprintf(&b, " · reset %s ago\n", age(fs.CheckedAt.Sub(vm.LastResetAt)))
		}
		if fp := fingerprint(vm.HostKey); fp != "" {
			fmt.Fprintf(&b, "Host key `%s`", fp)
		} else {
			b.WriteString("Host key: not pinned yet")
		}
	}
	if checks, err := r.checksCard(ctx, name); err != nil {
		return nil, err
	} else if vm != nil && vm.DropletID != 0 {
		b.WriteString(checks)
	}
	// Without a droplet the text above already says what is missing.
	if len(st.Problems) > 0 && vm != nil && vm.DropletID != 0 {
		fmt.Fprintf(&b, "\n:warning: %s", Escape(strings.Join(st.Problems, "; ")))
	}
	if run, err := r.runner.ActiveRun(ctx, name); err == nil {
		fmt.Fprintf(&b, "\n:hourglass_flowing_sand: %s in progress: `%s` %s (run #%d, asked by %s)",
			Escape(capitalize(run.Title())), run.Progress(), Escape(run.CurrentStep()), run.ID, who(run.RequestedBy))
	} else if tasks.ErrorCode(err) != tasks.ENOTFOUND {
		return nil, err
	}
	rep := Textf("%s", b.String())
	if fs.Stale {
		rep.Add(staleNote(fs))
	}
	return rep, nil
}

func (r *Router) fleetTable(ctx context.Context) (*Reply, error) {
	fs, err := r.fleet.Status(ctx)
	if err != nil {
		return nil, err
	}
	if len(fs.Items) == 0 {
		return Textf("The roster is empty and no droplet carries the class tag. Add students with `/cicf roster add NAME @user`."), nil
	}
	counts := map[string]int{}
	attention := 0
	for _, it := range fs.Items {
		state := "no VM"
		if it.VM != nil && it.VM.Status != "" {
			state = it.VM.Status
		}
		counts[state]++
		if len(it.Problems) > 0 {
			attention++
		}
	}
	var parts []string
	for _, s := range []string{"active", "new", "off", "archive", "no VM"} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	head := fmt.Sprintf("*%d VMs on %s*: %s", len(fs.Items), r.fleet.Domain, strings.Join(parts, ", "))
	if attention > 0 {
		head += fmt.Sprintf(" · *%d need attention*", attention)
	}
	rep := Textf("%s", head)
	active, err := r.runner.ActiveRuns(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]*tasks.Run{}
	for _, run := range active {
		running[run.VM] = run
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tIPv4\tAGE\tNOTES")
	for _, it := range fs.Items {
		state, ip, ageS := "—", "—", "—"
		if vm := it.VM; vm != nil && vm.Status != "" {
			state, ip = vm.Status, orDash(vm.IPv4)
			if !vm.CreatedAt.IsZero() {
				ageS = age(fs.CheckedAt.Sub(vm.CreatedAt))
			}
		}
		notes := it.Problems
		if run := running[it.Name]; run != nil {
			notes = append([]string{fmt.Sprintf("%s %d/%d", run.Kind, run.Step, len(run.Steps))}, notes...)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Name, state, ip, ageS, orDash(strings.Join(notes, "; ")))
	}
	tw.Flush()
	rep.AddMono(b.String())
	if fs.Stale {
		rep.Add(staleNote(fs))
	}
	return rep, nil
}

// staleNote says that the DigitalOcean side of a status is not fresh, why
// (outside text: escaped), and how old what is shown is.
func staleNote(fs *tasks.FleetStatus) string {
	note := ":hourglass: Not fresh from DigitalOcean: " + Escape(strings.TrimSuffix(fs.StaleWhy, "."))
	if !fs.ListedAt.IsZero() {
		note += fmt.Sprintf("; this is what it reported %s ago", age(fs.CheckedAt.Sub(fs.ListedAt)))
	}
	return note + ". Try again in a minute."
}

func stateLabel(s string) string {
	switch s {
	case "active":
		return ":large_green_circle: running"
	case "new":
		return ":large_yellow_circle: starting"
	case "off":
		return ":red_circle: powered off"
	case "archive":
		return ":black_circle: archived"
	}
	return s
}
