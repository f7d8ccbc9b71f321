package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/tasks"
)

func TestSlackProgressPostsThenEditsAndSurvives429(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	logger := testWriter{t}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", slogFor(logger))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	run := tasks.Run{ID: 7, VM: "emma", Kind: tasks.RunProvision, State: tasks.RunRunning, Steps: []string{"Create", "Boot", "Check"},
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: time.Now(), Data: map[string]string{}}
	p.Report(ctx, run)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if _, err := sim.WaitCall(wctx, "chat.postMessage", nil); err != nil {
		t.Fatalf("no progress message: %v", err)
	}
	// Slack rate-limits the next edit; intermediate states are coalesced and
	// the final state still arrives.
	sim.RateLimit("chat.update", 1, time.Second)
	for step := 1; step <= 3; step++ {
		run.Step = step
		if step == 3 {
			run.State, run.FinishedAt = tasks.RunDone, time.Now()
		}
		p.Report(ctx, run)
	}
	if _, err := sim.WaitCall(wctx, "chat.update", func(c slacksim.Call) bool {
		return c.Status == 200 && strings.Contains(c.Param("text"), "Done")
	}); err != nil {
		t.Fatalf("the final state never reached Slack: %v", err)
	}
	posts := 0
	for _, c := range sim.Calls() {
		if c.Method == "chat.postMessage" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d chat.postMessage calls, want 1 message edited in place", posts)
	}
}

func slogFor(w testWriter) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestSlackProgressTellsTheStudentAboutAReset(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", slogFor(testWriter{t}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	key := newPublicKey(t, "")
	p.Report(ctx, tasks.Run{ID: 9, VM: "emma", Kind: tasks.RunReset, State: tasks.RunDone, Steps: []string{"Create"}, Step: 1,
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: time.Now(), FinishedAt: time.Now(),
		Data: map[string]string{"notify": "U0EMMA001", "host_key": key}})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	c, err := sim.WaitCall(wctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Param("channel") == "U0EMMA001" })
	if err != nil {
		t.Fatalf("the student was not told: %v", err)
	}
	for _, w := range []string{"was reset by <@U0TEACH01>", "ssh-keygen -R emma.cicf.cloud", tasks.Fingerprint(key)} {
		if !strings.Contains(c.Param("text"), w) {
			t.Errorf("message to the student = %q, want %q", c.Param("text"), w)
		}
	}
}
