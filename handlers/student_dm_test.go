package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// settle moves the clock past every retry the reporter could plan, then
// reports a marker run on a fresh channel and waits until the reporter has
// recorded its message, twice over: each marker is sent in a pass after the
// one that was due, so when the second is recorded every send due before
// it has been made.
func settle(t *testing.T, ctx context.Context, p *handlers.SlackProgress, runs *store.RunService, clock *fakeClock, id int64) {
	t.Helper()
	for i := int64(0); i < 2; i++ {
		clock.Advance(time.Minute)
		ch := "U0MARK" + string(rune('A'+id%26)) + string(rune('A'+i))
		r := &tasks.Run{VM: strings.ToLower(ch), Kind: tasks.RunProvision, Steps: []string{"Create"}, RequestedBy: ch, Channel: ch}
		if err := runs.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.State, r.Data = tasks.RunRunning, tasks.RunData{}
		p.Report(ctx, *r)
		for {
			got, err := runs.FindRun(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.MessageTS != "" {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("marker message never recorded: %v", ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

func countPosts(sim *slacksim.Server, channel string) int {
	n := 0
	for _, c := range sim.Calls() {
		if (c.Method == "chat.postMessage" || c.Method == "chat.update") && c.Param("channel") == channel {
			n++
		}
	}
	return n
}

// A student who cannot be messaged (deactivated, a bot, a mistyped ID) is
// tried once; the requester gets one "Done", not one every 5 s.
func TestSlackProgressStudentUnreachable(t *testing.T) {
	for _, code := range []string{"user_not_found", "cannot_dm_bot", "account_inactive", "channel_not_found"} {
		t.Run(code, func(t *testing.T) {
			sim := slacksim.New(slacksim.Options{})
			defer sim.Close()
			sim.Unreachable("U0GONE001", code)
			clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
			api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
			runs := progressRuns(t)
			p := handlers.NewSlackProgress(api, "cicf.cloud", runs, clock.Now, slogFor(testWriter{t}))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			defer func() { cancel(); <-done }()

			p.Report(ctx, tasks.Run{ID: 9, VM: "emma", Kind: tasks.RunReset, State: tasks.RunDone, Steps: []string{"Create"}, Step: 1,
				RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: clock.Now(), FinishedAt: clock.Now(),
				Data: tasks.RunData{Notify: "U0GONE001"}})
			if _, err := sim.WaitCall(ctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Param("channel") == "U0GONE001" }); err != nil {
				t.Fatalf("the student's DM was never tried: %v", err)
			}
			for i := int64(0); i < 3; i++ {
				settle(t, ctx, p, runs, clock, i)
			}
			if n := countPosts(sim, "U0GONE001"); n != 1 {
				t.Errorf("%d tries to message the unreachable student, want 1 (%s is permanent)", n, code)
			}
			if n := countPosts(sim, "U0TEACH01"); n != 1 {
				t.Errorf("%d messages to the requester, want 1 Done", n)
			}
		})
	}
}

// An error that may pass is retried a few times, then given up; a 429
// waits and does not count as a try.
func TestSlackProgressStudentDMRetriesThenGivesUp(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	sim.Unreachable("U0EMMA001", "internal_error")
	sim.RateLimit("chat.postMessage", 1, time.Second) // the requester's post waits once too
	clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: sim.APIURL()})
	runs := progressRuns(t)
	p := handlers.NewSlackProgress(api, "cicf.cloud", runs, clock.Now, slogFor(testWriter{t}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	p.Report(ctx, tasks.Run{ID: 9, VM: "emma", Kind: tasks.RunReset, State: tasks.RunDone, Steps: []string{"Create"}, Step: 1,
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: clock.Now(), FinishedAt: clock.Now(),
		Data: tasks.RunData{Notify: "U0EMMA001"}})
	for i := int64(0); i < 6; i++ {
		settle(t, ctx, p, runs, clock, i)
	}
	if n := countPosts(sim, "U0EMMA001"); n != 3 {
		t.Errorf("%d tries to message the student, want 3 then give up", n)
	}
	var teacher []string
	for _, c := range sim.Calls() {
		if c.Param("channel") == "U0TEACH01" && strings.HasPrefix(c.Method, "chat.") {
			teacher = append(teacher, c.Method)
		}
	}
	// One 429'd attempt, then the one Done.
	if len(teacher) != 2 {
		t.Errorf("calls to the requester = %v, want one rate-limited post and one Done", teacher)
	}
}

// The student hears of a reset once it is done, not while it runs.
func TestSlackProgressStudentToldOnlyWhenDone(t *testing.T) {
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

	run := tasks.Run{ID: 9, VM: "emma", Kind: tasks.RunReset, State: tasks.RunRunning, Steps: []string{"Create", "Boot"},
		RequestedBy: "U0TEACH01", Channel: "U0TEACH01", CreatedAt: clock.Now(), Data: tasks.RunData{Notify: "U0EMMA001"}}
	p.Report(ctx, run)
	settle(t, ctx, p, runs, clock, 0)
	if n := countPosts(sim, "U0EMMA001"); n != 0 {
		t.Fatalf("%d messages to the student while the reset runs, want 0", n)
	}
	run.State, run.Step, run.FinishedAt = tasks.RunFailed, 1, clock.Now()
	p.Report(ctx, run)
	settle(t, ctx, p, runs, clock, 1)
	if n := countPosts(sim, "U0EMMA001"); n != 0 {
		t.Fatalf("%d messages to the student after a failed reset, want 0", n)
	}
}
