package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cicf/cicf-bot/tasks"
)

// MaxTextLen bounds a command's text in bytes. An RSA-4096 public key is
// about 750 bytes, so honest input stays far below it.
const MaxTextLen = 4000

// Token is one word of a command. A Slack mention (<@U123|emma>) becomes a
// token whose UserID is set and whose Text is "@emma".
type Token struct {
	Text   string
	UserID string // set for user mentions only
}

// Parse splits command text into tokens. It understands straight and curly
// quotes, Slack's escaped mentions, links and HTML entities, and collapses
// runs of white space. It returns EINVALID for text that is too long, holds
// control or direction-override characters, is not UTF-8, or has an
// unterminated quote.
func Parse(text string) ([]Token, error) {
	if len(text) > MaxTextLen {
		return nil, tasks.Errorf(tasks.EINVALID, "That command is too long (%d bytes; the limit is %d bytes, and letters such as é or emoji count as 2–4).", len(text), MaxTextLen)
	}
	if !utf8.ValidString(text) {
		return nil, tasks.Errorf(tasks.EINVALID, "That command is not valid text. Retype it rather than pasting it.")
	}
	for _, r := range text {
		if isSpace(r) {
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) {
			return nil, tasks.Errorf(tasks.EINVALID, "That command contains an invisible control character (%U). Retype it rather than pasting it.", r)
		}
	}

	var (
		toks  []Token
		cur   strings.Builder
		inTok bool
		quote rune // closing quote we are waiting for, 0 outside quotes
	)
	flush := func() {
		if inTok {
			toks = append(toks, Token{Text: cur.String()})
		}
		cur.Reset()
		inTok = false
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case isSpace(r):
			flush()
		case r == '<':
			if end := strings.IndexByte(text[i:], '>'); end > 0 {
				tok, ok := parseEscape(text[i+1 : i+end])
				if ok {
					if inTok || tok.UserID != "" {
						flush()
					}
					if tok.UserID != "" {
						toks = append(toks, tok)
					} else {
						cur.WriteString(tok.Text)
						inTok = true
					}
					i += end + 1
					continue
				}
			}
			cur.WriteRune(r)
			inTok = true
		case closingQuote(r) != 0 && !inTok:
			// Quotes open only at the start of a word, so "it's" stays one word.
			quote = closingQuote(r)
			inTok = true
		default:
			cur.WriteRune(r)
			inTok = true
		}
		i += size
	}
	if quote != 0 {
		return nil, tasks.Errorf(tasks.EINVALID, "A quote is not closed: add the closing %c.", quote)
	}
	flush()
	for i := range toks {
		toks[i].Text = unescapeEntities(toks[i].Text)
	}
	return toks, nil
}

// parseEscape decodes the inside of Slack's <…> escapes: <@U123|name>,
// <#C123|chan>, <mailto:a@b|a@b>, <https://x|label>.
func parseEscape(s string) (Token, bool) {
	target, label, _ := strings.Cut(s, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		if tasks.ValidateSlackID(id) != nil {
			return Token{}, false
		}
		if label == "" {
			label = id
		}
		return Token{Text: "@" + label, UserID: id}, true
	case strings.HasPrefix(target, "#"):
		if label == "" {
			label = target[1:]
		}
		return Token{Text: "#" + label}, true
	case strings.HasPrefix(target, "mailto:"):
		return Token{Text: strings.TrimPrefix(target, "mailto:")}, true
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return Token{Text: target}, true
	}
	return Token{}, false
}

func closingQuote(r rune) rune {
	switch r {
	case '"':
		return '"'
	case '\'':
		return '\''
	case '“', '”':
		return '”'
	case '‘':
		return '’'
	}
	return 0
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// isBidiControl reports direction overrides and isolates, which can make a
// name look like another one.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f'
}

var entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func unescapeEntities(s string) string { return entities.Replace(s) }

// texts returns the tokens' texts.
func texts(toks []Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}
