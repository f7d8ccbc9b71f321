package handlers

import "github.com/cicf/cicf-bot/tasks"

// Escape returns text that came from outside the bot safe to put into
// mrkdwn (see tasks.Escape, which it is).
func Escape(s string) string { return tasks.Escape(s) }
