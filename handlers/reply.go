package handlers

import (
	"fmt"
	"strings"
)

// Reply is a command's answer, independent of the front end: the Slack
// adapter turns it into Block Kit, the console into plain text.
type Reply struct {
	Sections []Section
	// Confirm, when set, asks the caller to confirm a destructive command
	// with a button (Slack) or by typing `confirm ID` (console).
	Confirm *Confirm
	// Replace tells Slack to replace the message the caller clicked in.
	Replace bool
	// Form, when set (FormPassword), asks the front end to collect a
	// secret itself: Slack opens a modal, the console reads without echo.
	Form string
}

// Confirm is an offer to run a destructive command, valid for one person
// until it expires.
type Confirm struct {
	ID     string // offer ID, the button's value
	Button string // e.g. "Reset emma"
}

// Section is one block of mrkdwn text. Mono sections are tables or other
// fixed-width text, shown in a code block.
type Section struct {
	Text string
	Mono bool
}

// Textf returns a reply of one formatted section.
func Textf(format string, args ...any) *Reply {
	return &Reply{Sections: []Section{{Text: fmt.Sprintf(format, args...)}}}
}

// Add appends a text section and returns r.
func (r *Reply) Add(text string) *Reply {
	r.Sections = append(r.Sections, Section{Text: text})
	return r
}

// AddMono appends a fixed-width section and returns r.
func (r *Reply) AddMono(text string) *Reply {
	r.Sections = append(r.Sections, Section{Text: text, Mono: true})
	return r
}

// String renders the reply as plain text for a terminal.
func (r *Reply) String() string {
	var b strings.Builder
	for i, s := range r.Sections {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.TrimRight(s.Text, "\n"))
		b.WriteString("\n")
	}
	if r.Confirm != nil {
		fmt.Fprintf(&b, "Type `confirm %s` to go ahead.\n", r.Confirm.ID)
	}
	return b.String()
}
