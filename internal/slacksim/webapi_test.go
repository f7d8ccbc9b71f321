package slacksim

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// newAPI returns a slack-go Web API client for s with the given tokens.
func newAPI(s *Server, botToken, appToken string) *slack.Client {
	return slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
}

func TestWebAPIMethods(t *testing.T) {
	s := MustNew(t, Options{Users: []User{{ID: "U1", Name: "ada", RealName: "Ada Lovelace", TZ: "Europe/London"}}})
	api := newAPI(s, "xoxb-test", "xapp-test")
	ctx := testContext(t)

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != "U0BOT" || auth.TeamID != "T0CICF" {
		t.Errorf("AuthTest() = %+v, %v; want bot U0BOT in T0CICF", auth, err)
	}

	channel, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Fleet is up", false))
	if err != nil || channel != "C1" || ts == "" {
		t.Fatalf("PostMessage() = %q, %q, %v; want C1 and a ts", channel, ts, err)
	}
	call, err := s.WaitCall(ctx, "chat.postMessage", func(c Call) bool { return c.Param("channel") == "C1" })
	if err != nil {
		t.Fatal(err)
	}
	if got := call.Param("text"); got != "Fleet is up" {
		t.Errorf("recorded text = %q, want %q", got, "Fleet is up")
	}
	if call.Params.Has("token") {
		t.Error("recorded call keeps the token")
	}

	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Fleet is down", false)); err != nil {
		t.Errorf("UpdateMessage of a posted message: %v", err)
	}
	ets, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("Only you", false))
	if err != nil || ets == "" {
		t.Fatalf("PostEphemeral() = %q, %v; want a message_ts", ets, err)
	}
	if ets <= ts {
		t.Errorf("ephemeral ts %s not after earlier ts %s", ets, ts)
	}

	user, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || user.Name != "ada" || user.RealName != "Ada Lovelace" || user.TZ != "Europe/London" {
		t.Errorf("GetUserInfo(U1) = %+v, %v; want ada", user, err)
	}

	errs := []struct {
		name string
		call func() error
		want string
	}{
		{"update an ephemeral message", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, "C1", ets, slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"post without text", func() error {
			_, _, err := api.PostMessageContext(ctx, "C1")
			return err
		}, "no_text"},
		{"unknown user", func() error {
			_, err := api.GetUserInfoContext(ctx, "U404")
			return err
		}, "user_not_found"},
		{"view with a made-up trigger", func() error {
			_, err := api.OpenViewContext(ctx, "1.2.abc", slack.ModalViewRequest{Type: slack.VTModal})
			return err
		}, "invalid_trigger_id"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	s := MustNew(t, Options{})
	ctx := testContext(t)
	authTest := func(api *slack.Client) error { _, err := api.AuthTestContext(ctx); return err }
	post := func(api *slack.Client) error {
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
		return err
	}
	open := func(api *slack.Client) error { _, _, err := api.StartSocketModeContext(ctx); return err }
	tests := []struct {
		name     string
		bot, app string
		call     func(*slack.Client) error
		want     string // "" for success
	}{
		{"bot token posts", "xoxb-test", "", post, ""},
		{"wrong bot token", "xoxb-wrong", "", post, "invalid_auth"},
		{"no bot token", "", "", authTest, "not_authed"},
		{"app token cannot post", "xapp-test", "", post, "not_allowed_token_type"},
		{"app token opens a connection", "", "xapp-test", open, ""},
		{"wrong app token", "", "xapp-wrong", open, "invalid_auth"},
		{"bot token cannot open a connection", "", "xoxb-test", open, "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newAPI(s, tt.bot, tt.app))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want success", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		retryAfter time.Duration
		call       func(context.Context, *slack.Client) error
		want       time.Duration
	}{
		{"chat.postMessage", "chat.postMessage", 2 * time.Second, func(ctx context.Context, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
			return err
		}, 2 * time.Second},
		{"rounded up to seconds", "auth.test", 1500 * time.Millisecond, func(ctx context.Context, api *slack.Client) error {
			_, err := api.AuthTestContext(ctx)
			return err
		}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustNew(t, Options{})
			api := newAPI(s, "xoxb-test", "xapp-test")
			ctx := testContext(t)
			s.RateLimit(tt.method, 2, tt.retryAfter)

			for i := range 2 {
				err := tt.call(ctx, api)
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != tt.want {
					t.Fatalf("call %d: err = %v, want *slack.RateLimitedError retrying after %v", i+1, err, tt.want)
				}
			}
			if err := tt.call(ctx, api); err != nil {
				t.Errorf("call after the injected limits: %v", err)
			}
			calls := s.Calls()
			if len(calls) != 3 || calls[0].Status != http.StatusTooManyRequests || calls[0].Err != "ratelimited" || calls[2].Status != http.StatusOK {
				t.Errorf("Calls() = %+v, want two 429s then a 200", calls)
			}
		})
	}
}
