package handlers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/tasks"
)

// A finished provision that records a welcome DMs the student once, with
// what StudentDMConfig.Welcome writes; without it, a short text naming the
// next steps. A provision without a welcome (an older run) DMs nobody.
func TestStudentDMWelcome(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	e.finish(t, tasks.RunProvision, "emma", tasks.RunDone, tasks.RunData{Welcome: "U0EMMA001"})
	e.tick(t, time.Minute) // no Welcome func: the short text
	e.start(t, handlers.StudentDMConfig{Welcome: func(_ context.Context, name string) (*handlers.Reply, error) {
		return handlers.Textf("full welcome for %s", name), nil
	}})
	e.finish(t, tasks.RunProvision, "noah", tasks.RunDone, tasks.RunData{Welcome: "U0NOAH001"})
	e.finish(t, tasks.RunProvision, "zoe", tasks.RunDone, tasks.RunData{})
	e.tick(t, time.Minute)
	e.tick(t, time.Minute)

	texts := func(user string) []string {
		var out []string
		for _, m := range e.sim.Messages(user) {
			out = append(out, m.Text)
		}
		return out
	}
	if got := texts("U0EMMA001"); len(got) != 1 || !strings.Contains(got[0], "`emma.cicf.cloud` is ready") || !strings.Contains(got[0], "/cicf ssh-config") {
		t.Errorf("emma's DMs = %q, want one short welcome", got)
	}
	if got := texts("U0NOAH001"); len(got) != 1 || got[0] != "full welcome for noah" {
		t.Errorf("noah's DMs = %q, want the configured welcome once", got)
	}
	if got := texts("U0ZOE0001"); len(got) != 0 {
		t.Errorf("zoe's DMs = %q, want none", got)
	}
}

// A welcome that cannot be written (the store fails) is a try like a failed
// post: retried, then given up, never sent half-written.
func TestStudentDMWelcomeUnwritable(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{Welcome: func(context.Context, string) (*handlers.Reply, error) {
		return nil, errors.New("database is locked")
	}})
	r := e.finish(t, tasks.RunProvision, "emma", tasks.RunDone, tasks.RunData{Welcome: "U0EMMA001"})
	for range 4 {
		e.tick(t, time.Minute)
	}
	if n := countPosts(e.sim, "U0EMMA001"); n != 0 {
		t.Errorf("%d DMs posted, want 0", n)
	}
	if dm := e.dm(t, r); dm.Outcome != tasks.DMGaveUp || dm.Tries != 3 {
		t.Errorf("stored DM = %+v, want given up after 3 tries", dm)
	}
}
