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
			"ed25519 and ECDSA keys are accepted, RSA from 3072 bits; DSA is obsolete and refused. " +
			"If the VM is running, the bot replaces the key there too; if that fails, the key that worked before keeps working until a push succeeds. " +
			"A key set while the VM is being provisioned or reset is put on it at the end of that run.",
		Examples: []string{"/cicf key ssh-ed25519 AAAAC3Nza… emma@laptop", "/cicf key emma ssh-ed25519 AAAAC3Nza… emma@laptop"},
		Run:      r.key,
	}
}

func (r *Router) key(ctx context.Context, req *Request) (*Reply, error) {
	s, args, err := r.keyTarget(ctx, req.Caller, req.Args)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, tasks.Errorf(tasks.EINVALID, "Paste the key after the command: `/cicf key ssh-ed25519 AAAA… you@laptop` (from `~/.ssh/id_ed25519.pub`).")
	}
	updated := *s
	updated.PublicKey = strings.Join(texts(args), " ")
	if err := updated.Validate(); err != nil {
		return nil, err
	}
	// The saved key changes at once: it is what the next provision or reset
	// uses, and what a run in progress pushes at its last step. The VM's
	// authorized_keys changes only by a push that succeeds (an atomic
	// replace), so a failed push leaves the old key working there.
	if err := r.students.UpdateStudent(ctx, &updated); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Saved the SSH key `%s` for `%s`.", fingerprint(updated.PublicKey), updated.Name)
	if run, err := r.runner.ActiveRun(ctx, updated.Name); err == nil && (run.Kind == tasks.RunProvision || run.Kind == tasks.RunReset) {
		return Textf("%s A %s is in progress: it puts this key on `%s` at its last step.", msg, run.Title(), r.fleet.FQDN(updated.Name)), nil
	} else if err != nil && tasks.ErrorCode(err) != tasks.ENOTFOUND {
		return nil, err
	}
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
		return Textf("%s It could *not* be put on the VM (%s); the key that logged in before still does. Type the same command again to retry.", msg, rep.Sections[0].Text), nil
	default:
		msg += fmt.Sprintf(" It could *not* be put on the VM yet: %s The key that logged in before still does; type the same command again to retry.", tasks.ErrorMessage(err))
	}
	return Textf("%s", msg), nil
}

// keyTarget returns whose key args set and the key's words. An instructor
// names the student; a student may name only themselves, so a student
// typing another name is refused before anything changes.
func (r *Router) keyTarget(ctx context.Context, c *tasks.Caller, args []Token) (*tasks.Student, []Token, error) {
	named := len(args) > 0 && !looksLikeKeyType(args[0].Text)
	if c.Role != tasks.RoleInstructor {
		// A student names someone with a mention or a name before a key
		// type; other words are a key that is wrong, and get told so.
		named = named && (args[0].UserID != "" ||
			len(args) > 1 && looksLikeKeyType(args[1].Text) && tasks.ValidateName(strings.ToLower(args[0].Text)) == nil)
	}
	if !named {
		if c.Student != nil {
			return c.Student, args, nil
		}
		return nil, nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf key NAME PUBKEY`, e.g. `/cicf key emma ssh-ed25519 AAAA… emma@laptop`.")
	}
	if c.Role != tasks.RoleInstructor {
		if own := c.Student; own == nil || !(args[0].UserID == own.SlackID || strings.EqualFold(args[0].Text, own.Name)) {
			return nil, nil, tasks.Errorf(tasks.EFORBIDDEN, "You can only set your own key. Type `/cicf key PUBKEY` (without a name); nothing was changed.")
		}
		return c.Student, args[1:], nil
	}
	name, err := r.studentName(ctx, args[0])
	if err != nil {
		return nil, nil, err
	}
	s, err := r.students.FindStudent(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return s, args[1:], nil
}
