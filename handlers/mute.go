package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) muteCommand() *Command {
	return &Command{
		Verb:   "mute",
		Usages: []Usage{{tasks.RoleInstructor, "NAME|all DURATION [reason]", "silence a VM's alerts (at most 7 days)"}},
		Help: "Stops posting alerts of a VM, or of every VM, for a while (at most 7 days; durations like 30m, 2h, 3d). " +
			"The checks go on and their state is kept, so a fix made meanwhile is still posted. The channel is told who muted what, why and until when.",
		Examples: []string{"/cicf mute emma 2h rebuilding the notebook", "/cicf mute all 1d exam day"},
		Run:      r.mute,
	}
}

func (r *Router) unmuteCommand() *Command {
	return &Command{
		Verb:     "unmute",
		Usages:   []Usage{{tasks.RoleInstructor, "NAME|all", "post a muted VM's alerts again"}},
		Help:     "Lifts a mute before it ends. A failure that is still there is posted at the next check.",
		Examples: []string{"/cicf unmute emma", "/cicf unmute all"},
		Run:      r.unmute,
	}
}

const muteUsage = "Type `/cicf mute NAME DURATION [reason]`, e.g. `/cicf mute emma 2h rebuilding` or `/cicf mute all 1d`."

func (r *Router) mute(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) < 2 {
		return nil, tasks.Errorf(tasks.EINVALID, "%s", muteUsage)
	}
	vm, err := r.muteTarget(ctx, req.Args[0])
	if err != nil {
		return nil, err
	}
	d, err := parseMuteDuration(req.Args[1].Text)
	if err != nil {
		return nil, err
	}
	var words []string
	for _, t := range req.Args[2:] {
		words = append(words, t.Text)
	}
	now := r.now()
	m := tasks.Mute{VM: vm, Until: now.Add(d), By: req.Caller.UserID, Reason: clipText(strings.Join(words, " "), 200), CreatedAt: now}
	if err := r.alerts.Service.Mute(ctx, m, now); err != nil {
		return nil, err
	}
	return Textf("Muted %s until %s (%s). The channel is told; the checks go on, and a fix made meanwhile is still posted.",
		r.alerts.render.muteTarget(vm), r.alerts.render.when(m.Until), lasted(d)), nil
}

func (r *Router) unmute(ctx context.Context, req *Request) (*Reply, error) {
	if len(req.Args) != 1 {
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf unmute NAME` or `/cicf unmute all`. See the mutes with `/cicf alerts`.")
	}
	vm, err := r.muteTarget(ctx, req.Args[0])
	if err != nil {
		return nil, err
	}
	if err := r.alerts.Service.Unmute(ctx, vm, req.Caller.UserID, r.now()); err != nil {
		if tasks.ErrorCode(err) == tasks.ENOTFOUND {
			return nil, tasks.Errorf(tasks.ENOTFOUND, "%s is not muted. See the mutes with `/cicf alerts`.", capitalize(r.alerts.render.muteTarget(vm)))
		}
		return nil, err
	}
	return Textf("Unmuted %s; its alerts are posted again from the next check.", r.alerts.render.muteTarget(vm)), nil
}

// muteTarget resolves NAME, @mention or all to a roster name or MuteAll.
func (r *Router) muteTarget(ctx context.Context, t Token) (string, error) {
	if strings.EqualFold(t.Text, "all") && t.UserID == "" {
		return tasks.MuteAll, nil
	}
	name, err := r.studentName(ctx, t)
	if err != nil {
		return "", err
	}
	if _, err := r.students.FindStudent(ctx, name); err != nil {
		if tasks.ErrorCode(err) == tasks.ENOTFOUND {
			return "", tasks.Errorf(tasks.ENOTFOUND, "No student named %q. Try `/cicf roster list`, or `all`.", name)
		}
		return "", err
	}
	return name, nil
}

// parseMuteDuration reads "30m", "2h", "1h30m", "3d" or "1w": Go durations
// plus days and weeks, which is how people say mutes. It returns EINVALID,
// naming what to type, for anything else and for zero.
func parseMuteDuration(s string) (time.Duration, error) {
	bad := tasks.Errorf(tasks.EINVALID, "%q is not a duration. Use minutes, hours or days, e.g. 30m, 2h or 3d (at most 7d).", clipText(s, 20))
	var d time.Duration
	switch {
	case strings.HasSuffix(s, "d"), strings.HasSuffix(s, "w"):
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n < 0 || n > 1000 {
			return 0, bad
		}
		unit := 24 * time.Hour
		if strings.HasSuffix(s, "w") {
			unit *= 7
		}
		d = time.Duration(n) * unit
	default:
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		d = v
	}
	// Beyond MaxMute, tasks.CheckMute refuses it when it is stored.
	if d <= 0 {
		return 0, tasks.Errorf(tasks.EINVALID, "A mute must last some time, e.g. 30m or 2h. To end one, type `/cicf unmute NAME`.")
	}
	return d, nil
}

// muteMessage is the reply to a mute from a button.
func (r *Router) muteButtonText(vm string, until time.Time) string {
	return fmt.Sprintf("Muted %s until %s. The channel is told.", r.alerts.render.muteTarget(vm), r.alerts.render.when(until))
}
