package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) helpCommand() *Command {
	return &Command{
		Verb: "help",
		Usages: []Usage{
			{tasks.RoleNone, "[VERB]", "what you can do"},
			{tasks.RoleStudent, "[VERB]", "your commands, or one in detail"},
			{tasks.RoleInstructor, "[VERB]", "all commands, or one in detail"},
		},
		Help:     "Lists the commands you may use. With a verb, shows how to use it, with examples.",
		Examples: []string{"/cicf help", "/cicf help status"},
		Run:      r.help,
	}
}

func (r *Router) help(ctx context.Context, req *Request) (*Reply, error) {
	role := req.Caller.Role
	if len(req.Args) > 1 {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf help` or `/cicf help VERB`, e.g. `/cicf help status`.")
	}
	if len(req.Args) == 1 {
		return r.helpVerb(role, strings.ToLower(req.Args[0].Text))
	}
	if role == tasks.RoleNone {
		return Textf("*cicf-bot* runs the class's cloud VMs. You are not on the class roster yet. %s", r.askInstructor()), nil
	}
	var b strings.Builder
	if role == tasks.RoleStudent {
		b.WriteString(r.studentSteps(req.Caller.Student))
	}
	fmt.Fprintf(&b, "*cicf-bot* commands for %ss:\n", role)
	for _, v := range r.cmds.verbs() {
		if u, ok := r.cmds[v].usageFor(role); ok && !r.cmds[v].Hidden {
			fmt.Fprintf(&b, "• `%s` — %s\n", usageLine(v, u), u.Summary)
		}
	}
	b.WriteString("Type `/cicf help VERB` for details and examples.")
	return Textf("%s", b.String()), nil
}

func (r *Router) helpVerb(role tasks.Role, verb string) (*Reply, error) {
	cmd, ok := r.cmds[verb]
	if !ok {
		return nil, tasks.Errorf(tasks.ENOTFOUND, "There is no command `%s`. Type `/cicf help` for the list.", clipText(verb, 32))
	}
	u, ok := cmd.usageFor(role)
	if !ok {
		return nil, r.forbidden(&tasks.Caller{Role: role}, cmd)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` — %s\n%s", usageLine(verb, u), u.Summary, cmd.Help)
	if len(cmd.Examples) > 0 {
		b.WriteString("\nExamples:")
		for _, e := range cmd.Examples {
			fmt.Fprintf(&b, "\n• `%s`", e)
		}
	}
	return Textf("%s", b.String()), nil
}

func usageLine(verb string, u Usage) string {
	if u.Args == "" {
		return "/cicf " + verb
	}
	return "/cicf " + verb + " " + u.Args
}

// studentSteps is what a student does first, in order, without asking
// anyone: the lead of their help and of the welcome message.
func (r *Router) studentSteps(s *tasks.Student) string {
	name := "NAME"
	if s != nil {
		name = s.Name
	}
	fqdn := r.fleet.FQDN(name)
	return fmt.Sprintf("*Getting started* — three steps:\n"+
		"1. `/cicf key ssh-ed25519 AAAA… you@laptop` — your SSH public key, the one line of `~/.ssh/id_ed25519.pub` (no key yet? `ssh-keygen -t ed25519`).\n"+
		"2. `/cicf ssh-config` — add its block to `~/.ssh/config` and its line to `~/.ssh/known_hosts`, then log in with `ssh %s`.\n"+
		"3. `/cicf password` — set your JupyterLab password, then open https://%s (user `%s`).\n\n",
		Escape(name), Escape(fqdn), tasks.PasswordUser)
}
