package handlers

import (
	"context"
	"log/slog"
	"time"
)

// runTicks calls tick at once and then every interval until ctx ends. Each
// call has its own timeout and is not cut short by ctx: a tick that has
// begun runs to its end, since a message posted but not yet recorded as
// sent would be posted again. A failed tick is logged as what; the next
// one tries again.
func runTicks(ctx context.Context, interval, timeout time.Duration, logger *slog.Logger, what string, tick func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		if err := tick(tctx); err != nil {
			logger.WarnContext(ctx, what, "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
