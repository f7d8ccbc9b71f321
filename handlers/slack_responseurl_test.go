package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/syncbuf"
)

// A response_url lets anyone post as the app for 30 minutes: when posting
// to it fails, the log says so without the URL (Go's HTTP errors quote it).
func TestSlackBotLogsNoResponseURL(t *testing.T) {
	env := newTestEnv(t)
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	sim.DropResponses("")
	var logs syncbuf.Buffer
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
