package handlers

import (
	"fmt"
	"strings"
)

// Reply is a command's answer, independent of the front end: the Slack
// adapter turns it into Block Kit, the console into plain text.
type Reply struct {
	Sections []Section
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
	return b.String()
}
