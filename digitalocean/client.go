// Package digitalocean implements the cloud interfaces of package tasks with
// the DigitalOcean v2 API, through godo.
//
// Errors: when the API cannot be used (unreachable, 429 or 5xx after retries,
// a deadline, a rejected token) a method returns an error whose chain holds
// both a *tasks.Error with code EUNAVAILABLE, for the person in Slack, and
// the cause (a *godo.ErrorResponse, *url.Error, context.DeadlineExceeded …),
// for the logs: fmt.Errorf("op: %w: %w", userErr, cause). The adapter does
// not log what it returns; it logs retries, holds and changes at debug
// level. Where a method's doc names another code (ENOTFOUND for an unknown
// droplet, EFORBIDDEN for a droplet without the class tag, EINVALID for a
// config value DigitalOcean refuses, ECONFLICT for a busy droplet), the
// error has the same shape. Other failures (a request DigitalOcean calls
// malformed) are plain, internal errors.
//
// Requests: one Client paces all its calls through one budget (see
// Config.RatePerMinute) and retries 429s, 5xx and broken connections for
// idempotent methods; a POST is retried only on a 429 or a failed dial,
// when DigitalOcean cannot have acted on it, so creates stay find-or-create
// at the caller.
//
// The token is sent in the Authorization header only and never logged;
// neither is a droplet's user-data.
package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
	"github.com/digitalocean/godo"
)

// DefaultBaseURL is the public API.
const DefaultBaseURL = "https://api.digitalocean.com/"

// Config configures a Client. Only Token is required.
type Config struct {
	Token   string // DIGITALOCEAN_TOKEN; never logged
	BaseURL string // default DefaultBaseURL (DIGITALOCEAN_API_URL overrides it)
	// Timeout bounds each attempt of a request on the network (default
	// 20s). Waiting for a turn in the request budget is bounded only by the
	// caller's ctx, so many runs queued behind the budget slow down rather
	// than fail; PowerDroplet's wait for its action is bounded by
	// ActionTimeout.
	Timeout time.Duration
	// CallTimeout bounds a whole method call: turns in the budget, attempts,
	// retries and pages (default 5 minutes). A shorter deadline on the
	// caller's ctx wins.
	CallTimeout time.Duration
	// MaxRetries is how often one request is retried (default 4; negative: never).
	MaxRetries int
	// PerPage is the page size for lists (default and maximum 200).
	PerPage int
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
	Logger    *slog.Logger // default: discard
	// Now reads the clock to interpret ratelimit-reset and Retry-After dates
	// (default time.Now).
	Now func() time.Time
	// Sleep waits between retries, for the request budget and between
	// action polls, and returns ctx.Err() if ctx ends first (default: a
	// timer). Tests record the waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error

	// RatePerMinute is the Client's own request budget, shared by all its
	// calls: it never sends more than this many requests (retries included)
	// in any RateWindow, and waits for a slot, up to the call's deadline,
	// rather than failing. Default 240, under DigitalOcean's 250 a minute;
	// negative: no pacing. A 429 or a spent hourly budget also holds every
	// call until the time the API names.
	RatePerMinute int
	// RateWindow is the window RatePerMinute counts in (default 1 minute);
	// benchmarks against a time-compressed stand-in shorten it.
	RateWindow time.Duration
	// PollInterval is the first wait between polls of a power action; later
	// waits double up to 8 times it (default 1s).
	PollInterval time.Duration
	// ActionTimeout bounds PowerDroplet's wait for its action when ctx has
	// no earlier deadline (default 5 minutes).
	ActionTimeout time.Duration
}

// LogValue keeps the token out of logs if a Config is ever logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.Duration("timeout", c.Timeout),
		slog.Duration("call_timeout", c.CallTimeout),
		slog.Int("max_retries", c.MaxRetries),
		slog.Int("rate_per_minute", c.RatePerMinute),
		slog.Duration("rate_window", c.RateWindow),
		slog.Bool("token_set", c.Token != ""),
	)
}

// Client talks to the DigitalOcean API. It is safe for concurrent use.
type Client struct {
	callTimeout   time.Duration
	godo          *godo.Client
	perPage       int
	pollInterval  time.Duration
	actionTimeout time.Duration
	sleep         func(ctx context.Context, d time.Duration) error
	logger        *slog.Logger
	// err is a configuration problem found by New; every call returns it.
	err error
}

var _ tasks.Cloud = (*Client)(nil)

// New returns a Client for cfg. It does not contact the API. A Token that
// is empty or a BaseURL that does not parse make every call fail (with
// EUNAVAILABLE and an internal error respectively) rather than New.
func New(cfg Config) *Client {
	cfg.Token = strings.TrimSpace(cfg.Token)
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		// godo resolves "v2/…" against the base; without the slash it would
		// drop the base's last path segment.
		cfg.BaseURL += "/"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 5 * time.Minute
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 4
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.PerPage <= 0 || cfg.PerPage > 200 {
		cfg.PerPage = 200
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = 240
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 5 * time.Minute
	}
	rt := &retryTransport{
		base: cfg.Transport, token: cfg.Token, maxRetries: cfg.MaxRetries, attemptTimeout: cfg.Timeout,
		pacer: newPacer(cfg.RatePerMinute, cfg.RateWindow),
		now:   cfg.Now, sleep: cfg.Sleep, logger: cfg.Logger,
	}
	// godo's own retry stays off (RetryConfig.RetryMax 0); see retryTransport.
	gc, err := godo.New(&http.Client{Transport: rt}, godo.SetBaseURL(cfg.BaseURL), godo.SetUserAgent("cicf-bot"))
	c := &Client{
		godo: gc, callTimeout: cfg.CallTimeout, perPage: cfg.PerPage,
		pollInterval: cfg.PollInterval, actionTimeout: cfg.ActionTimeout,
		sleep: cfg.Sleep, logger: cfg.Logger,
	}
	switch {
	case err != nil:
		c.err = fmt.Errorf("digitalocean base url %q: %w", cfg.BaseURL, err)
	case cfg.Token == "":
		c.err = tasks.Errorf(tasks.EUNAVAILABLE, "The bot has no DigitalOcean API token: an instructor needs to set DIGITALOCEAN_TOKEN and restart it.")
	}
	return c
}

var errUnavailable = tasks.Errorf(tasks.EUNAVAILABLE, "DigitalOcean is not answering right now; try again in a minute.")

// fail wraps err, the cause, for op. See the package doc for the shape.
//
// A rejected token is EUNAVAILABLE rather than EINTERNAL: it is an outside
// service refusing us, not a bug; callers such as tasks.Fleet then fall back
// to stored state; and the message, which names DIGITALOCEAN_TOKEN, reaches
// the instructor instead of a generic "Internal error".
func fail(op string, err error) error {
	var user *tasks.Error
	if er, ok := errors.AsType[*godo.ErrorResponse](err); ok && er.Response != nil {
		switch code := er.Response.StatusCode; {
		case code == http.StatusUnauthorized:
			user = tasks.Errorf(tasks.EUNAVAILABLE, "DigitalOcean rejected the bot's API token: an instructor needs to check DIGITALOCEAN_TOKEN and restart the bot.")
		case code == http.StatusForbidden:
			user = tasks.Errorf(tasks.EUNAVAILABLE, "DigitalOcean refused the request: the bot's API token (DIGITALOCEAN_TOKEN) lacks a permission it needs.")
		case code == http.StatusTooManyRequests || code >= 500:
			user = errUnavailable
		default:
			return fmt.Errorf("%s: %w", op, err) // our request was wrong: a bug
		}
	} else {
		// No answer at all: refused, reset, timed out, or garbage.
		user = errUnavailable
	}
	return fmt.Errorf("%s: %w: %w", op, user, err)
}

// statusOf returns the HTTP status of the API answer in err's chain, 0 if
// there is none.
func statusOf(err error) int {
	if er, ok := errors.AsType[*godo.ErrorResponse](err); ok && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}
