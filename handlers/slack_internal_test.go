package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// withoutURL takes the response_url out of a transport error (url.Error
// keeps its operation and cause) and out of any other error text.
func TestWithoutURL(t *testing.T) {
	const u = "https://hooks.slack.com/commands/T0/123/secret"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"transport", fmt.Errorf("failed to post webhook: %w", &url.Error{Op: "Post", URL: u, Err: errors.New("EOF")}), "post to response_url: Post: EOF"},
		{"plain text", fmt.Errorf("gave up on %s after 3 tries", u), "gave up on (response_url) after 3 tries"},
		{"no url", errors.New("slack server error: 404 Not Found"), "slack server error: 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutURL(tt.err, u).Error()
			if got != tt.want || strings.Contains(got, "secret") {
				t.Errorf("withoutURL(%q) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
