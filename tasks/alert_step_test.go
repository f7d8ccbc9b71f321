package tasks_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// stepIn is one sweep's input to the state machine in a table test.
type stepIn struct {
	st    string        // "ok", "fail", "unknown", or "" for no result (take stock)
	imm   bool          // result is Immediate
	level int           // result Level
	muted bool          // VM muted during this sweep
	after time.Duration // clock moved by this much before the sweep (default 1m)
	want  []tasks.EventKind
}

var t0 = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// runSteps feeds ins through Step with a moved clock and checks each
// sweep's events; it returns the final state and the last events.
func runSteps(t *testing.T, cfg tasks.AlertConfig, ins []stepIn) (tasks.AlertState, []tasks.AlertEvent) {
	t.Helper()
	st := tasks.AlertState{VM: "emma", Check: tasks.CheckHTTPS}
	now := t0
	var evs []tasks.AlertEvent
	for i, in := range ins {
		d := in.after
		if d == 0 {
			d = time.Minute
		}
		now = now.Add(d)
		var r *tasks.Result
		if in.st != "" {
			r = &tasks.Result{VM: "emma", Check: tasks.CheckHTTPS, Status: tasks.CheckStatus(in.st), Immediate: in.imm, Level: in.level, Detail: "HTTPS status 502", At: now}
		}
		st, evs = tasks.Step(st, r, now, cfg, in.muted)
		var got []tasks.EventKind
		for _, e := range evs {
			got = append(got, e.Kind)
		}
		if !reflect.DeepEqual(got, in.want) {
			t.Fatalf("sweep %d (%+v): events %v, want %v; state %+v", i, in, got, in.want, st)
		}
	}
	return st, evs
}

func TestStep(t *testing.T) {
	cfg := tasks.DefaultAlertConfig() // fire_after 3, resolve_after 2, remind 4h
	F, R, RS, FL, ES := tasks.EventFiring, tasks.EventResolved, tasks.EventReminder, tasks.EventFlapping, tasks.EventEscalated
	fail, ok := stepIn{st: "fail"}, stepIn{st: "ok"}
	with := func(in stepIn, f func(*stepIn)) stepIn { f(&in); return in }
	tests := []struct {
		name string
		ins  []stepIn
	}{
		{"fires after fire_after failures, once, and resolves after resolve_after", []stepIn{
			fail, fail, with(fail, func(s *stepIn) { s.want = []tasks.EventKind{F} }), fail, ok,
			with(ok, func(s *stepIn) { s.want = []tasks.EventKind{R} }), ok, fail,
		}},
		{"a one-sweep blip says nothing", []stepIn{fail, ok, fail, fail, ok, fail, ok, ok}},
		{"immediate fires at the first failure", []stepIn{with(fail, func(s *stepIn) { s.imm = true; s.want = []tasks.EventKind{F} })}},
		{"unknown is not down and does not break a streak", []stepIn{
			fail, {st: "unknown"}, {st: "unknown"}, {st: "unknown"}, fail,
			with(fail, func(s *stepIn) { s.want = []tasks.EventKind{F} }),
		}},
		{"unknown does not resolve", []stepIn{
			fail, fail, with(fail, func(s *stepIn) { s.want = []tasks.EventKind{F} }),
			{st: "unknown"}, {st: "unknown"}, ok, {st: "unknown"}, with(ok, func(s *stepIn) { s.want = []tasks.EventKind{R} }),
		}},
		{"reminders at most every remind_every", []stepIn{
			fail, fail, with(fail, func(s *stepIn) { s.want = []tasks.EventKind{F} }),
			with(fail, func(s *stepIn) { s.after = 4*time.Hour - time.Minute }),
			with(fail, func(s *stepIn) { s.want = []tasks.EventKind{RS} }),
			fail, {}, with(fail, func(s *stepIn) { s.after = 4 * time.Hour; s.want = []tasks.EventKind{RS} }),
			with(ok, func(s *stepIn) { s.after = 4 * time.Hour }), {}, // getting better: no "still failing"
			with(fail, func(s *stepIn) { s.want = []tasks.EventKind{RS} }),
		}},
		{"flapping gives one message, then quiet until stable for an hour", []stepIn{
			with(fail, func(s *stepIn) { s.imm = true; s.want = []tasks.EventKind{F} }), ok,
			with(ok, func(s *stepIn) { s.want = []tasks.EventKind{R} }),
			with(fail, func(s *stepIn) { s.imm = true; s.want = []tasks.EventKind{F} }), ok,
			with(ok, func(s *stepIn) { s.want = []tasks.EventKind{FL} }),
			with(fail, func(s *stepIn) { s.imm = true }), ok, ok, with(fail, func(s *stepIn) { s.imm = true }), ok, ok,
			with(ok, func(s *stepIn) { s.after = 59 * time.Minute }),
			with(ok, func(s *stepIn) { s.want = []tasks.EventKind{R} }), ok,
		}},
		{"muted keeps state and posts nothing; the resolve comes after", []stepIn{
			fail, fail, with(fail, func(s *stepIn) { s.want = []tasks.EventKind{F} }),
			{st: "fail", muted: true}, {st: "ok", muted: true}, {st: "ok", muted: true}, {st: "ok", muted: true},
			{want: []tasks.EventKind{R}}, ok,
		}},
		{"a mute's expiry with the failure still there posts at once", []stepIn{
			{st: "fail", muted: true}, {st: "fail", muted: true}, {st: "fail", muted: true}, {st: "fail", muted: true},
			{want: []tasks.EventKind{F}}, fail,
		}},
		{"a new incident during a mute: old resolve, then new firing", []stepIn{
			with(fail, func(s *stepIn) { s.imm = true; s.want = []tasks.EventKind{F} }),
			{st: "ok", muted: true}, {st: "ok", muted: true}, {st: "fail", imm: true, muted: true},
			{want: []tasks.EventKind{R, F}},
		}},
		{"a worse level while firing goes in the thread", []stepIn{
			{st: "fail", imm: true, level: 1, want: []tasks.EventKind{F}}, {st: "fail", imm: true, level: 1},
			{st: "fail", imm: true, level: 2, want: []tasks.EventKind{ES}}, {st: "fail", imm: true, level: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, cfg, tt.ins) })
	}
}

func TestStepResolveCarriesDurationAndChecks(t *testing.T) {
	cfg := tasks.DefaultAlertConfig()
	fail, ok := stepIn{st: "fail"}, stepIn{st: "ok"}
	_, evs := runSteps(t, cfg, []stepIn{
		fail, {st: "fail", want: nil}, {st: "fail", want: []tasks.EventKind{tasks.EventFiring}},
		fail, fail, ok, {st: "ok", want: []tasks.EventKind{tasks.EventResolved}},
	})
	// First failure at t0+1m, resolved by the second success at t0+7m.
	if got, want := evs[0].Duration, 6*time.Minute; got != want {
		t.Errorf("resolved Duration = %v, want %v", got, want)
	}
	if got, want := evs[0].Checks, 5; got != want {
		t.Errorf("resolved Checks = %d, want %d", got, want)
	}
	if got, want := evs[0].Incident, int64(1); got != want {
		t.Errorf("resolved Incident = %d, want %d", got, want)
	}
}
