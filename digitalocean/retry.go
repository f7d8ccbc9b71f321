package digitalocean

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Backoff between retries when the API does not say how long to wait.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 8 * time.Second
)

// retryTransport adds the bearer token, paces every attempt through the
// Client's shared budget (see pacer), and retries what is worth retrying:
// 429 for any method, 5xx and broken connections for idempotent methods, and
// failed dials for all (nothing was sent). It waits as the API asks
// (Retry-After, else ratelimit-reset when the budget is spent, else capped
// exponential backoff) and gives up at once, returning the last answer, when
// the wait would outlast the request's deadline.
//
// godo's own retry (WithRetryAndBackoffs, go-retryablehttp) is not used: it
// waits until the deadline instead of giving up at once, ignores
// ratelimit-reset and Retry-After on 500/502, retries POSTs on 5xx, cannot
// take an injected sleep, and panics in godo.New unless the HTTP client's
// transport is an *oauth2.Transport.
type retryTransport struct {
	base       http.RoundTripper
	token      string
	maxRetries int
	// attemptTimeout bounds each attempt on the network, after its turn in
	// the budget: waiting for a turn is bounded by the caller's deadline
	// only, so a long queue of runs slows down rather than fails.
	attemptTimeout time.Duration
	pacer          *pacer
	now            func() time.Time
	sleep          func(ctx context.Context, d time.Duration) error
	logger         *slog.Logger
}

// RoundTrip returns the first answer that is not worth retrying, the last
// answer when retries run out or would outlast the deadline, or the
// transport's error (context.DeadlineExceeded in its chain when the budget
// allows no request before the deadline).
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := t.pacer.wait(ctx, t.now, t.sleep); err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, t.attemptTimeout)
		r := req.Clone(actx)
		r.Header.Set("Authorization", "Bearer "+t.token)
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, err
			}
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
		if until := t.pacer.observe(resp, t.now()); !until.IsZero() {
			t.logger.DebugContext(ctx, "digitalocean: holding requests, the API asked to wait",
				"status", resp.StatusCode, "until", until)
		}

		wait, retry := t.wait(req, resp, err, attempt)
		if !retry || attempt >= t.maxRetries {
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// ctx deadlines are on the real clock, hence time.Until, not t.now.
			t.logger.DebugContext(ctx, "digitalocean: not retrying, wait outlasts deadline",
				"method", req.Method, "path", req.URL.Path, "status", status, "attempt", attempt+1, "wait", wait)
			return resp, err
		}
		if resp != nil {
			// Drain so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.logger.DebugContext(ctx, "digitalocean: retrying",
			"method", req.Method, "path", req.URL.Path, "status", status, "err", err, "attempt", attempt+1, "wait", wait)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// wait says whether the outcome of attempt is worth retrying and after how long.
func (t *retryTransport) wait(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable || req.Context().Err() != nil {
		return 0, false
	}
	if err != nil {
		// A failed dial sent nothing; anything else may have reached the API.
		var op *net.OpError
		if idempotent(req.Method) || (errors.As(err, &op) && op.Op == "dial") {
			return backoff(attempt), true
		}
		return 0, false
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
	case code >= 500 && code != http.StatusNotImplemented && idempotent(req.Method):
	default:
		return 0, false
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
		return d, true
	}
	if resp.Header.Get("Ratelimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("Ratelimit-Reset"), 10, 64); err == nil {
			if d := time.Unix(reset, 0).Sub(t.now()); d > 0 {
				return d, true
			}
		}
	}
	return backoff(attempt), true
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func backoff(attempt int) time.Duration {
	d := backoffMin
	for range attempt {
		d *= 2
		if d >= backoffMax {
			return backoffMax
		}
	}
	return d
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// cancelOnClose ends an attempt's context once its body has been read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
