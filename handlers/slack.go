package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// SlackConfig is what the Slack front end needs.
type SlackConfig struct {
	AppToken string // xapp-…, for the socket-mode connection
	BotToken string // xoxb-…, for the Web API
	APIURL   string // Web API base, with trailing slash
	// MaxInFlight bounds commands worked on at once; acks never wait for it.
	MaxInFlight int
	// CommandTimeout bounds one command's work, reply included.
	CommandTimeout time.Duration
	// ShutdownGrace is how long Run waits for in-flight commands after its
	// context ends before it cancels them.
	ShutdownGrace time.Duration
	HTTPClient    *http.Client
	Logger        *slog.Logger
}

// SlackBot is the socket-mode front end: it acks every envelope at once,
// then runs commands through the Router and answers the caller ephemerally.
type SlackBot struct {
	cfg    SlackConfig
	router *Router
	api    *slack.Client
	client *socketmode.Client
	sem    chan struct{}
	wg     sync.WaitGroup
	logger *slog.Logger
}

// NewSlackBot returns a bot ready to Run.
func NewSlackBot(cfg SlackConfig, router *Router) *SlackBot {
	if cfg.MaxInFlight <= 0 {
		// DigitalOcean calls are paced and SQLite takes one writer at a
		// time, so more commands at once buy no throughput; they only take
		// CPU from the acks (bench/ackburst: p99 49 ms at 32, 21 ms at 4).
		cfg.MaxInFlight = 4
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 2 * time.Minute
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient
	}
	api := NewSlackAPI(cfg)
	return &SlackBot{
		cfg:    cfg,
		router: router,
		api:    api,
		client: socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug))),
		sem:    make(chan struct{}, cfg.MaxInFlight),
		logger: cfg.Logger,
	}
}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// NewSlackAPI returns the Web API client for cfg's tokens and base URL.
func NewSlackAPI(cfg SlackConfig) *slack.Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	return slack.New(cfg.BotToken,
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionHTTPClient(hc),
	)
}

// Run connects over socket mode and serves until ctx ends, reconnecting
// whenever Slack asks or the socket drops. When ctx ends it stops taking
// commands, lets in-flight ones finish within ShutdownGrace, and returns nil.
// It returns an error only when Slack refuses the connection for good (for
// example a revoked token).
func (b *SlackBot) Run(ctx context.Context) error {
	// Work outlives ctx by the grace period so acked commands get answers.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	sockCtx, cancelSock := context.WithCancel(ctx)
	defer cancelSock()
	runErr := make(chan error, 1)
	go func() { runErr <- b.client.RunContext(sockCtx) }()

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-runErr:
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				err = nil
			} else {
				err = fmt.Errorf("slack socket mode: %w", err)
			}
			runErr = nil
			break loop
		case evt := <-b.client.Events:
			b.dispatch(ctx, workCtx, evt)
		}
	}
	cancelSock()
	if runErr != nil {
		<-runErr
	}
	b.drain(cancelWork)
	return err
}

// drain waits for in-flight commands, cancelling them after the grace period.
func (b *SlackBot) drain(cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownGrace):
		b.logger.Warn("in-flight commands did not finish in time; cancelling them")
		cancel()
		<-done
	}
}

func (b *SlackBot) dispatch(ctx, workCtx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		b.ack(evt)
		if !ok {
			b.logger.WarnContext(ctx, "slash command with unexpected payload", "type", fmt.Sprintf("%T", evt.Data))
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.runCommand(workCtx, cmd)
		}()
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == ViewPassword {
			// The ack carries the verdict on the password, so it waits for it.
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.submitPassword(workCtx, evt.Request, cb)
			}()
			return
		}
		b.ack(evt)
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.runAction(workCtx, cb)
		}()
	case socketmode.EventTypeEventsAPI:
		b.ack(evt)
	case socketmode.EventTypeConnecting:
		b.logger.DebugContext(ctx, "slack connecting")
	case socketmode.EventTypeConnected:
		b.logger.InfoContext(ctx, "slack connected")
	case socketmode.EventTypeConnectionError:
		b.logger.WarnContext(ctx, "slack connection failed; retrying", "err", errorOf(evt))
	case socketmode.EventTypeDisconnect:
		b.logger.InfoContext(ctx, "slack asked to reconnect")
	case socketmode.EventTypeInvalidAuth:
		b.logger.ErrorContext(ctx, "slack rejected SLACK_APP_TOKEN")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		b.logger.WarnContext(ctx, "slack socket error", "type", string(evt.Type), "err", errorOf(evt))
	}
}

// ack answers the envelope before any work starts: Slack shows the user an
// error if it waits more than 3 s.
func (b *SlackBot) ack(evt socketmode.Event) {
	if evt.Request == nil {
		return
	}
	if err := b.client.Ack(*evt.Request); err != nil {
		b.logger.Error("ack envelope", "envelope_id", evt.Request.EnvelopeID, "err", err)
	}
}

func (b *SlackBot) runCommand(ctx context.Context, cmd slack.SlashCommand) {
	// The password form must open within the trigger's 3 s: it does not
	// queue behind slow commands.
	if f := strings.Fields(cmd.Text); len(f) == 0 || !strings.EqualFold(f[0], FormPassword) {
		select {
		case b.sem <- struct{}{}:
			defer func() { <-b.sem }()
		case <-ctx.Done():
			return
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CommandTimeout)
	defer cancel()
	reply := b.router.Handle(ctx, cmd.UserID, cmd.Text)
	if reply.Form == FormPassword {
		err := b.openPasswordForm(ctx, cmd)
		if err == nil {
			return
		}
		b.logger.WarnContext(ctx, "open the password form", "user_id", cmd.UserID, "err", err)
		reply = Textf("Slack did not open the password form (%s). Type `/cicf password` again.", Escape(err.Error()))
	}
	if err := b.respond(ctx, cmd, reply); err != nil {
		b.logger.ErrorContext(ctx, "reply to command", "user_id", cmd.UserID, "channel_id", cmd.ChannelID, "err", err)
	}
}

// runAction handles a click on a confirm, cancel or alert button.
func (b *SlackBot) runAction(ctx context.Context, cb slack.InteractionCallback) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CommandTimeout)
	defer cancel()
	act := cb.ActionCallback.BlockActions[0]
	var reply *Reply
	switch act.ActionID {
	case ActionConfirm:
		reply = b.router.Confirm(ctx, cb.User.ID, act.Value)
	case ActionCancel:
		reply = b.router.Cancel(ctx, cb.User.ID, act.Value)
	case ActionAlertMute, ActionAlertCheck:
		reply = b.router.AlertAction(ctx, cb.User.ID, act.ActionID, act.Value)
	default:
		return
	}
	cmd := slack.SlashCommand{UserID: cb.User.ID, ChannelID: cb.Channel.ID, ResponseURL: cb.ResponseURL}
	if err := b.respond(ctx, cmd, reply); err != nil {
		b.logger.ErrorContext(ctx, "reply to button", "user_id", cb.User.ID, "err", err)
	}
}

// respond answers only the caller: through the command's response_url, or
// chat.postEphemeral if that fails.
func (b *SlackBot) respond(ctx context.Context, cmd slack.SlashCommand, reply *Reply) error {
	blocks, fallback := RenderBlocks(reply)
	msg := &slack.WebhookMessage{
		ResponseType:    slack.ResponseTypeEphemeral,
		Text:            fallback,
		Blocks:          &slack.Blocks{BlockSet: blocks},
		ReplaceOriginal: reply.Replace,
	}
	var werr error
	if cmd.ResponseURL != "" {
		if werr = slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, b.cfg.HTTPClient, msg); werr == nil {
			return nil
		}
		werr = withoutURL(werr, cmd.ResponseURL)
		b.logger.WarnContext(ctx, "response_url failed; posting ephemeral", "err", werr)
	}
	_, err := b.api.PostEphemeralContext(ctx, cmd.ChannelID, cmd.UserID,
		slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return errors.Join(werr, fmt.Errorf("post ephemeral: %w", err))
	}
	return nil
}

// withoutURL returns err with the response_url u taken out. The URL is a
// bearer capability (anyone holding it may post as the app for 30
// minutes), and Go's HTTP errors quote it in full.
func withoutURL(err error, u string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("post to response_url: %s: %w", ue.Op, ue.Err)
	}
	if msg := err.Error(); u != "" && strings.Contains(msg, u) {
		return errors.New(strings.ReplaceAll(msg, u, "(response_url)"))
	}
	return err
}

func errorOf(evt socketmode.Event) any {
	if e, ok := evt.Data.(error); ok {
		return e.Error()
	}
	if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
		return e.Error()
	}
	return evt.Data
}
