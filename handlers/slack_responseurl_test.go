package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
)

// A response_url lets anyone post as the app for 30 minutes: when posting
// to it fails, the log says so without the URL (Go's HTTP errors quote it).
func TestSlackBotLogsNoResponseURL(t *testing.T) {
	env := newTestEnv(t)
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	sim.DropResponses("")
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bot := handlers.NewSlackBot(handlers.SlackConfig{
		AppToken: "xapp-test", BotToken: "xoxb-test", APIURL: sim.APIURL(),
		CommandTimeout: 10 * time.Second, ShutdownGrace: time.Second, Logger: logger,
	}, env.router)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error, 1)
	go func() { done <- bot.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := sim.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	id, err := sim.SendSlashCommand(ctx, slacksim.SlashCommand{UserID: instructorID, UserName: "teacher", ChannelID: "C0CLASS01", Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	// The reply still reaches the caller, ephemerally.
	if _, err := sim.WaitCall(ctx, "chat.postEphemeral", func(c slacksim.Call) bool { return c.Param("user") == instructorID }); err != nil {
		t.Fatalf("no fallback reply after the response_url failed: %v", err)
	}
	url := sim.ResponseURL(id)
	out := logs.String()
	if !strings.Contains(out, "response_url failed") {
		t.Errorf("log does not say the response_url failed:\n%s", out)
	}
	if strings.Contains(out, url) || strings.Contains(out, "/response/") {
		t.Errorf("log holds the response_url %s:\n%s", url, out)
	}
}

// syncBuffer is a log sink the bot's goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
