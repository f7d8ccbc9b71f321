package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/tasks"
)

// A finished provision that records a welcome DMs the student once, with
// what SetWelcome writes; without it, a short text naming the next steps.
// A provision without a welcome (an older run) DMs nobody.
func TestSlackProgressWelcomeDM(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	runs := progressRuns(t)
	p := handlers.NewSlackProgress(api, "cicf.cloud", runs, clock.Now, slogFor(testWriter{t}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// IDs far from the store's, which numbers settle's marker runs from 1.
	run := func(id int64, vm, welcome string) tasks.Run {
		return tasks.Run{ID: id, VM: vm, Kind: tasks.RunProvision, State: tasks.RunDone, Steps: []string{"Create"}, Step: 1,
			RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: clock.Now(), FinishedAt: clock.Now(),
			Data: tasks.RunData{Welcome: welcome}}
	}
	p.Report(ctx, run(101, "emma", "U0EMMA001")) // before SetWelcome: the short text
	settle(t, ctx, p, runs, clock, 1)
	p.SetWelcome(func(_ context.Context, name string) (*handlers.Reply, error) {
		return handlers.Textf("full welcome for %s", name), nil
	})
	p.Report(ctx, run(102, "noah", "U0NOAH001"))
	p.Report(ctx, run(103, "zoe", ""))
	settle(t, ctx, p, runs, clock, 2)

	texts := map[string][]string{}
	for _, c := range sim.Calls() {
		if c.Method == "chat.postMessage" {
			texts[c.Param("channel")] = append(texts[c.Param("channel")], c.Param("text"))
		}
	}
	if got := texts["U0EMMA001"]; len(got) != 1 || !strings.Contains(got[0], "`emma.cicf.cloud` is ready") || !strings.Contains(got[0], "/cicf ssh-config") {
		t.Errorf("emma's DMs = %q, want one short welcome", got)
	}
	if got := texts["U0NOAH001"]; len(got) != 1 || got[0] != "full welcome for noah" {
		t.Errorf("noah's DMs = %q, want the SetWelcome message once", got)
	}
	if got := texts["U0ZOE0001"]; len(got) != 0 {
		t.Errorf("zoe's DMs = %q, want none", got)
	}
}
