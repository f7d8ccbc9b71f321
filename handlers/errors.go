package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/cicf/cicf-bot/tasks"
)

// Error turns any error into a reply. A *tasks.Error is shown as written;
// anything else is logged in full and shown only as a reference the
// instructor can find in the log, so internals never reach Slack.
func Error(ctx context.Context, logger *slog.Logger, err error) *Reply {
	if tasks.ErrorCode(err) != tasks.EINTERNAL {
		return Textf("%s", tasks.ErrorMessage(err))
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	ref := hex.EncodeToString(b[:])
	logger.ErrorContext(ctx, "command failed", "ref", ref, "err", err)
	return Textf("Internal error (ref %s). An instructor can look it up in the bot's log.", ref)
}
