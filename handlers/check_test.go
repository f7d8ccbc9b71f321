package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// withChecks gives env the alert verbs with the real alert engine over
// simulated VMs: emma's at 198.18.9.2 listens on 8888 from a python3 she
// started; dylan's at 198.18.9.3 is healthy.
func withChecks(t *testing.T, env *testEnv) *store.AlertService {
	t.Helper()
	vms := store.NewVMService(env.db)
	fleet := vmsim.New(0)
	engine := tasks.NewAlerts(tasks.AlertsDeps{
		VMs: vms, SSH: fleet, Prober: fleet, Scanner: fleet, Store: store.NewAlertService(env.db),
		Domain: "cicf.cloud", Now: func() time.Time { return env.now }, Logger: slog.New(slog.DiscardHandler),
	})
	svc := withAlerts(t, env, engine)
	for i, name := range []string{"emma", "dylan"} {
		_, pub, err := tasks.NewHostKey()
		if err != nil {
			t.Fatal(err)
		}
		ip := []string{"198.18.9.2", "198.18.9.3"}[i]
		fleet.Add(ip, pub, true)
		// The droplet exists at DigitalOcean too, so status cards agree.
		id := env.sim.AddDroplet(dosim.DropletSpec{Name: name + ".cicf.cloud", Tags: []string{"cicf"}, Size: "s-1vcpu-2gb", IPv4: ip})
		if err := vms.UpsertVM(context.Background(), &tasks.VM{Name: name, DropletID: id, Status: "active", IPv4: ip, HostKey: pub}); err != nil {
			t.Fatal(err)
		}
	}
	fleet.Listen("198.18.9.2", vmsim.Listener{Port: 8888, Process: "python3", User: "cicf", PID: 4242})
	return svc
}

func TestCheckVerb(t *testing.T) {
	env := newTestEnv(t)
	withChecks(t, env)
	got := env.run(t, instructorID, "check emma")
	for _, want := range []string{"*emma.cicf.cloud* checked now: 1 of 6 failing", "✗ firewall", "8888", "python3", "_Fix:_", "✓ SSH"} {
		if !strings.Contains(got, want) {
			t.Errorf("check emma = %q, want it to contain %q", got, want)
		}
	}
	if strings.Index(got, "✗ firewall") > strings.Index(got, "✓") {
		t.Errorf("check emma = %q, want failures first", got)
	}
	env.mustRun(t, dylanID, "check", "*dylan.cicf.cloud* checked now: all 6 checks pass")
	env.mustRun(t, dylanID, "check dylan", "all 6 checks pass")
	for _, tt := range []struct{ user, text, want string }{
		{dylanID, "check emma", "only check your own VM"},
		{instructorID, "check", "Say which VM"},
		{instructorID, "check emma dylan", "/cicf check NAME"},
		{instructorID, "check zoe", "zoe"},
		{strangerID, "check", "not on the class roster"},
	} {
		if got := env.run(t, tt.user, tt.text); !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q = %q, want it to contain %q", tt.user, tt.text, got, tt.want)
		}
	}
	if e := newestAudit(t, env, "check"); e.UserID != strangerID || e.Outcome != tasks.EFORBIDDEN {
		t.Errorf("newest check audit = %+v, want the stranger's refusal", e)
	}
}

// TestAlertButtons: the buttons on an alert work for instructors only, the
// role read at the click; every click is audited.
func TestAlertButtons(t *testing.T) {
	env := newTestEnv(t)
	svc := withChecks(t, env)
	ctx := context.Background()

	rep := env.router.AlertAction(ctx, dylanID, handlers.ActionAlertMute, "emma").String()
	if !strings.Contains(rep, "Only instructors") {
		t.Errorf("student's Mute click = %q, want a refusal", rep)
	}
	if e := newestAudit(t, env, "mute"); e.UserID != dylanID || e.Role != tasks.RoleStudent || e.Outcome != tasks.EFORBIDDEN {
		t.Errorf("audit of the refused click = %+v", e)
	}
	if mutes, _ := svc.ActiveMutes(ctx, env.now); len(mutes) != 0 {
		t.Fatalf("a refused click muted: %+v", mutes)
	}

	rep = env.router.AlertAction(ctx, instructorID, handlers.ActionAlertMute, "emma").String()
	if !strings.Contains(rep, "Muted *emma.cicf.cloud* until Wed 13:00 UTC") {
		t.Errorf("Mute click = %q", rep)
	}
	mutes, err := svc.ActiveMutes(ctx, env.now)
	if err != nil || len(mutes) != 1 || mutes[0].VM != "emma" || mutes[0].By != instructorID || !mutes[0].Until.Equal(env.now.Add(time.Hour)) {
		t.Errorf("mutes = %+v, %v; want emma for 1 h by the instructor", mutes, err)
	}
	if e := newestAudit(t, env, "mute"); e.UserID != instructorID || e.Outcome != "ok" {
		t.Errorf("audit of the Mute click = %+v", e)
	}

	rep = env.router.AlertAction(ctx, instructorID, handlers.ActionAlertCheck, "emma").String()
	if !strings.Contains(rep, "1 of 6 failing") || !strings.Contains(rep, "8888") {
		t.Errorf("Check now click = %q, want emma's results", rep)
	}
	rep = env.router.AlertAction(ctx, instructorID, handlers.ActionAlertCheck, "../etc").String()
	if !strings.Contains(rep, "Internal error") {
		t.Errorf("click with a forged value = %q, want it refused as internal", rep)
	}
}
