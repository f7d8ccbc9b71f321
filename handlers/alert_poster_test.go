package handlers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const classChannel = "C0CLASS01"

// posterEnv is an alert poster over a real SQLite store and the Slack
// stand-in, with a clock the test moves.
type posterEnv struct {
	t      *testing.T
	path   string
	db     *store.DB
	alerts *store.AlertService
	sim    *slacksim.Server
	poster *handlers.AlertPoster
	cfg    tasks.AlertConfig
	mu     sync.Mutex
	now    time.Time
}

func (e *posterEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *posterEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func newPosterEnv(t *testing.T, channel string) *posterEnv {
	t.Helper()
	e := &posterEnv{t: t, path: filepath.Join(t.TempDir(), "cicf.db"), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		cfg: tasks.DefaultAlertConfig()}
	e.sim = slacksim.New(slacksim.Options{})
	t.Cleanup(e.sim.Close)
	e.open(channel)
	students := store.NewStudentService(e.db)
	for _, s := range []*tasks.Student{{Name: "emma", SlackID: emmaID}, {Name: "dylan", SlackID: dylanID}} {
		if err := students.CreateStudent(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// open opens the store and a new poster: called again, it is a restart.
func (e *posterEnv) open(channel string) {
	db, err := store.Open(context.Background(), e.path, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	e.db, e.alerts = db, store.NewAlertService(db)
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: e.sim.APIURL()})
	e.poster = handlers.NewAlertPoster(handlers.AlertPosterConfig{Channel: channel, Domain: "cicf.cloud", Location: time.UTC},
		e.alerts, store.NewStudentService(db), api, slog.New(slog.NewTextHandler(testWriter{e.t}, nil)), e.clock)
}

// result steps the alert state of (vm, check) with one result, as a sweep
// does, and stores state and events together.
func (e *posterEnv) result(vm, check string, status tasks.CheckStatus, detail, fix string) {
	e.t.Helper()
	ctx := context.Background()
	states, err := e.alerts.AlertStates(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	st := tasks.AlertState{VM: vm, Check: check}
	for _, s := range states {
		if s.VM == vm && s.Check == check {
			st = s
		}
	}
	r := tasks.Result{VM: vm, Check: check, Status: status, Detail: detail, Fix: fix, At: e.clock()}
	next, evs := tasks.Step(st, &r, e.clock(), e.cfg, false)
	if err := e.alerts.SaveAlert(ctx, next, evs); err != nil {
		e.t.Fatal(err)
	}
}

// drain ticks until the outbox is empty and returns the messages posted.
func (e *posterEnv) drain() {
	e.t.Helper()
	for range 50 {
		n, err := e.poster.Tick(context.Background())
		if err != nil {
			e.t.Fatalf("Tick: %v", err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatal("the outbox never emptied")
}

func TestAlertPosterIncidentThread(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	for range 3 { // fire_after = 3
		e.result("emma", tasks.CheckHTTPS, tasks.CheckFail, "HTTPS answered 502 <Bad Gateway> & more", "sudo systemctl restart caddy")
		e.advance(5 * time.Minute)
	}
	e.drain()
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d channel messages after firing, want 1: %+v", len(msgs), msgs)
	}
	fire := msgs[0]
	if fire.ThreadTS != "" {
		t.Errorf("firing message in thread %q, want top-level", fire.ThreadTS)
	}
	if !strings.Contains(fire.Text, "emma.cicf.cloud") || !strings.Contains(fire.Text, "502 &lt;Bad Gateway&gt; &amp; more") {
		t.Errorf("firing text = %q, want the host and the escaped detail", fire.Text)
	}
	if !strings.Contains(fire.Blocks, handlers.ActionAlertMute) || !strings.Contains(fire.Blocks, handlers.ActionAlertCheck) {
		t.Errorf("firing blocks lack the Mute and Check buttons: %s", fire.Blocks)
	}
	dms := e.sim.Messages(emmaID)
	if len(dms) != 1 || !strings.Contains(dms[0].Text, "sudo systemctl restart caddy") {
		t.Errorf("emma's DMs = %+v, want one with the fix", dms)
	}
	if n := len(e.sim.Messages(dylanID)); n != 0 {
		t.Errorf("dylan got %d DMs about emma's VM", n)
	}

	// A reminder after remind_every goes in the thread.
	e.advance(4 * time.Hour)
	e.result("emma", tasks.CheckHTTPS, tasks.CheckFail, "HTTPS answered 502", "")
	e.drain()
	// Two successes resolve it: in the thread and broadcast, with the length.
	e.advance(5 * time.Minute)
	e.result("emma", tasks.CheckHTTPS, tasks.CheckOK, "", "")
	e.advance(5 * time.Minute)
	e.result("emma", tasks.CheckHTTPS, tasks.CheckOK, "", "")
	e.drain()
	msgs = e.sim.Messages(classChannel)
	if len(msgs) != 3 {
		t.Fatalf("%d channel messages, want firing, reminder, resolve: %+v", len(msgs), msgs)
	}
	if r := msgs[1]; r.ThreadTS != fire.TS || r.Broadcast {
		t.Errorf("reminder = %+v, want it in thread %s, not broadcast", r, fire.TS)
	}
	res := msgs[2]
	if res.ThreadTS != fire.TS || !res.Broadcast {
		t.Errorf("resolve = %+v, want it in thread %s and broadcast", res, fire.TS)
	}
	// Failing from 12:00 until resolved by the second success at 16:25:
	// 4 h 25 min, 4 failed checks.
	if !strings.Contains(res.Text, "down 4 h 25 min, 4 checks") {
		t.Errorf("resolve text = %q, want the duration and the check count", res.Text)
	}
	if dms := e.sim.Messages(emmaID); len(dms) != 2 || !strings.Contains(dms[1].Text, "fine again") {
		t.Errorf("emma's DMs = %+v, want a second one saying it is fixed", dms)
	}
}

// TestAlertPosterBatchesASweep: what one sweep finds is one message, and
// each incident still gets that message as its thread.
func TestAlertPosterBatchesASweep(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	for range 3 {
		for _, vm := range []string{"emma", "dylan", "zoe"} {
			e.result(vm, tasks.CheckSSH, tasks.CheckFail, "connection refused", "")
		}
		e.advance(time.Minute)
	}
	n, err := e.poster.Tick(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Tick = %d, %v; want 3 events in one message", n, err)
	}
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "3 new alerts") {
		t.Fatalf("channel messages = %+v, want one listing 3 alerts", msgs)
	}
	for range 2 {
		for _, vm := range []string{"emma", "dylan"} {
			e.result(vm, tasks.CheckSSH, tasks.CheckOK, "", "")
		}
		e.advance(time.Minute)
	}
	e.drain()
	msgs = e.sim.Messages(classChannel)
	if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Text, "2 alerts resolved") {
		t.Errorf("messages = %+v, want one resolve of both in the batch's thread", msgs)
	}
}

// TestAlertPosterHonoursRetryAfter: a 429 holds the channel for Retry-After
// by the poster's clock; the events stay owed and go after it.
func TestAlertPosterHonoursRetryAfter(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	for range 3 {
		e.result("emma", tasks.CheckSSH, tasks.CheckFail, "timeout", "")
	}
	e.sim.RateLimit("chat.postMessage", 1, 3*time.Second)
	ctx := context.Background()
	if n, err := e.poster.Tick(ctx); n != 0 || err != nil {
		t.Fatalf("Tick under 429 = %d, %v; want 0, nil", n, err)
	}
	calls := len(e.sim.Calls())
	e.advance(2 * time.Second)
	if n, _ := e.poster.Tick(ctx); n != 0 || len(e.sim.Calls()) != calls {
		t.Fatalf("Tick within Retry-After sent %d events, %d calls", n, len(e.sim.Calls())-calls)
	}
	e.advance(time.Second)
	if n, err := e.poster.Tick(ctx); n != 1 || err != nil {
		t.Fatalf("Tick after Retry-After = %d, %v; want the event sent", n, err)
	}
	if got := len(e.sim.Messages(classChannel)); got != 1 {
		t.Errorf("%d messages, want 1", got)
	}
}

// TestAlertPosterRestart: a restarted poster neither reposts what was sent
// nor loses what was owed; a resolve owed across the restart still goes in
// the incident's thread.
func TestAlertPosterRestart(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	for range 3 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckFail, "timeout", "")
	}
	e.drain()
	for range 2 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckOK, "", "")
	}
	e.open(classChannel) // the bot restarts with the resolve owed
	e.drain()
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the firing once and the resolve: %+v", len(msgs), msgs)
	}
	if msgs[1].ThreadTS != msgs[0].TS || !msgs[1].Broadcast {
		t.Errorf("resolve after restart = %+v, want it in thread %s", msgs[1], msgs[0].TS)
	}
	e.open(classChannel)
	e.drain()
	if got := len(e.sim.Messages("")); got != 4 { // 2 channel + 2 DMs
		t.Errorf("%d messages after a second restart, want still 4", got)
	}
}

// TestAlertPosterWithoutChannel: alerts go to the log only and are not owed
// for ever.
func TestAlertPosterWithoutChannel(t *testing.T) {
	e := newPosterEnv(t, "")
	for range 3 {
		e.result("emma", tasks.CheckSSH, tasks.CheckFail, "timeout", "")
	}
	e.drain()
	if calls := e.sim.Calls(); len(calls) != 0 {
		t.Errorf("%d Slack calls without a channel, want 0", len(calls))
	}
	pending, err := e.alerts.PendingEvents(context.Background(), 10)
	if err != nil || len(pending) != 0 {
		t.Errorf("PendingEvents = %d, %v; want none left", len(pending), err)
	}
}

// TestAlertPosterMuteEvents: mutes are announced in the channel with who,
// why (escaped) and until when.
func TestAlertPosterMuteEvents(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	ctx := context.Background()
	m := tasks.Mute{VM: "emma", Until: e.clock().Add(time.Hour), By: instructorID, Reason: "lab <b> work"}
	if err := e.alerts.Mute(ctx, m, e.clock()); err != nil {
		t.Fatal(err)
	}
	e.drain()
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v, want one", msgs)
	}
	for _, want := range []string{"<@" + instructorID + ">", "emma.cicf.cloud", "Wed 13:00 UTC", "lab &lt;b&gt; work"} {
		if !strings.Contains(msgs[0].Text, want) {
			t.Errorf("mute message %q lacks %q", msgs[0].Text, want)
		}
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(msgs[0].Blocks), &blocks); err != nil || len(blocks) != 1 {
		t.Errorf("mute message blocks = %s, want one section and no buttons", msgs[0].Blocks)
	}
}

// TestAlertPosterBacksOffAfterARefusal: a post Slack refuses (here a bad
// token) is not retried every tick; it is retried later, and nothing is
// marked sent meanwhile.
func TestAlertPosterBacksOffAfterARefusal(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-revoked", AppToken: "xapp-test", APIURL: e.sim.APIURL()})
	poster := handlers.NewAlertPoster(handlers.AlertPosterConfig{Channel: classChannel, Domain: "cicf.cloud"},
		e.alerts, nil, api, slog.New(slog.DiscardHandler), e.clock)
	for range 3 {
		e.result("emma", tasks.CheckSSH, tasks.CheckFail, "timeout", "")
	}
	ctx := context.Background()
	if _, err := poster.Tick(ctx); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("Tick = %v, want Slack's invalid_auth", err)
	}
	calls := len(e.sim.Calls())
	e.advance(time.Second)
	if n, err := poster.Tick(ctx); n != 0 || err != nil || len(e.sim.Calls()) != calls {
		t.Errorf("the next tick = %d, %v with %d calls; want it to wait", n, err, len(e.sim.Calls())-calls)
	}
	e.advance(time.Minute)
	if _, err := poster.Tick(ctx); err == nil || len(e.sim.Calls()) != calls+1 {
		t.Errorf("a minute later: %v, %d calls; want one retry", err, len(e.sim.Calls())-calls)
	}
	if pending, _ := e.alerts.PendingEvents(ctx, 10); len(pending) != 1 {
		t.Errorf("%d events pending, want the firing still owed", len(pending))
	}
}
