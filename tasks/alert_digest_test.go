package tasks_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func TestDigest(t *testing.T) {
	e := newAlertEnv(t, false, fleet4...)
	ctx := t.Context()
	e.setService(t, "emma", false)
	e.moveVM(t, "bob", "198.18.0.200")
	for range 3 {
		e.sweep(t, tasks.SweepUptime)
	}
	e.setService(t, "emma", true)
	e.now = e.now.Add(20 * time.Minute)
	for range 2 {
		e.sweep(t, tasks.SweepUptime)
	}
	// Certificates: ana's is short, zoe's is fine.
	if err := e.alerts.SaveResults(ctx, []tasks.Result{
		{VM: "ana", Check: tasks.CheckCert, Status: tasks.CheckFail, Value: 10, At: e.now},
		{VM: "zoe", Check: tasks.CheckCert, Status: tasks.CheckOK, Value: 21, At: e.now},
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []tasks.Mute{
		{VM: "zoe", Until: e.now.Add(2 * time.Hour), By: "U0TEACH01"},  // ends today (09:xx + 2 h)
		{VM: "ana", Until: e.now.Add(20 * time.Hour), By: "U0TEACH01"}, // ends tomorrow
	} {
		if err := e.alerts.Mute(ctx, m, e.now); err != nil {
			t.Fatal(err)
		}
	}
	d, err := e.engine.Digest(ctx, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failing) != 1 || d.Failing[0].VM != "bob" || d.Failing[0].Check != tasks.CheckSSH {
		t.Errorf("Failing = %+v, want bob/ssh", d.Failing)
	}
	if len(d.Incidents) != 2 {
		t.Fatalf("Incidents = %+v, want emma's and bob's", d.Incidents)
	}
	byVM := map[string]tasks.DigestIncident{}
	for _, in := range d.Incidents {
		byVM[in.VM] = in
	}
	// emma's HTTPS failed from the first sweep (09:01) until it resolved at
	// the second sweep after the fix (09:25).
	if in := byVM["emma"]; in.Open || in.Duration != 24*time.Minute {
		t.Errorf("emma's incident %+v, want closed after 24m", in)
	}
	if in := byVM["bob"]; !in.Open || in.Duration != 24*time.Minute {
		t.Errorf("bob's incident %+v, want open for 24m", in)
	}
	if len(d.Certs) != 1 || d.Certs[0].VM != "ana" {
		t.Errorf("Certs = %+v, want ana's", d.Certs)
	}
	if len(d.Mutes) != 1 || d.Mutes[0].VM != "zoe" {
		t.Errorf("Mutes = %+v, want zoe's, ending today", d.Mutes)
	}
	// A day later both incidents have left the window; bob still fails.
	later, err := e.engine.Digest(ctx, e.now.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(later.Incidents) != 0 || len(later.Failing) != 1 {
		t.Errorf("a day later: %d incidents, %d failing; want 0 and 1", len(later.Incidents), len(later.Failing))
	}
}

func TestQueueDigest_oncePerDay(t *testing.T) {
	e := newAlertEnv(t, false, "ana")
	ctx := t.Context()
	for i, c := range []struct {
		at   time.Time
		want bool
	}{{e.now, true}, {e.now.Add(time.Hour), false}, {e.now.Add(24 * time.Hour), true}} {
		got, err := e.engine.QueueDigest(ctx, c.at)
		if err != nil || got != c.want {
			t.Fatalf("QueueDigest #%d = %v, %v; want %v", i, got, err, c.want)
		}
	}
	evs, err := e.alerts.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != tasks.EventDigest {
		t.Fatalf("pending %+v, want 2 digests", evs)
	}
	var d tasks.Digest
	if err := json.Unmarshal([]byte(evs[0].Data), &d); err != nil || !d.At.Equal(e.now) {
		t.Errorf("digest data %q: %v, at %v", evs[0].Data, err, d.At)
	}
}
