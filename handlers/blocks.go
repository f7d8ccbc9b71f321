package handlers

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// Block Kit limits that Slack enforces by rejecting the whole message.
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxFallback    = 3000
)

// Action IDs of the confirm buttons.
const (
	ActionConfirm = "cicf_confirm"
	ActionCancel  = "cicf_cancel"
)

// RenderBlocks turns a reply into Block Kit sections within Slack's limits:
// long text is split at line breaks into several sections, fixed-width text
// is fenced in each piece, and past 50 blocks the rest is summarised in a
// last block. It also returns the plain-text fallback for notifications.
func RenderBlocks(r *Reply) ([]slack.Block, string) {
	var texts []string
	for _, s := range r.Sections {
		limit := maxSectionText
		if s.Mono {
			limit -= len("```\n\n```")
		}
		text := s.Text
		if s.Mono {
			// Fixed-width text is tables of values (names, IPs, notes from
			// DigitalOcean and VMs), never markup: escape all of it.
			text = Escape(text)
		}
		for _, chunk := range splitLines(strings.TrimRight(text, "\n"), limit) {
			if s.Mono {
				chunk = "```\n" + chunk + "\n```"
			}
			texts = append(texts, chunk)
		}
	}
	room := maxBlocks
	if r.Confirm != nil {
		room-- // for the buttons
	}
	if len(texts) > room {
		hidden := len(texts) - (room - 1)
		texts = append(texts[:room-1], fmt.Sprintf("_…and %d more parts not shown. Ask for less at once, e.g. one VM by name._", hidden))
	}
	blocks := make([]slack.Block, 0, len(texts))
	for _, t := range texts {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, t, false, false), nil, nil))
	}
	if c := r.Confirm; c != nil {
		ok := slack.NewButtonBlockElement(ActionConfirm, c.ID, slack.NewTextBlockObject(slack.PlainTextType, c.Button, false, false)).WithStyle(slack.StyleDanger)
		cancel := slack.NewButtonBlockElement(ActionCancel, c.ID, slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
		blocks = append(blocks, slack.NewActionBlock("cicf_confirm", ok, cancel))
	}
	fallback := ""
	if len(r.Sections) > 0 {
		fallback = r.Sections[0].Text
		if r.Sections[0].Mono {
			fallback = Escape(fallback)
		}
		fallback = clipText(fallback, maxFallback)
	}
	return blocks, fallback
}

// splitLines cuts s into pieces of at most limit bytes, at line breaks where
// it can and inside a line (at a rune boundary) where it must.
func splitLines(s string, limit int) []string {
	if s == "" {
		return []string{" "} // Slack rejects empty section text
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		for len(line) > limit {
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			cut := limit
			for cut > 0 && !isRuneStart(line[cut]) {
				cut--
			}
			out = append(out, line[:cut])
			line = line[cut:]
		}
		if cur.Len() > 0 && cur.Len()+1+len(line) > limit {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
