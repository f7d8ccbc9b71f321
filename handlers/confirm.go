package handlers

import (
	"context"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// Confirm carries out the offer id for userID: from a Slack button or the
// console's `confirm ID`. It always returns a reply, and leaves an audit
// record of what was confirmed and how it ended.
func (r *Router) Confirm(ctx context.Context, userID, id string) *Reply {
	reply, err := r.confirmAudited(ctx, userID, id)
	if err != nil {
		reply = Error(ctx, r.logger, err)
	}
	// Someone else's click must not wipe the requester's buttons.
	reply.Replace = tasks.ErrorCode(err) != tasks.EFORBIDDEN
	return reply
}

func (r *Router) confirmAudited(ctx context.Context, userID, id string) (*Reply, error) {
	entry := &tasks.AuditEntry{At: r.now(), UserID: userID, Verb: "confirm", Args: clipText(id, 32)}
	reply, err := r.confirm(ctx, userID, id, entry)
	r.finish(ctx, entry, err)
	return reply, err
}

// finish completes and records an audit entry.
func (r *Router) finish(ctx context.Context, entry *tasks.AuditEntry, err error) {
	entry.Outcome = "ok"
	if err != nil {
		entry.Outcome = tasks.ErrorCode(err)
	}
	entry.Duration = r.now().Sub(entry.At)
	r.record(ctx, entry)
}

func (r *Router) confirm(ctx context.Context, userID, id string, entry *tasks.AuditEntry) (*Reply, error) {
	// Roles change within an offer's life (a roster removal, a demotion):
	// the caller must still be allowed to do what was offered.
	caller, err := r.dir.Identify(ctx, userID)
	if err != nil {
		return nil, err
	}
	entry.Role = caller.Role
	of, err := r.offers.Take(ctx, id, userID)
	if of != nil {
		entry.Args = clipText(of.Summary(), 300)
	}
	if err != nil {
		return nil, err
	}
	if err := r.mayConfirm(caller, of); err != nil {
		return nil, err
	}
	if err := r.offers.CheckTargets(ctx, of); err != nil {
		return nil, err
	}
	switch of.Kind {
	case tasks.OfferReset:
		if len(of.Targets) != 1 {
			return nil, fmt.Errorf("confirm offer %s: a reset of %d VMs", of.ID, len(of.Targets))
		}
		name := of.Targets[0].Name
		run, err := r.runner.Start(ctx, tasks.RunReset, name, caller.UserID, caller.UserID)
		if err != nil {
			return nil, err
		}
		return Textf("Resetting `%s` (run #%d). %s", r.fleet.FQDN(name), run.ID, progressHint), nil
	case tasks.OfferDestroy:
		return r.startEach(ctx, caller, tasks.RunDestroy, of.Names(), "Destroying")
	}
	return nil, fmt.Errorf("confirm offer %s: unknown kind %q", of.ID, of.Kind)
}

// mayConfirm checks the caller's role now against what the offer does.
func (r *Router) mayConfirm(c *tasks.Caller, of *tasks.Offer) error {
	switch {
	case c.Role == tasks.RoleNone:
		return tasks.Errorf(tasks.EFORBIDDEN, "You are no longer on the class roster, so this was not done.")
	case c.Role == tasks.RoleInstructor:
		return nil
	case of.Kind == tasks.OfferReset && len(of.Targets) == 1 && of.Targets[0].SlackID == c.UserID && r.studentsMayReset:
		return nil
	}
	return tasks.Errorf(tasks.EFORBIDDEN, "You may no longer %s, so this was not done.", of.Summary())
}

// ask stores an offer of kind on names and returns the question with its
// confirm button.
func (r *Router) ask(ctx context.Context, c *tasks.Caller, kind tasks.OfferKind, names []string, question, button string) (*Reply, error) {
	of, err := r.offers.Offer(ctx, kind, c.UserID, names)
	if err != nil {
		return nil, err
	}
	rep := Textf("%s", question)
	rep.Confirm = &Confirm{ID: of.ID, Button: button}
	return rep, nil
}

// Cancel drops the offer id if userID made it, and audits the click.
func (r *Router) Cancel(ctx context.Context, userID, id string) *Reply {
	entry := &tasks.AuditEntry{At: r.now(), UserID: userID, Verb: "cancel", Args: clipText(id, 32)}
	if caller, err := r.dir.Identify(ctx, userID); err == nil {
		entry.Role = caller.Role
	}
	of, err := r.offers.Cancel(ctx, id, userID)
	if of != nil {
		entry.Args = clipText(of.Summary(), 300)
	}
	r.finish(ctx, entry, err)
	if err != nil {
		rep := Error(ctx, r.logger, err)
		rep.Replace = tasks.ErrorCode(err) != tasks.EFORBIDDEN
		return rep
	}
	return &Reply{Sections: []Section{{Text: "Cancelled; nothing was changed."}}, Replace: true}
}
