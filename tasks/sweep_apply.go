package tasks

import (
	"context"
	"fmt"
	"time"
)

// apply moves alert state with one batch of counted results, at now:
//   - mutes that ended are deleted (and announced) first, so a failure
//     still there is told at once, also for checks this batch did not run;
//   - a check failing class-wide (plan.grouped), or DigitalOcean down,
//     advances no per-VM counter: its VMs only take stock, and the
//     class-wide state gets the failure;
//   - every other result goes through Step, and each state is saved with its
//     events by a conditional write, retried once after a conflict.
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
	touched := map[resultKey]bool{}
	cloudDown := plan.cloud != nil && plan.cloud.Status == CheckFail
	for _, r := range counted {
		touched[resultKey{r.VM, r.Check}] = true
		var rp *Result
		if _, grouped := plan.grouped[r.Check]; !grouped && !cloudDown {
			rp = &r
		}
		if err := a.step(ctx, stateOf(r.VM, r.Check), rp, now, mutedAt(mutes, r.VM, now)); err != nil {
			return err
		}
	}
	checkable := 0
	for _, vm := range vms {
		if notCheckable(vm) == "" {
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
		if !touched[k] && endedMute(expired, k.vm) {
			if err := a.step(ctx, st, nil, now, mutedAt(mutes, k.vm, now)); err != nil {
				return err
			}
		}
	}
	return nil
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
// replica) moved the state meanwhile, it reloads it and tries once more; a
// second conflict is logged and left to the next sweep.
func (a *Alerts) step(ctx context.Context, st AlertState, r *Result, now time.Time, muted bool) error {
	for attempt := 0; ; attempt++ {
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
