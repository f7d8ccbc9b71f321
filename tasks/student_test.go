package tasks_test

import (
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"emma", true},
		{"e", true},
		{"dylan-2", true},
		{"a0", true},
		{"em--ma", true},
		// A host name label cannot end with a dash (RFC 1123); Go's resolver,
		// for one, refuses to look up emma-.cicf.cloud.
		{"emma-", false},
		{"a-", false},
		{"a" + strings.Repeat("b", 30), true},
		{"a" + strings.Repeat("b", 31), false},
		{"a" + strings.Repeat("-", 29) + "b", true},
		{"", false},
		{"Emma", false},
		{"2emma", false},
		{"-emma", false},
		{"emma.cicf", false},
		{"emma_b", false},
		{"emma b", false},
		{"emma\n", false},
		{"émma", false},
		{"emma;rm", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tasks.ValidateName(tt.name)
			if got := err == nil; got != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && tasks.ErrorCode(err) != tasks.EINVALID {
				t.Errorf("ErrorCode(ValidateName(%q)) = %q, want %q", tt.name, tasks.ErrorCode(err), tasks.EINVALID)
			}
		})
	}
}

// A long bad name is quoted back clipped, so a paste cannot flood Slack.
func TestValidateName_clipsMessage(t *testing.T) {
	name := strings.Repeat("X", 500)
	msg := tasks.ErrorMessage(tasks.ValidateName(name))
	if !strings.Contains(msg, strings.Repeat("X", 40)+"…") || strings.Contains(msg, strings.Repeat("X", 41)) {
		t.Errorf("ErrorMessage(ValidateName(500 × X)) = %q, want the name clipped to 40 runes and …", msg)
	}
}

func TestValidateSlackID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"U0EMMA001", true},
		{"W0GRID001", true},
		{"U12", true},
		{"U" + strings.Repeat("A", 20), true},
		{"U" + strings.Repeat("A", 21), false},
		{"U1", false},
		{"", false},
		{"u0emma001", false},
		{"B0BOT0001", false}, // a bot, not a user
		{"C0CHANNEL", false}, // a channel
		{"<@U0EMMA001>", false},
		{"@emma", false},
		{"U0EMMA001 ", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := tasks.ValidateSlackID(tt.id)
			if got := err == nil; got != tt.ok {
				t.Fatalf("ValidateSlackID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && tasks.ErrorCode(err) != tasks.EINVALID {
				t.Errorf("ErrorCode(ValidateSlackID(%q)) = %q, want %q", tt.id, tasks.ErrorCode(err), tasks.EINVALID)
			}
		})
	}
}

func TestStudent_Validate(t *testing.T) {
	key := newKeys(t).ed25519
	tests := []struct {
		name    string
		student tasks.Student
		wantErr string // a part of the message naming the bad field; "" for valid
		wantKey string // the key after normalization
	}{
		{"minimal", tasks.Student{Name: "emma", SlackID: "U0EMMA001"}, "", ""},
		{"email", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: "emma@example.org"}, "", ""},
		{"bad name first", tasks.Student{Name: "Emma", SlackID: "nope", Email: "nope"}, `"Emma" is not a valid name`, ""},
		{"bad slack id", tasks.Student{Name: "emma", SlackID: "emma"}, `"emma" is not a Slack user`, ""},
		{"email without at", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: "emma.example.org"}, "not an email address", ""},
		{"email with display name", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: "Emma <emma@example.org>"}, "not an email address", ""},
		{"email with spaces", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: " emma@example.org"}, "not an email address", ""},
		{"two emails", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: "a@example.org, b@example.org"}, "not an email address", ""},
		{"email too long", tasks.Student{Name: "emma", SlackID: "U0EMMA001", Email: strings.Repeat("e", 64) + "@" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".org"}, "not an email address", ""},
		{"bad key", tasks.Student{Name: "emma", SlackID: "U0EMMA001", PublicKey: "ssh-ed25519 nope"}, "not an SSH public key", ""},
		{"key keeps printable comment", tasks.Student{Name: "emma", SlackID: "U0EMMA001", PublicKey: "  " + key + "   emma@laptop  \n"}, "", key + " emma@laptop"},
		{"key drops control-char comment", tasks.Student{Name: "emma", SlackID: "U0EMMA001", PublicKey: key + " emma\x1b[2J@laptop"}, "", key},
		{"key drops comment with tab", tasks.Student{Name: "emma", SlackID: "U0EMMA001", PublicKey: key + " emma\tlaptop"}, "", key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.student
			err := s.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tt.student, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate(%+v) = nil, want an error containing %q", tt.student, tt.wantErr)
			case tt.wantErr != "":
				if code := tasks.ErrorCode(err); code != tasks.EINVALID {
					t.Errorf("ErrorCode(Validate(%+v)) = %q, want %q", tt.student, code, tasks.EINVALID)
				}
				if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("ErrorMessage(Validate(%+v)) = %q, want it to contain %q", tt.student, msg, tt.wantErr)
				}
				return
			}
			if s.PublicKey != tt.wantKey {
				t.Errorf("after Validate, PublicKey = %q, want %q", s.PublicKey, tt.wantKey)
			}
		})
	}
}
