package handlers_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func TestSlackProgressPostsThenEditsAndSurvives429(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	logger := testWriter{t}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", progressRuns(t), time.Now, slogFor(logger))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	run := tasks.Run{ID: 7, VM: "emma", Kind: tasks.RunProvision, State: tasks.RunRunning, Steps: []string{"Create", "Boot", "Check"},
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: time.Now()}
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

// progressRuns is a real store's runs, for the reporter to record messages.
func progressRuns(t *testing.T) *store.RunService {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.NewRunService(db)
}

// startProgress runs a reporter until the test ends.
func startProgress(t *testing.T, sim *slacksim.Server, runs *store.RunService) *handlers.SlackProgress {
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", runs, time.Now, slogFor(testWriter{t}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func TestSlackProgressResumedRunEditsItsMessage(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	runs := progressRuns(t)
	ctx := context.Background()
	run := &tasks.Run{VM: "emma", Kind: tasks.RunProvision, Steps: []string{"Create", "Boot"}, RequestedBy: "U0TEACH01", Channel: "U0TEACH01"}
	if err := runs.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	// First life: the message is posted and recorded.
	first := startProgress(t, sim, runs)
	first.Report(ctx, *run)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := sim.WaitCall(wctx, "chat.postMessage", nil); err != nil {
		t.Fatal(err)
	}
	var stored *tasks.Run
	for stored == nil || stored.MessageTS == "" {
		var err error
		if stored, err = runs.FindRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if wctx.Err() != nil {
			t.Fatal("the progress message was never recorded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Second life: the resumed run (as the store gives it) edits that message.
	second := startProgress(t, sim, runs)
	stored.Step = 1
	second.Report(ctx, *stored)
	if _, err := sim.WaitCall(wctx, "chat.update", func(c slacksim.Call) bool { return c.Status == 200 && c.Param("ts") == stored.MessageTS }); err != nil {
		t.Fatalf("the resumed run did not edit its message: %v", err)
	}
	posts := 0
	for _, c := range sim.Calls() {
		if c.Method == "chat.postMessage" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d messages posted for one run across a restart, want 1", posts)
	}
}

// Stopping the reporter while Slack holds a message back (Retry-After)
// still sends it, then ends: not an hour later (the reporter's idle wait),
// as it did when the last queued message went out inside the flush.
func TestSlackProgressFlushesThenStops(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", progressRuns(t), time.Now, slogFor(testWriter{t}))
	sim.RateLimit("chat.postMessage", 1, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	p.Report(ctx, tasks.Run{ID: 3, VM: "emma", Kind: tasks.RunProvision, State: tasks.RunRunning, Steps: []string{"Create"},
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: time.Now()})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := sim.WaitCall(wctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Err == "ratelimited" }); err != nil {
		t.Fatalf("Slack was never asked: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of being stopped")
	}
	if _, err := sim.WaitCall(wctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Status == 200 }); err != nil {
		t.Errorf("the queued message was not sent at shutdown: %v", err)
	}
}

// Stopping the reporter while Slack holds its message back for an hour
// ends it within its flush bound: what cannot go is left.
func TestSlackProgressStopsWhileRateLimited(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	p := handlers.NewSlackProgress(api, "cicf.cloud", progressRuns(t), time.Now, slogFor(testWriter{t}))
	sim.RateLimit("chat.postMessage", 100, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	p.Report(ctx, tasks.Run{ID: 3, VM: "emma", Kind: tasks.RunProvision, State: tasks.RunRunning, Steps: []string{"Create"},
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: time.Now()})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := sim.WaitCall(wctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Err == "ratelimited" }); err != nil {
		t.Fatalf("Slack was never asked: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of being stopped while Slack said Retry-After an hour")
	}
}
