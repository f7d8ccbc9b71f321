package handlers_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/handlers"
)

func sectionTexts(t *testing.T, blocks []slack.Block) []string {
	t.Helper()
	var out []string
	for _, b := range blocks {
		sb, ok := b.(*slack.SectionBlock)
		if !ok {
			t.Fatalf("block %T, want *slack.SectionBlock", b)
		}
		out = append(out, sb.Text.Text)
	}
	return out
}

func TestRenderBlocksLimits(t *testing.T) {
	line := func(i int) string {
		return fmt.Sprintf("student%03d  active  198.18.0.%d  %s", i, i%250, strings.Repeat("x", 40))
	}
	var table []string
	for i := range 200 {
		table = append(table, line(i))
	}
	tests := []struct {
		name       string
		reply      *handlers.Reply
		wantBlocks int // 0: don't check
		wantAll    []string
		truncated  bool
	}{
		{"short", handlers.Textf("hello"), 1, []string{"hello"}, false},
		{"empty", handlers.Textf(""), 1, nil, false},
		{"table of 200", (&handlers.Reply{}).Add("head").AddMono(strings.Join(table, "\n")), 0, table, false},
		{"one huge line", handlers.Textf("%s", strings.Repeat("é", 5000)), 4, nil, false},
		{"too many sections", func() *handlers.Reply {
			r := &handlers.Reply{}
			for i := range 80 {
				r.Add(fmt.Sprintf("part %d", i))
			}
			return r
		}(), 50, []string{"part 0", "part 48"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, fallback := handlers.RenderBlocks(tt.reply)
			texts := sectionTexts(t, blocks)
			if len(texts) > 50 {
				t.Fatalf("RenderBlocks gave %d blocks, Slack allows 50", len(texts))
			}
			if tt.wantBlocks > 0 && len(texts) != tt.wantBlocks {
				t.Errorf("RenderBlocks gave %d blocks, want %d", len(texts), tt.wantBlocks)
			}
			joined := strings.Join(texts, "\n")
			for i, s := range texts {
				if len(s) > 3000 || len(s) == 0 {
					t.Errorf("block %d has %d bytes, want 1..3000", i, len(s))
				}
				if strings.HasPrefix(s, "```") != strings.HasSuffix(s, "```") {
					t.Errorf("block %d has an unbalanced code fence", i)
				}
			}
			last := -1
			for _, w := range tt.wantAll {
				at := strings.Index(joined, w)
				if at < 0 || at < last {
					t.Fatalf("rendered text lacks %q or has it out of order", w)
				}
				last = at
			}
			if got := strings.Contains(joined, "more parts not shown"); got != tt.truncated {
				t.Errorf("truncation note present = %v, want %v", got, tt.truncated)
			}
			if utf8.RuneCountInString(fallback) > 3001 {
				t.Errorf("fallback is %d characters", utf8.RuneCountInString(fallback))
			}
		})
	}
}
