package tasks

import (
	"context"
	"fmt"
	"time"
)

// apply moves alert state with one batch of counted results, at now:
//   - mutes that ended are deleted (and announced) first, so a failure
//     still there is told at once, also for checks this batch did not run
//     (and so are those a mute lifted by hand held back, see owesMessage);
//   - a check failing class-wide (plan.grouped), or DigitalOcean down,
//     advances no per-VM counter: its VMs only take stock, and the
//     class-wide state gets the failure;
//   - every other result goes through Step, and each state is saved with its
//     events by a conditional write, retried once after a conflict;
//   - a VM whose droplet is off is quiet as if muted: an open incident gets
//     no reminders while it is off, and its end is told when it is back.
func (a *Alerts) apply(ctx context.Context, vms []VM, counted []Result, plan sweepPlan) error {
	now := a.now()
	expired, err := a.store.ExpireMutes(ctx, now)
	if err != nil {
		return err
	}
	mutes, err := a.store.ActiveMutes(ctx, now)
	if err != nil {
		return err
	}
	all, err := a.store.AlertStates(ctx)
	if err != nil {
		return err
	}
	states := make(map[resultKey]AlertState, len(all))
	for _, st := range all {
		states[resultKey{st.VM, st.Check}] = st
	}
	stateOf := func(vm, check string) AlertState {
		if st, ok := states[resultKey{vm, check}]; ok {
			return st
		}
		return AlertState{VM: vm, Check: check}
	}
	off := map[string]bool{}
	for _, vm := range vms {
		off[vm.Name] = vm.Status == "off" || vm.Status == "archive"
	}
	quiet := func(vm string) bool { return off[vm] || mutedAt(mutes, vm, now) }
	touched := map[resultKey]bool{}
	cloudDown := plan.cloud != nil && plan.cloud.Status == CheckFail
	// A class-wide alert that stands undecided (see undecidedGroups) still
	// holds its VMs' counters, as when it is grouped.
	holding := func(check string) bool {
		_, grouped := plan.grouped[check]
		return grouped || plan.undecided[check] && stateOf("", GroupCheck(check)).Firing
	}
	for _, r := range counted {
		touched[resultKey{r.VM, r.Check}] = true
		var rp *Result
		if !holding(r.Check) && !cloudDown {
			rp = &r
		}
		if err := a.step(ctx, stateOf(r.VM, r.Check), rp, now, quiet(r.VM)); err != nil {
			return err
		}
	}
	checkable := 0
	for _, vm := range vms {
		if notCheckable(vm, plan.busy) == "" {
			checkable++
		}
	}
	var group []Result
	for _, c := range plan.checks {
		group = append(group, plan.groupResult(c, checkable, now))
	}
	if plan.cloud != nil {
		group = append(group, *plan.cloud)
	}
	for _, r := range group {
		k := resultKey{"", r.Check}
		touched[k] = true
		if _, ok := states[k]; !ok && r.Status != CheckFail {
			continue // nothing to resolve: no row for a class that never failed
		}
		if err := a.step(ctx, stateOf("", r.Check), &r, now, mutedAt(mutes, "", now)); err != nil {
			return err
		}
	}
	for k, st := range states {
		muted := quiet(k.vm)
		if !touched[k] && (endedMute(expired, k.vm) || a.owesMessage(st, muted, now)) {
			if err := a.step(ctx, st, nil, now, muted); err != nil {
				return err
			}
		}
	}
	return nil
}

// owesMessage reports whether st, which this batch did not look at, has a
// message due now: a firing or resolve held back by a mute that was lifted
// (by hand, so ExpireMutes did not see it), or a reminder of a check whose
// own sweep is rarer than remind_every.
func (a *Alerts) owesMessage(st AlertState, muted bool, now time.Time) bool {
	if muted || st.Flapping {
		return false
	}
	return (st.Firing && st.Announced != st.Incident) || (!st.Firing && st.Announced != 0) ||
		(st.Firing && now.Sub(st.Reminded) >= a.cfg.RemindEvery)
}

// endedMute reports whether one of expired covered vm.
func endedMute(expired []Mute, vm string) bool {
	for _, m := range expired {
		if m.VM == vm || m.VM == MuteAll {
			return true
		}
	}
	return false
}

// step runs Step and saves the outcome. When another writer (a second
// replica) moved the state meanwhile, it reloads it and tries once more,
// without r if the other writer's step came after r was taken (it counted
// what r saw: two replicas sweeping together count a sweep once); a second
// conflict is logged and left to the next sweep.
func (a *Alerts) step(ctx context.Context, st AlertState, r *Result, now time.Time, muted bool) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 && r != nil && !st.UpdatedAt.Before(r.At) {
			r = nil
		}
		next, evs := Step(st, r, now, a.cfg, muted)
		err := a.store.SaveAlert(ctx, next, evs)
		if ErrorCode(err) != ECONFLICT {
			return err
		}
		if attempt > 0 {
			a.log.WarnContext(ctx, "alert state changed twice meanwhile; left to the next sweep", "vm", st.VM, "check", st.Check)
			return nil
		}
		if st, err = a.reload(ctx, st.VM, st.Check); err != nil {
			return err
		}
	}
}

// reload reads the stored state of (vm, check), or a new one.
func (a *Alerts) reload(ctx context.Context, vm, check string) (AlertState, error) {
	all, err := a.store.AlertStates(ctx)
	if err != nil {
		return AlertState{}, fmt.Errorf("reload alert state: %w", err)
	}
	for _, st := range all {
		if st.VM == vm && st.Check == check {
			return st, nil
		}
	}
	return AlertState{VM: vm, Check: check}, nil
}

// forgetGone deletes the alert states of VMs the bot no longer knows (a
// destroyed droplet), telling the channel that an announced incident ended
// with its VM, so no thread stays open and no reminder comes for it.
// Another replica deleting the same state first is not an error.
func (a *Alerts) forgetGone(ctx context.Context, vms []VM, now time.Time) error {
	known := make(map[string]bool, len(vms))
	for _, vm := range vms {
		known[vm.Name] = true
	}
	all, err := a.store.AlertStates(ctx)
	if err != nil {
		return err
	}
	for _, st := range all {
		if st.VM == "" || known[st.VM] {
			continue
		}
		var evs []AlertEvent
		if st.Announced != 0 {
			ev := st.event(EventResolved, now)
			ev.Incident, ev.Detail, ev.Checks = st.Announced, "the VM is gone", 0
			if st.Announced == st.Incident && !st.Since.IsZero() {
				ev.Duration, ev.Checks = now.Sub(st.Since), st.Checks
			}
			evs = append(evs, ev)
		}
		if err := a.store.DeleteAlert(ctx, st, evs); err != nil && ErrorCode(err) != ECONFLICT {
			return err
		}
	}
	return nil
}
