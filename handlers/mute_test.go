package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// withAlerts gives env's router the alert verbs over the real store, and
// returns the store's alert service.
func withAlerts(t *testing.T, env *testEnv, checker handlers.AlertChecker) *store.AlertService {
	t.Helper()
	svc := store.NewAlertService(env.db)
	env.deps.Alerts = handlers.AlertDeps{Service: svc, Checker: checker, Location: time.UTC}
	env.router = handlers.NewRouter(env.deps)
	env.mustRun(t, instructorID, "roster add emma "+emmaID+" "+newPublicKey(t, "e"), "Added")
	env.mustRun(t, instructorID, "roster add dylan "+dylanID+" "+newPublicKey(t, "d"), "Added")
	return svc
}

func TestMuteAndUnmute(t *testing.T) {
	env := newTestEnv(t)
	svc := withAlerts(t, env, nil)
	ctx := context.Background()

	env.mustRun(t, instructorID, "mute emma 2h rebuilding <the> notebook", "until Wed 14:00 UTC")
	mutes, err := svc.ActiveMutes(ctx, env.now)
	if err != nil || len(mutes) != 1 {
		t.Fatalf("ActiveMutes = %+v, %v; want emma's", mutes, err)
	}
	m := mutes[0]
	if m.VM != "emma" || m.By != instructorID || m.Reason != "rebuilding <the> notebook" || !m.Until.Equal(env.now.Add(2*time.Hour)) {
		t.Errorf("mute = %+v, want emma by %s for 2h with the reason", m, instructorID)
	}
	// The channel is told through the outbox.
	pending, err := svc.PendingEvents(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Kind != tasks.EventMuted || pending[0].By != instructorID {
		t.Errorf("outbox = %+v, %v; want one muted event by the instructor", pending, err)
	}
	list := env.run(t, instructorID, "alerts")
	for _, want := range []string{"No open alerts", "*emma.cicf.cloud* until Wed 14:00 UTC", "rebuilding &lt;the&gt; notebook"} {
		if !strings.Contains(list, want) {
			t.Errorf("alerts = %q, want it to contain %q", list, want)
		}
	}

	env.mustRun(t, instructorID, "mute all 7d exam week", "every VM")
	env.mustRun(t, instructorID, "unmute emma", "Unmuted *emma.cicf.cloud*")
	if mutes, _ := svc.ActiveMutes(ctx, env.now); len(mutes) != 1 || mutes[0].VM != tasks.MuteAll {
		t.Errorf("mutes after unmute emma = %+v, want only all", mutes)
	}
	env.mustRun(t, instructorID, "unmute emma", "is not muted")
	env.mustRun(t, instructorID, "unmute all", "Unmuted every VM")
}

func TestMuteBadInput(t *testing.T) {
	env := newTestEnv(t)
	svc := withAlerts(t, env, nil)
	tests := []struct{ user, text, want string }{
		{instructorID, "mute", "/cicf mute NAME DURATION"},
		{instructorID, "mute emma", "/cicf mute NAME DURATION"},
		{instructorID, "mute emma soon", "not a duration"},
		{instructorID, "mute emma 8d", "at most 7 days"},
		{instructorID, "mute emma 169h", "at most 7 days"},
		{instructorID, "mute emma 0m", "must last some time"},
		{instructorID, "mute emma -1h", "must last some time"},
		{instructorID, "mute zoe 1h", `No student named "zoe"`},
		{instructorID, "mute Bad_Name 1h", "not a valid name"},
		{instructorID, "unmute", "/cicf unmute NAME"},
		{instructorID, "alerts now", "takes nothing more"},
		{emmaID, "mute emma 1h", "Only instructors"},
		{emmaID, "alerts", "Only instructors"},
		{strangerID, "unmute all", "not on the class roster"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := env.run(t, tt.user, tt.text)
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("%s: %q = %q, want it to contain %q", tt.user, tt.text, got, tt.want)
			}
		})
	}
	if mutes, _ := svc.ActiveMutes(context.Background(), env.now); len(mutes) != 0 {
		t.Errorf("bad input stored mutes: %+v", mutes)
	}
	if e := newestAudit(t, env, "mute"); e.UserID != emmaID || e.Outcome != tasks.EFORBIDDEN {
		t.Errorf("newest mute audit = %+v, want emma's refusal", e)
	}
}

func TestParseMuteDurations(t *testing.T) {
	env := newTestEnv(t)
	svc := withAlerts(t, env, nil)
	tests := []struct {
		arg  string
		want time.Duration
	}{
		{"30m", 30 * time.Minute}, {"2h", 2 * time.Hour}, {"1h30m", 90 * time.Minute}, {"3d", 72 * time.Hour},
		{"1w", 7 * 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"168h", 168 * time.Hour},
	}
	for _, tt := range tests {
		env.mustRun(t, instructorID, "mute emma "+tt.arg, "Muted")
		mutes, err := svc.ActiveMutes(context.Background(), env.now)
		if err != nil || len(mutes) != 1 {
			t.Fatal(mutes, err)
		}
		if got := mutes[0].Until.Sub(env.now); got != tt.want {
			t.Errorf("mute emma %s lasts %v, want %v", tt.arg, got, tt.want)
		}
	}
}

func TestAlertsListsOpenAlerts(t *testing.T) {
	env := newTestEnv(t)
	svc := withAlerts(t, env, nil)
	ctx := context.Background()
	st := tasks.AlertState{VM: "emma", Check: tasks.CheckFirewall, Firing: true, Incident: 1, Announced: 1, Checks: 1,
		Detail: "port 8888 is open to the internet: python3 <jupyter>", Since: env.now.Add(-25 * time.Minute)}
	if err := svc.SaveAlert(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	group := tasks.AlertState{VM: "", Check: "group:ssh", Firing: true, Incident: 1, Checks: 2, Since: env.now.Add(-3 * time.Minute)}
	if err := svc.SaveAlert(ctx, group, nil); err != nil {
		t.Fatal(err)
	}
	got := env.run(t, instructorID, "alerts")
	for _, want := range []string{"2 alerts open", "*SSH* across the class", "*emma.cicf.cloud* firewall since Wed 11:35 UTC (25m ago, 1 failed check)", "python3 &lt;jupyter&gt;"} {
		if !strings.Contains(got, want) {
			t.Errorf("alerts = %q, want it to contain %q", got, want)
		}
	}
}
