package handlers_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// replicaPoster is a second bot's poster over its own connection to e's
// database file, sharing the outbox through the store's leases.
func (e *posterEnv) replicaPoster(holder string, wrap func(handlers.SlackMessenger) handlers.SlackMessenger) *handlers.AlertPoster {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.path, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	var api handlers.SlackMessenger = handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: e.sim.APIURL()})
	if wrap != nil {
		api = wrap(api)
	}
	return handlers.NewAlertPoster(handlers.AlertPosterConfig{Channel: classChannel, Domain: "cicf.cloud", Location: time.UTC,
		Leases: store.NewLeaseService(db), Holder: holder},
		store.NewAlertService(db), store.NewStudentService(db), api, slog.New(slog.NewTextHandler(testWriter{e.t}, nil)), e.clock)
}

// tickAll ticks each poster until none posts any more.
func tickAll(t *testing.T, ps ...*handlers.AlertPoster) {
	t.Helper()
	for range 50 {
		sent := 0
		for _, p := range ps {
			n, err := p.Tick(context.Background())
			if err != nil {
				t.Fatalf("Tick: %v", err)
			}
			sent += n
		}
		if sent == 0 {
			return
		}
	}
	t.Fatal("the outbox never emptied")
}

// heldMessenger holds the first post until released, having said that it
// began: a slow Slack, so another replica ticks while the post is out.
type heldMessenger struct {
	handlers.SlackMessenger
	began, release chan struct{}
	once           sync.Once
}

func (h *heldMessenger) PostMessageContext(ctx context.Context, ch string, opts ...slack.MsgOption) (string, string, error) {
	h.once.Do(func() { close(h.began); <-h.release })
	return h.SlackMessenger.PostMessageContext(ctx, ch, opts...)
}

// Two replicas on one database post each alert once, not once each, even
// when one ticks while the other's post is still out; when the one posting
// stops, the other takes over at once.
func TestAlertPosterReplicasPostOnce(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	held := &heldMessenger{began: make(chan struct{}), release: make(chan struct{})}
	a := e.replicaPoster("replica-a", func(m handlers.SlackMessenger) handlers.SlackMessenger { held.SlackMessenger = m; return held })
	b := e.replicaPoster("replica-b", nil)
	for range 3 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckFail, "timeout", "")
	}
	done := make(chan error, 1)
	go func() { _, err := a.Tick(context.Background()); done <- err }()
	<-held.began
	if _, err := b.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tickAll(t, a, b)
	if msgs := e.sim.Messages(classChannel); len(msgs) != 1 {
		t.Fatalf("%d channel messages from two replicas, want the firing once: %+v", len(msgs), msgs)
	}

	// a holds the lease; it stops (Run returns and releases it).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a.Run(ctx)
	for range 2 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckOK, "", "")
	}
	tickAll(t, b)
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS {
		t.Fatalf("after a stopped, channel messages = %+v, want b to post the resolve in the thread", msgs)
	}
}

// A replica that stalled past its lease does not post on: the one that
// took the lease meanwhile posts, once.
func TestAlertPosterLeaseExpires(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	held := &heldMessenger{began: make(chan struct{}), release: make(chan struct{})}
	a := e.replicaPoster("replica-a", nil)
	b := e.replicaPoster("replica-b", func(m handlers.SlackMessenger) handlers.SlackMessenger { held.SlackMessenger = m; return held })
	for range 3 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckFail, "timeout", "")
	}
	tickAll(t, a) // a takes the lease and posts the firing
	e.advance(3 * time.Minute)
	for range 2 {
		e.result("emma", tasks.CheckHTTPS, tasks.CheckOK, "", "")
	}
	done := make(chan error, 1)
	go func() { _, err := b.Tick(context.Background()); done <- err }()
	<-held.began // b took the expired lease and is posting the resolve
	if _, err := a.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tickAll(t, a, b)
	if msgs := e.sim.Messages(classChannel); len(msgs) != 2 {
		t.Fatalf("%d channel messages, want the firing and one resolve: %+v", len(msgs), msgs)
	}
}
