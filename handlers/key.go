package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) keyCommand() *Command {
	return &Command{
		Verb: "key",
		Usages: []Usage{
			{tasks.RoleStudent, "PUBKEY", "set your SSH public key (and put it on your VM)"},
			{tasks.RoleInstructor, "NAME PUBKEY", "set a student's SSH public key"},
		},
		Help: "Sets the SSH public key that logs in as `cicf`: paste the one line of `~/.ssh/id_ed25519.pub` (never the private key). " +
			"If the VM is running, the bot replaces the key there too; otherwise the next provision or reset uses it.",
		Examples: []string{"/cicf key ssh-ed25519 AAAAC3Nza… emma@laptop", "/cicf key emma ssh-ed25519 AAAAC3Nza… emma@laptop"},
		Run:      r.key,
	}
}

func (r *Router) key(ctx context.Context, req *Request) (*Reply, error) {
	c, args := req.Caller, req.Args
	var s *tasks.Student
	if c.Role == tasks.RoleInstructor && len(args) > 0 && !looksLikeKeyType(args[0].Text) {
		name, err := r.studentName(ctx, args[0])
		if err != nil {
			return nil, err
		}
		if s, err = r.students.FindStudent(ctx, name); err != nil {
			return nil, err
		}
		args = args[1:]
	} else if c.Student != nil {
		s = c.Student
	} else {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf key NAME PUBKEY`, e.g. `/cicf key emma ssh-ed25519 AAAA… emma@laptop`.")
	}
	if len(args) == 0 {
		return nil, tasks.Errorf(tasks.EINVALID, "Paste the key after the command: `/cicf key ssh-ed25519 AAAA… you@laptop` (from `~/.ssh/id_ed25519.pub`).")
	}
	updated := *s
	updated.PublicKey = strings.Join(texts(args), " ")
	if err := updated.Validate(); err != nil {
		return nil, err
	}
	if err := r.students.UpdateStudent(ctx, &updated); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Saved the SSH key `%s` for `%s`.", fingerprint(updated.PublicKey), updated.Name)
	switch err := r.runner.PushKey(ctx, updated.Name); {
	case err == nil:
		msg += fmt.Sprintf(" It is now the key that logs in to `%s`.", r.fleet.FQDN(updated.Name))
	case tasks.ErrorCode(err) == tasks.ENOTFOUND:
		msg += " It will be used when the VM is created."
	case errors.Is(err, tasks.ErrHostKeyMismatch):
		r.logger.WarnContext(ctx, "host key mismatch while pushing a key", "vm", updated.Name, "err", err)
		msg += fmt.Sprintf(" It was *not* put on the VM: `%s` presented a different SSH host key than the pinned one (REMOTE HOST IDENTIFICATION HAS CHANGED). An instructor should look before anyone logs in; `/cicf reset %s` makes a fresh VM.", r.fleet.FQDN(updated.Name), updated.Name)
	case tasks.ErrorCode(err) == tasks.EINTERNAL:
		rep := Error(ctx, r.logger, err)
		return Textf("%s It could not be put on the VM: %s", msg, rep.Sections[0].Text), nil
	default:
		msg += " " + tasks.ErrorMessage(err)
	}
	return Textf("%s", msg), nil
}
