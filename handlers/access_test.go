package handlers_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// accessEnv has emma and dylan on the roster, each with a key and a
// running VM provisioned through the runner (simulated VMs).
func accessEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newTestEnv(t)
	// The alert verbs over the real engine and store, checking the same
	// simulated VMs.
	env.deps.Alerts = handlers.AlertDeps{Service: store.NewAlertService(env.db), Location: time.UTC, Checker: tasks.NewAlerts(tasks.AlertsDeps{
		VMs: store.NewVMService(env.db), SSH: env.vms, Prober: env.vms, Scanner: env.vms, Store: store.NewAlertService(env.db),
		Domain: "cicf.cloud", Now: func() time.Time { return env.now }, Logger: slog.New(slog.DiscardHandler),
	})}
	env.router = handlers.NewRouter(env.deps)
	env.mustRun(t, instructorID, "roster add emma <@"+emmaID+"|emma> "+newPublicKey(t, "emma@laptop"), "Added `emma`")
	env.mustRun(t, instructorID, "roster add dylan <@"+dylanID+"|dylan> "+newPublicKey(t, "dylan@laptop"), "Added `dylan`")
	env.mustRun(t, instructorID, "provision all", "emma")
	env.runner.Wait()
	for _, n := range []string{"emma", "dylan"} {
		runs, err := env.runs.ListRuns(context.Background(), n, 1)
		if err != nil || len(runs) != 1 || runs[0].State != tasks.RunDone {
			t.Fatalf("provision of %s: %+v, %v", n, runs, err)
		}
	}
	// zoe has a key and no VM yet: the instructor's provision is allowed.
	env.mustRun(t, instructorID, "roster add zoe <@U0ZOE0001|zoe> "+newPublicKey(t, "zoe@laptop"), "Added `zoe`")
	return env
}

// observed is what a refusal must leave alone.
type observed struct {
	changes int    // non-GET requests DigitalOcean received
	vms     string // every simulated VM's state
}

func observe(env *testEnv) observed {
	n := 0
	for _, r := range env.sim.RequestLog() {
		if r.Method != "GET" {
			n++
		}
	}
	return observed{changes: n, vms: env.vms.State()}
}

// TestAccessMatrix runs every verb and every button as a stranger, a
// student on her own VM, a student naming another and an instructor, and
// checks SPEC §4: allowed ones succeed; refused ones change nothing at
// DigitalOcean or on any VM, and are in the audit log.
func TestAccessMatrix(t *testing.T) {
	env := accessEnv(t)
	ctx := context.Background()
	key := newPublicKey(t, "new@laptop")
	type row struct {
		verb, text string // text as typed; "" for a verb with no arguments
		stranger   bool   // allowed for each caller
		own        bool
		another    string // a student naming dylan: text, "" when the verb takes no name
		instructor bool
		instrText  string // the instructor's text when it differs (names a student)
	}
	rows := []row{
		{"help", "help", true, true, "", true, ""},
		{"status", "status", false, true, "status dylan", true, "status emma"},
		{"key", "key " + key, false, true, "key dylan " + key, true, "key emma " + key},
		{"ssh-config", "ssh-config", false, true, "ssh-config dylan", true, "ssh-config emma"},
		{"password", "password", false, true, "password dylan", false, ""},
		{"reset", "reset", false, true, "reset dylan", true, "reset emma"},
		{"provision", "provision zoe", false, false, "provision dylan", true, ""},
		{"destroy", "destroy emma", false, false, "destroy dylan", true, ""},
		{"power", "power off emma", false, false, "power off dylan", true, "power off dylan"}, // emma stays on for the password form below
		{"roster", "roster list", false, false, "roster remove dylan", true, ""},
		{"runs", "runs", false, false, "runs dylan", true, ""},
		{"cost", "cost", false, false, "", true, ""},
		{"confirm", "confirm 0123456789abcdef", false, false, "", false, ""}, // nobody's offer
		// SPEC §7 and issue 6: check for instructors and a student's own VM;
		// the rest for instructors. (scan is a command line tool, not a verb.)
		{"check", "check", false, true, "check dylan", true, "check emma"},
		{"alerts", "alerts", false, false, "", true, ""},
		{"mute", "mute emma 1h lab", false, false, "mute dylan 1h lab", true, ""},
		{"unmute", "unmute emma", false, false, "unmute dylan", true, ""},
	}
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.verb] = true
	}
	registered := map[string]bool{}
	for _, v := range env.router.Verbs() {
		registered[v] = true
		if !covered[v] {
			t.Errorf("verb %q has no row in the access matrix: add one", v)
		}
	}

	check := func(t *testing.T, who, user, text string, allowed bool, act func() string) {
		t.Helper()
		before := observe(env)
		got := act()
		entries, err := env.audit.ListAudit(ctx, 1)
		if err != nil || len(entries) == 0 {
			t.Fatalf("ListAudit = %v, %v", entries, err)
		}
		e := entries[0]
		if e.UserID != user {
			t.Fatalf("%s %q: newest audit entry is %+v, want one for %s", who, text, e, user)
		}
		if allowed {
			if e.Outcome != "ok" {
				t.Errorf("%s %q: outcome %s (%q), want allowed", who, text, e.Outcome, got)
			}
			env.runner.Wait()
			return
		}
		if e.Outcome == "ok" {
			t.Errorf("%s %q: audit outcome %q (%q), want a refusal", who, text, e.Outcome, got)
		}
		env.runner.Wait()
		if after := observe(env); after != before {
			t.Errorf("%s %q was refused but changed something: DigitalOcean changes %d → %d, VMs changed: %v", who, text, before.changes, after.changes, after.vms != before.vms)
		}
	}
	handle := func(user, text string) func() string {
		return func() string { return env.router.Handle(ctx, user, text).String() }
	}
	for _, r := range rows {
		if !registered[r.verb] {
			t.Errorf("verb %q has a row but is not registered", r.verb)
			continue
		}
		t.Run(r.verb, func(t *testing.T) {
			check(t, "stranger", strangerID, r.text, r.stranger, handle(strangerID, r.text))
			check(t, "student", emmaID, r.text, r.own, handle(emmaID, r.text))
			if r.another != "" {
				check(t, "student naming another", emmaID, r.another, false, handle(emmaID, r.another))
			}
			text := r.text
			if r.instrText != "" {
				text = r.instrText
			}
			check(t, "instructor", instructorID, text, r.instructor, handle(instructorID, text))
		})
	}

	// Buttons: an offer is the asker's alone, whoever else clicks.
	t.Run("buttons", func(t *testing.T) {
		for _, offer := range []struct{ owner, text string }{{instructorID, "destroy dylan"}, {emmaID, "reset"}} {
			rep := env.router.Handle(ctx, offer.owner, offer.text)
			if rep.Confirm == nil {
				t.Fatalf("%s %q: no confirm button: %s", offer.owner, offer.text, rep)
			}
			id := rep.Confirm.ID
			for _, user := range []string{strangerID, emmaID, dylanID, instructorID} {
				if user == offer.owner {
					continue
				}
				check(t, "confirm click", user, offer.text, false, func() string { return env.router.Confirm(ctx, user, id).String() })
				check(t, "cancel click", user, offer.text, false, func() string { return env.router.Cancel(ctx, user, id).String() })
			}
			// The owner may cancel it.
			check(t, "owner's cancel", offer.owner, offer.text, true, func() string { return env.router.Cancel(ctx, offer.owner, id).String() })
		}
	})

	// The password form's submission: only a student, for her own VM.
	t.Run("password submission", func(t *testing.T) {
		const pw = "quiet lantern river 9"
		for _, c := range []struct {
			user    string
			allowed bool
		}{{strangerID, false}, {instructorID, false}, {emmaID, true}} {
			check(t, "submission", c.user, "(form)", c.allowed, func() string {
				field, refusal := env.router.CheckPassword(ctx, c.user, pw)
				if c.allowed != (field == "" && refusal == nil) {
					t.Errorf("CheckPassword(%s) = %q, %v; want allowed %v", c.user, field, refusal, c.allowed)
				}
				if refusal != nil {
					return refusal.String()
				}
				return env.router.SetPassword(ctx, c.user, pw).String()
			})
		}
	})
}
