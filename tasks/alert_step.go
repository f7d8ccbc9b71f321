package tasks

import "time"

// Flapping: a check whose alert changes FlapChanges times within FlapWindow
// flaps; it stays quiet until it has not changed for FlapQuiet.
const (
	FlapChanges = 4
	FlapWindow  = 2 * time.Hour
	FlapQuiet   = time.Hour
)

// Step is the alert state machine, a pure function: from the stored state,
// one new result (nil when there is none, to only take stock: reminders, a
// mute or flapping that ended), the time, the config and whether the VM is
// muted, it returns the new state and the events to post. The caller stores
// both in one transaction.
//
// Unknown results count for nothing. A failure fires after cfg.FireAfter in
// a row, or at once when the result says Immediate; cfg.ResolveAfter
// successes in a row resolve it. While muted or flapping no event is made,
// but the state moves on; afterwards Announced and Firing are reconciled
// into one firing or resolved event, so nothing is lost.
func Step(st AlertState, r *Result, now time.Time, cfg AlertConfig, muted bool) (AlertState, []AlertEvent) {
	st.Changes = append([]time.Time(nil), st.Changes...)
	var evs []AlertEvent
	quiet := func() bool { return muted || st.Flapping }
	if r != nil && r.Status != CheckUnknown {
		if r.Status == CheckFail {
			if st.Fails == 0 && !st.Firing {
				st.Since, st.Checks, st.Level = r.At, 0, 0
			}
			st.Fails++
			st.Oks = 0
			st.Checks++
			st.Detail, st.Fix = r.Detail, r.Fix
			switch {
			case !st.Firing && (st.Fails >= cfg.FireAfter || r.Immediate):
				st.Firing, st.FiredAt, st.Level = true, now, r.Level
				st.Incident++
				st.Changes = append(st.Changes, now)
			case st.Firing && r.Level > st.Level:
				st.Level = r.Level
				if st.Announced == st.Incident && !quiet() {
					evs = append(evs, st.event(EventEscalated, now))
				}
			}
		} else {
			st.Oks++
			st.Fails = 0
			if st.Firing && st.Oks >= cfg.ResolveAfter {
				st.Firing, st.Resolved = false, now
				st.Changes = append(st.Changes, now)
			}
		}
	}
	// Flapping is judged on the changes of the last FlapWindow.
	kept := st.Changes[:0]
	for _, c := range st.Changes {
		if now.Sub(c) < FlapWindow {
			kept = append(kept, c)
		}
	}
	st.Changes = kept
	switch {
	case !st.Flapping && len(st.Changes) >= FlapChanges:
		st.Flapping = true
		if !muted {
			evs = append(evs, st.event(EventFlapping, now))
			st.Announced, st.Reminded = st.Incident, now
		}
	case st.Flapping && (len(st.Changes) == 0 || now.Sub(st.Changes[len(st.Changes)-1]) >= FlapQuiet):
		// A fresh start: the changes that made it flap are not counted twice.
		st.Flapping, st.Changes = false, nil
	}
	if quiet() {
		st.UpdatedAt = now
		return st, evs
	}
	if st.Announced != 0 && (!st.Firing || st.Announced != st.Incident) {
		ev := st.event(EventResolved, now)
		ev.Incident = st.Announced
		if st.Announced == st.Incident {
			end := st.Resolved
			if end.IsZero() || end.Before(st.Since) {
				end = now
			}
			ev.Duration, ev.Checks = end.Sub(st.Since), st.Checks
		} else {
			// A newer incident began while muted: the old one ended at some
			// point in between, and its figures are gone.
			ev.Detail, ev.Checks = "", 0
		}
		evs = append(evs, ev)
		st.Announced = 0
	}
	switch {
	case st.Firing && st.Announced == 0:
		st.Announced, st.Reminded = st.Incident, now
		evs = append(evs, st.event(EventFiring, now))
	case st.Firing && st.Oks == 0 && now.Sub(st.Reminded) >= cfg.RemindEvery:
		// Oks > 0: it is getting better, so "still failing" would mislead.
		st.Reminded = now
		evs = append(evs, st.event(EventReminder, now))
	}
	st.UpdatedAt = now
	return st, evs
}

// event returns an event of kind about st's current incident.
func (st AlertState) event(kind EventKind, now time.Time) AlertEvent {
	return AlertEvent{
		Kind: kind, VM: st.VM, Check: st.Check, Incident: st.Incident,
		Detail: st.Detail, Fix: st.Fix, Since: st.Since, Checks: st.Checks, At: now,
	}
}
