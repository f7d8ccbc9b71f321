package handlers_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/tasks"
)

func TestParse(t *testing.T) {
	tok := func(s string) handlers.Token { return handlers.Token{Text: s} }
	tests := []struct {
		in   string
		want []handlers.Token
	}{
		{"", nil},
		{"   ", nil},
		{"status", []handlers.Token{tok("status")}},
		{"  status \t  all  ", []handlers.Token{tok("status"), tok("all")}},
		{"roster add emma <@U0123ABC|emma>", []handlers.Token{tok("roster"), tok("add"), tok("emma"), {Text: "@emma", UserID: "U0123ABC"}}},
		{"status <@U0123ABC>", []handlers.Token{tok("status"), {Text: "@U0123ABC", UserID: "U0123ABC"}}},
		{"x<@U0123ABC|emma>y", []handlers.Token{tok("x"), {Text: "@emma", UserID: "U0123ABC"}, tok("y")}},
		{"roster add emma @emma <mailto:emma@example.edu|emma@example.edu>", []handlers.Token{tok("roster"), tok("add"), tok("emma"), tok("@emma"), tok("emma@example.edu")}},
		{`mute all 1h "lab is over"`, []handlers.Token{tok("mute"), tok("all"), tok("1h"), tok("lab is over")}},
		{"mute all 1h “lab is over”", []handlers.Token{tok("mute"), tok("all"), tok("1h"), tok("lab is over")}},
		{"mute all 1h ‘lab’", []handlers.Token{tok("mute"), tok("all"), tok("1h"), tok("lab")}},
		{"mute emma 2h it's fine", []handlers.Token{tok("mute"), tok("emma"), tok("2h"), tok("it's"), tok("fine")}},
		{`say ""`, []handlers.Token{tok("say"), tok("")}},
		{"a &lt;b&gt; &amp;", []handlers.Token{tok("a"), tok("<b>"), tok("&")}},
		{"key ssh-ed25519\nAAAA x", []handlers.Token{tok("key"), tok("ssh-ed25519"), tok("AAAA"), tok("x")}},
		{"status émilie", []handlers.Token{tok("status"), tok("émilie")}},
		{"a <notanescape b", []handlers.Token{tok("a"), tok("<notanescape"), tok("b")}},
		{"see <https://x.example/a|link>", []handlers.Token{tok("see"), tok("https://x.example/a")}},
		{"in <#C0123|general>", []handlers.Token{tok("in"), tok("#general")}},
		{"status\u00a0all", []handlers.Token{tok("status"), tok("all")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := handlers.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, wantMsg string
	}{
		{"unterminated quote", `mute all "lab`, "not closed"},
		{"control char", "status \x07all", "control character"},
		{"escape sequence", "status \x1b[31mall", "control character"},
		{"bidi override", "status em\u202ema", "control character"},
		{"invalid utf8", "status \xff", "not valid text"},
		{"too long", "status " + strings.Repeat("a", handlers.MaxTextLen), "too long"},
		// 2,108 runes but 4,210 bytes: the limit is in bytes (Slack's) and
		// the message must count the same unit it limits.
		{"too long in bytes", "status " + strings.Repeat("é", 2100) + "€", "(4210 bytes; the limit is 4000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handlers.Parse(tt.in)
			if got := tasks.ErrorCode(err); got != tasks.EINVALID {
				t.Fatalf("Parse(%q) code = %q, want %q (err %v)", tt.in, got, tasks.EINVALID, err)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Parse(%q) message = %q, want it to mention %q", tt.in, msg, tt.wantMsg)
			}
		})
	}
}

// FuzzParse checks that any input either parses into clean tokens or fails
// with a user-facing EINVALID error, never a panic or an internal error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"status all", "roster add emma <@U0123|emma> a@b.c", `mute "x y"`, "“a”", "<@U1", "<>", "\x00", "&amp;lt;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		toks, err := handlers.Parse(in)
		if err != nil {
			if tasks.ErrorCode(err) != tasks.EINVALID {
				t.Fatalf("Parse(%q) error code %q, want %q", in, tasks.ErrorCode(err), tasks.EINVALID)
			}
			return
		}
		for _, tok := range toks {
			if !utf8.ValidString(tok.Text) {
				t.Errorf("Parse(%q) token %q is not UTF-8", in, tok.Text)
			}
			if tok.UserID != "" && tasks.ValidateSlackID(tok.UserID) != nil {
				t.Errorf("Parse(%q) mention %q is not a valid user ID", in, tok.UserID)
			}
			if strings.ContainsAny(tok.Text, "\n\t") && tok.UserID == "" {
				// Whitespace only survives inside quotes.
				if !strings.ContainsAny(in, "\"'“‘") {
					t.Errorf("Parse(%q) token %q holds white space outside quotes", in, tok.Text)
				}
			}
		}
	})
}
