package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// FormPassword is the Reply.Form of `password`: the front end asks for the
// password itself (Slack in a modal, the console without echo), so it
// never travels in a command line, a channel or the audit log.
const FormPassword = "password"

func (r *Router) passwordCommand() *Command {
	return &Command{
		Verb: "password",
		Usages: []Usage{
			{tasks.RoleStudent, "", "set your JupyterLab password (a form asks for it)"},
		},
		Help: fmt.Sprintf("Opens a form for the password of https://NAME.%s (user `%s`). The bot stores only a bcrypt hash on your VM, restarts JupyterLab "+
			"and checks from outside that the new password works and a wrong one does not. At least 12 characters; not your name.", r.fleet.Domain, tasks.PasswordUser),
		Examples: []string{"/cicf password"},
		Run:      r.passwordAsk,
	}
}

// passwordAsk checks that the caller's VM can take a password now and
// tells the front end to ask for it.
func (r *Router) passwordAsk(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) > 0 {
		// Typed where others may see it and Slack keeps it: not used.
		return nil, tasks.Errorf(tasks.EINVALID, "Type just `/cicf password` and enter the password in the form that opens; what you typed after it was not used. If it was a real password, pick another one.")
	}
	if _, err := r.passwordTarget(ctx, req.Caller); err != nil {
		return nil, err
	}
	return &Reply{Form: FormPassword, Sections: []Section{{Text: "Opening the password form…"}}}, nil
}

// passwordTarget returns the student whose VM the caller may set the
// password of: their own, running with a pinned key and no run on it.
func (r *Router) passwordTarget(ctx context.Context, c *tasks.Caller) (*tasks.Student, error) {
	if c.Role != tasks.RoleStudent || c.Student == nil {
		if c.Role == tasks.RoleNone {
			return nil, tasks.Errorf(tasks.EFORBIDDEN, "You are not on the class roster yet. %s", r.askInstructor())
		}
		return nil, tasks.Errorf(tasks.EFORBIDDEN, "`/cicf password` sets a student's own JupyterLab password; only the student can set it.")
	}
	vm, err := r.fleet.VMs.FindVM(ctx, c.Student.Name)
	if tasks.ErrorCode(err) == tasks.ENOTFOUND || err == nil && (vm.HostKey == "" || vm.Status != "active") {
		return nil, tasks.Errorf(tasks.EUNAVAILABLE, "Your VM is not running yet, so there is no JupyterLab to protect. `/cicf status` shows where it is.")
	} else if err != nil {
		return nil, err
	}
	if run, err := r.runner.ActiveRun(ctx, c.Student.Name); err == nil {
		return nil, tasks.Errorf(tasks.ECONFLICT, "A %s is in progress; set the password once it is done.", run.Title())
	} else if tasks.ErrorCode(err) != tasks.ENOTFOUND {
		return nil, err
	}
	return c.Student, nil
}

// CheckPassword validates a submitted password for userID without
// changing anything: cheap enough to answer a modal submission within
// Slack's 3 s. It returns the message for the password field when pw
// breaks a rule, or a reply when userID may not set a password; both empty
// when SetPassword may go ahead. A refusal is audited, without pw.
func (r *Router) CheckPassword(ctx context.Context, userID, pw string) (fieldError string, refusal *Reply) {
	_, err := r.checkPassword(ctx, userID, pw)
	if err == nil {
		return "", nil
	}
	r.auditPassword(ctx, userID, err)
	if tasks.ErrorCode(err) == tasks.EINVALID {
		return tasks.ErrorMessage(err), nil
	}
	return "", Error(ctx, r.logger, err)
}

// checkPassword returns the student whose password userID may set to pw.
func (r *Router) checkPassword(ctx context.Context, userID, pw string) (*tasks.Student, error) {
	c, err := r.dir.Identify(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identify %s: %w", userID, err)
	}
	s, err := r.passwordTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	return s, tasks.ValidatePassword(pw, s.Name, r.fleet.FQDN(s.Name))
}

// SetPassword sets userID's JupyterLab password to pw and returns the
// outcome for them; it takes as long as the VM needs (seconds). It is
// audited as the verb "password" with no arguments: pw reaches neither the
// audit log, a log line nor the reply.
func (r *Router) SetPassword(ctx context.Context, userID, pw string) *Reply {
	s, err := r.checkPassword(ctx, userID, pw)
	var name string
	if err == nil {
		name = s.Name
		err = r.runner.SetPassword(ctx, name, pw)
	}
	r.auditPassword(ctx, userID, err)
	if err == nil {
		fqdn := r.fleet.FQDN(name)
		return Textf(":white_check_mark: Your JupyterLab password is set. Open https://%s and log in as `%s` with it. "+
			"The bot checked from outside: the new password opens the page; no password and a wrong one are refused.", Escape(fqdn), tasks.PasswordUser)
	}
	if errors.Is(err, tasks.ErrHostKeyMismatch) {
		r.logger.WarnContext(ctx, "host key mismatch while setting a password", "vm", name)
		return Textf("The password was *not* sent: your VM presented a different SSH host key than the pinned one (REMOTE HOST IDENTIFICATION HAS CHANGED). Tell an instructor.")
	}
	rep := Error(ctx, r.logger, err)
	rep.Sections[0].Text = "The password was not set. " + rep.Sections[0].Text
	return rep
}

func (r *Router) auditPassword(ctx context.Context, userID string, err error) {
	entry := &tasks.AuditEntry{At: r.now(), UserID: userID, Verb: "password", Args: "(form)", Outcome: "ok"}
	if c, ierr := r.dir.Identify(ctx, userID); ierr == nil {
		entry.Role = c.Role
	}
	if err != nil {
		entry.Outcome = tasks.ErrorCode(err)
	}
	r.record(ctx, entry)
}
