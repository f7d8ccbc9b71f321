// Command refbot is the reference for bench/ackburst: the smallest Slack
// socket-mode bot a reader would write from slack-go's own example
// (examples/socketmode): connect, ack every slash command, and answer "ok"
// through the command's response_url. It has no store, no router and no
// DigitalOcean client, so what bench/ackburst measures for it is the floor
// that slack-go, the Go runtime and the Slack stand-in set; whatever
// cicf-bot costs above it is cicf-bot's own.
//
// It reads the same environment as `cicf-bot serve`: SLACK_APP_TOKEN,
// SLACK_BOT_TOKEN and, optionally, SLACK_API_URL. The DigitalOcean and CICF_*
// variables are ignored. SIGTERM or SIGINT stop it with exit code 0.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func main() { os.Exit(run(os.Getenv, os.Stderr)) }

func run(getenv func(string) string, stderr io.Writer) int {
	appToken, botToken := getenv("SLACK_APP_TOKEN"), getenv("SLACK_BOT_TOKEN")
	if !strings.HasPrefix(appToken, "xapp-") || !strings.HasPrefix(botToken, "xoxb-") {
		fmt.Fprintln(stderr, "refbot: SLACK_APP_TOKEN must start with xapp- and SLACK_BOT_TOKEN with xoxb-")
		return 2
	}
	opts := []slack.Option{slack.OptionAppLevelToken(appToken)}
	if u := getenv("SLACK_API_URL"); u != "" {
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	logger := log.New(stderr, "refbot: ", log.LstdFlags)
	client := socketmode.New(slack.New(botToken, opts...), socketmode.OptionLog(logger))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var replies sync.WaitGroup // so that SIGTERM does not cut a reply short
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for {
			var evt socketmode.Event
			select {
			case <-ctx.Done():
				return
			case evt = <-client.Events:
			}
			if evt.Type != socketmode.EventTypeSlashCommand {
				continue
			}
			cmd, ok := evt.Data.(slack.SlashCommand)
			if evt.Request != nil {
				if err := client.Ack(*evt.Request); err != nil {
					logger.Printf("ack %s: %v", evt.Request.EnvelopeID, err)
				}
			}
			if !ok || cmd.ResponseURL == "" {
				continue
			}
			// Answer off the event loop, so that a slow response_url does
			// not hold up the next ack.
			replies.Add(1)
			go func() {
				defer replies.Done()
				msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: "ok"}
				if err := slack.PostWebhookContext(context.WithoutCancel(ctx), cmd.ResponseURL, msg); err != nil {
					logger.Printf("reply to %s: %v", cmd.UserID, err)
				}
			}()
		}
	}()

	err := client.RunContext(ctx)
	stopped := ctx.Err() != nil // asked to stop, rather than failed
	stop()
	<-loopDone // no replies.Add after this point
	replies.Wait()
	if err != nil && !stopped {
		logger.Printf("socket mode: %v", err)
		return 1
	}
	return 0
}
