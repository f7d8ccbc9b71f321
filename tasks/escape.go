package tasks

import "strings"

// mrkdwnEscaper escapes the three characters Slack's mrkdwn gives meaning
// to (https://api.slack.com/reference/surfaces/formatting#escaping).
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape returns text that came from outside the bot (a VM's output, an
// error from DigitalOcean, a name, a CSV cell) safe to put into mrkdwn:
// `<!channel>` or `<https://evil|trusted>` then render as plain text
// instead of pinging the channel or disguising a link. Error messages are
// mrkdwn, so tasks escapes what it quotes in them.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }
