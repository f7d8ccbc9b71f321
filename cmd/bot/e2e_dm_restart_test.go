package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// TestServeStudentDMAfterKill: a provision ends while Slack refuses the
// student's welcome for now; the bot is killed (SIGKILL) after that first
// try, and the next bot on the same database sends the welcome, once. With
// the DM queued in memory, as it was, the welcome was lost.
func TestServeStudentDMAfterKill(t *testing.T) {
	first, _, _ := startSelfServe(t, 200)
	first.slack.Unreachable(e2eEmma, "internal_error")
	pub, _ := newStudentKey(t)
	expectReply(t, first.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma>"), "Added `emma`")
	expectReply(t, first.send(t, e2eEmma, "key "+pub), "Saved the SSH key")
	expectReply(t, first.send(t, e2eTeacher, "provision emma"), "emma")
	if line := waitRunOf(t, first, "provision of emma"); !strings.Contains(line, "done") {
		t.Fatalf("provision = %q, want done", line)
	}

	path := filepath.Join(first.cmd.Dir, "cicf.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := store.NewRunService(db).ListRuns(ctx, "emma", 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs of emma = %v, %v", runs, err)
	}
	dms := store.NewStudentDMQueue(db)
	// Kill the bot once its first try failed and it handed the DM back for
	// later (5 s on), so that no claim of the dead process holds it.
	dm := waitDM(t, ctx, dms, runs[0].ID, "the first try to be handed back", func(dm tasks.StudentDM) bool {
		return dm.Tries == 1 && dm.NotBefore.Sub(dm.CreatedAt) >= 4*time.Second
	})
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if dm.Outcome != "" {
		t.Fatalf("DM before the restart = %+v, want still owed", dm)
	}

	var env []string
	for _, kv := range first.cmd.Env {
		if strings.HasPrefix(kv, "CICF_CONFIG=") || strings.HasPrefix(kv, "SSL_CERT_FILE=") {
			env = append(env, kv)
		}
	}
	second := startServeWith(t, first.do, append(env, "CICF_DB="+path)...)
	if _, err := second.slack.WaitCall(ctx, "chat.postMessage", func(c slacksim.Call) bool {
		return c.Param("channel") == e2eEmma && strings.Contains(c.Param("text"), "is ready")
	}); err != nil {
		t.Fatalf("the restarted bot never sent the welcome: %v", err)
	}
	dm = waitDM(t, ctx, dms, runs[0].ID, "the welcome to be recorded sent", func(dm tasks.StudentDM) bool { return dm.Outcome != "" })
	if dm.Outcome != tasks.DMSent || dm.Tries != 2 {
		t.Errorf("stored DM = %+v, want sent on the second try", dm)
	}
	for _, e := range []*serveEnv{first, second} {
		if n := countDMs(e.slack, e2eEmma); n != 1 {
			t.Errorf("%d posts to emma by one bot, want 1 each (the refused one, then the welcome)", n)
		}
	}
}

// waitDM polls the store until run's DM satisfies ok and returns it.
func waitDM(t *testing.T, ctx context.Context, dms *store.StudentDMQueue, run int64, what string, ok func(tasks.StudentDM) bool) tasks.StudentDM {
	t.Helper()
	for {
		dm, err := dms.DMOfRun(ctx, run)
		if err == nil && ok(dm) {
			return dm
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last %+v, %v)", what, ctx.Err(), dm, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func countDMs(sim *slacksim.Server, user string) int {
	n := 0
	for _, c := range sim.Calls() {
		if c.Method == "chat.postMessage" && c.Param("channel") == user {
			n++
		}
	}
	return n
}
