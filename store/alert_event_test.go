package store_test

import (
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func TestAlertService_outboxThreads(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	st := firingState("emma")
	inc := func(kind tasks.EventKind, incident int64) tasks.AlertEvent {
		return tasks.AlertEvent{Kind: kind, VM: "emma", Check: tasks.CheckHTTPS, Incident: incident, At: testNow}
	}
	if err := s.SaveAlert(ctx, st, []tasks.AlertEvent{inc(tasks.EventFiring, 1), inc(tasks.EventReminder, 1)}); err != nil {
		t.Fatal(err)
	}
	other := tasks.AlertEvent{Kind: tasks.EventFiring, VM: "ana", Check: tasks.CheckSSH, Incident: 1, At: testNow}
	if _, err := s.QueueOnce(ctx, "k1", other); err != nil {
		t.Fatal(err)
	}
	// The reminder waits for its firing message.
	pend, err := s.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 2 || pend[0].Kind != tasks.EventFiring || pend[0].VM != "emma" || pend[1].VM != "ana" {
		t.Fatalf("PendingEvents = %+v, want emma's firing and ana's firing", pend)
	}
	if err := s.MarkSent(ctx, pend[0].ID, "1700000000.000100", testNow); err != nil {
		t.Fatal(err)
	}
	pend, err = s.PendingEvents(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 1 || pend[0].Kind != tasks.EventReminder || pend[0].ThreadTS != "1700000000.000100" {
		t.Fatalf("PendingEvents(1) = %+v, want the reminder in thread 1700000000.000100", pend)
	}
	// A second MarkSent of the firing event changes nothing.
	if err := s.MarkSent(ctx, pend[0].ID-1, "999.9", testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A resolve queued later also lands in the thread, and the state reads it.
	st.Version, st.Firing = 1, true
	if err := s.SaveAlert(ctx, st, []tasks.AlertEvent{inc(tasks.EventResolved, 1)}); err != nil {
		t.Fatal(err)
	}
	all, err := s.AlertStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all[0].ThreadTS != "1700000000.000100" {
		t.Errorf("AlertState.ThreadTS = %q, want the firing message's ts", all[0].ThreadTS)
	}
	if err := s.MarkSent(ctx, pend[0].ID, "", testNow); err != nil {
		t.Fatal(err)
	}
	pend, err = s.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 2 || pend[0].VM != "ana" || pend[1].Kind != tasks.EventResolved || pend[1].ThreadTS != "1700000000.000100" {
		t.Fatalf("PendingEvents = %+v, want ana's firing, then emma's resolve in its thread", pend)
	}
	// A new incident of the same check has no thread yet.
	if err := s.SaveAlert(ctx, tasks.AlertState{VM: "emma", Check: tasks.CheckHTTPS, Version: 2, Incident: 2},
		[]tasks.AlertEvent{inc(tasks.EventFiring, 2)}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsSince(ctx, testNow, tasks.EventFiring)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[2].Incident != 2 || evs[2].ThreadTS != "" || evs[0].SentAt.IsZero() || !evs[0].SentAt.Equal(testNow) {
		t.Errorf("EventsSince(firing) = %+v, want 3 firings, the new one without thread, the first sent at testNow", evs)
	}
	if err := s.MarkSent(ctx, 9999, "1.2", testNow); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("MarkSent(9999) = %v, want ENOTFOUND", err)
	}
}

func TestAlertService_queueOnce(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	ev := tasks.AlertEvent{Kind: tasks.EventDigest, Data: `{"n":1}`, At: testNow}
	for i, want := range []bool{true, false} {
		got, err := s.QueueOnce(ctx, "digest:2026-12-04", ev)
		if err != nil || got != want {
			t.Fatalf("QueueOnce #%d = %v, %v; want %v", i, got, err, want)
		}
	}
	if got, err := s.QueueOnce(ctx, "digest:2026-12-05", ev); err != nil || !got {
		t.Fatalf("QueueOnce of the next day = %v, %v; want true", got, err)
	}
	evs, err := s.EventsSince(ctx, time.Time{}, tasks.EventDigest)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Data != `{"n":1}` {
		t.Errorf("digests = %+v, want 2 with their data", evs)
	}
}
