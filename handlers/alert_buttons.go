package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// buttonMute is how long the Mute button on an alert mutes.
const buttonMute = time.Hour

// AlertAction carries out a click on an alert's Mute 1 h or Check now
// button (actionID ActionAlertMute or ActionAlertCheck, value the VM name)
// for userID. The role is checked at the click, since anyone in the channel
// sees the buttons; every click, refused or not, is audited. It always
// returns a reply, for the clicker only.
func (r *Router) AlertAction(ctx context.Context, userID, actionID, vm string) *Reply {
	verb := map[string]string{ActionAlertMute: "mute", ActionAlertCheck: "check"}[actionID]
	if verb == "" {
		verb = "button:" + clipText(actionID, 24)
	}
	entry := &tasks.AuditEntry{At: r.now(), UserID: userID, Verb: verb, Args: clipText(vm, 40) + " (alert button)"}
	reply, err := r.alertAction(ctx, userID, actionID, vm, entry)
	r.finish(ctx, entry, err)
	if err != nil {
		return Error(ctx, r.logger, err)
	}
	return reply
}

func (r *Router) alertAction(ctx context.Context, userID, actionID, vm string, entry *tasks.AuditEntry) (*Reply, error) {
	caller, err := r.dir.Identify(ctx, userID)
	if err != nil {
		return nil, err
	}
	entry.Role = caller.Role
	if r.alerts.Service == nil {
		return nil, tasks.Errorf(tasks.EINVALID, "Alerts are not set up on this bot.")
	}
	if caller.Role != tasks.RoleInstructor {
		return nil, tasks.Errorf(tasks.EFORBIDDEN, "Only instructors can use the alert buttons. To check your own VM, type `/cicf check`.")
	}
	if tasks.ValidateName(vm) != nil {
		return nil, fmt.Errorf("alert button %s: bad VM name %q", actionID, vm)
	}
	switch actionID {
	case ActionAlertMute:
		now := r.now()
		m := tasks.Mute{VM: vm, Until: now.Add(buttonMute), By: userID, Reason: "muted from the alert", CreatedAt: now}
		if err := r.alerts.Service.Mute(ctx, m, now); err != nil {
			return nil, err
		}
		return Textf("%s", r.muteButtonText(vm, m.Until)), nil
	case ActionAlertCheck:
		if r.alerts.Checker == nil {
			return nil, tasks.Errorf(tasks.EINVALID, "Checks are not set up on this bot.")
		}
		return r.checkNow(ctx, vm)
	}
	return nil, fmt.Errorf("alert button: unknown action %q", actionID)
}
