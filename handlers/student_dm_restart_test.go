package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/tasks"
)

// A run that finished just before the bot stopped still gets its DM from
// the next process, once; so does one whose sender died holding it, once
// the claim lapses.
func TestStudentDMSurvivesRestart(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	claimed := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"})
	owed := e.finish(t, tasks.RunProvision, "noah", tasks.RunDone, tasks.RunData{Welcome: "U0NOAH001"})
	// The first process's sender claims emma's DM and dies before posting;
	// it never got to noah's. The process exits.
	now := e.clock.Now()
	if got, err := e.queue.ClaimDMs(context.Background(), "dead-process", now, now.Add(2*time.Minute), 1); err != nil || len(got) != 1 || got[0].RunID != claimed.ID {
		t.Fatalf("dead sender's claim = %+v, %v; want emma's DM (the oldest)", got, err)
	}
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}

	e.start(t, handlers.StudentDMConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); e.sender.Run(ctx) }()
	if _, err := e.sim.WaitCall(ctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Param("channel") == "U0NOAH001" }); err != nil {
		t.Fatalf("the new process never sent the DM left owed: %v", err)
	}
	cancel()
	<-done
	if n := countPosts(e.sim, "U0EMMA001"); n != 0 {
		t.Fatalf("%d DMs to emma while the dead sender's claim holds, want 0", n)
	}
	for range 3 {
		e.tick(t, time.Minute)
	}
	for _, c := range []struct {
		user  string
		run   *tasks.Run
		tries int
	}{{"U0NOAH001", owed, 1}, {"U0EMMA001", claimed, 2}} {
		if n := countPosts(e.sim, c.user); n != 1 {
			t.Errorf("%d DMs to %s across the restart, want exactly 1", n, c.user)
		}
		if dm := e.dm(t, c.run); dm.Outcome != tasks.DMSent || dm.Tries != c.tries {
			t.Errorf("stored DM to %s = %+v, want sent on try %d", c.user, dm, c.tries)
		}
	}
}

// Senders that die while posting still use up the tries: after three, the
// next sender gives the DM up without posting it a fourth time.
func TestStudentDMDeadSendersUseUpTries(t *testing.T) {
	e := newDMEnv(t, handlers.StudentDMConfig{})
	r := e.finish(t, tasks.RunReset, "emma", tasks.RunDone, tasks.RunData{Notify: "U0EMMA001"})
	for i := range 3 {
		now := e.clock.Now()
		if got, err := e.queue.ClaimDMs(context.Background(), "dead-"+string(rune('a'+i)), now, now.Add(time.Minute), 1); err != nil || len(got) != 1 {
			t.Fatalf("dead sender %d's claim = %+v, %v; want the DM", i, got, err)
		}
		e.clock.Advance(time.Minute)
	}
	e.tick(t, time.Minute)
	if n := countPosts(e.sim, "U0EMMA001"); n != 0 {
		t.Errorf("%d posts after three tries died, want 0", n)
	}
	if dm := e.dm(t, r); dm.Outcome != tasks.DMGaveUp || dm.Tries != 4 {
		t.Errorf("stored DM = %+v, want given up on its fourth claim", dm)
	}
}
