package tasks_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := tasks.Errorf(tasks.ENOTFOUND, "No student named %q.", "zed")
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"tasks error", notFound, tasks.ENOTFOUND, `No student named "zed".`},
		{"wrapped once", fmt.Errorf("find student: %w", notFound), tasks.ENOTFOUND, `No student named "zed".`},
		{"wrapped twice", fmt.Errorf("status: %w", fmt.Errorf("find student: %w", notFound)), tasks.ENOTFOUND, `No student named "zed".`},
		{"joined with a plain error", fmt.Errorf("list: %w: %w", tasks.Errorf(tasks.EUNAVAILABLE, "DO is down."), errors.New("dial tcp: refused")), tasks.EUNAVAILABLE, "DO is down."},
		{"plain error", errors.New("sql: database is locked at /var/lib/cicf/cicf.db"), tasks.EINTERNAL, "Internal error."},
		{"plain error wrapped", fmt.Errorf("list vms: %w", errors.New("disk I/O error")), tasks.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tasks.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.wantCode)
			}
			if got := tasks.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.wantMessage)
			}
		})
	}
}

// An internal error's details (paths, SQL, addresses) must never reach Slack.
func TestErrorMessage_hidesInternalDetails(t *testing.T) {
	err := fmt.Errorf("open /var/lib/cicf/cicf.db: %w", errors.New("permission denied"))
	if got := tasks.ErrorMessage(err); strings.Contains(got, "cicf.db") || strings.Contains(got, "permission") {
		t.Errorf("ErrorMessage(%v) = %q, want no detail of the cause", err, got)
	}
}

func TestError_Error(t *testing.T) {
	err := tasks.Errorf(tasks.EINVALID, "%q is not a valid name.", "Emma")
	if got, want := err.Error(), `cicf error: code=invalid message="Emma" is not a valid name.`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		role tasks.Role
		text string
	}{
		{tasks.RoleNone, "none"},
		{tasks.RoleStudent, "student"},
		{tasks.RoleInstructor, "instructor"},
	}
	for _, tt := range tests {
		if got := tt.role.String(); got != tt.text {
			t.Errorf("Role(%d).String() = %q, want %q", tt.role, got, tt.text)
		}
		if got := tasks.ParseRole(tt.text); got != tt.role {
			t.Errorf("ParseRole(%q) = %v, want %v", tt.text, got, tt.role)
		}
	}
	for _, s := range []string{"", "Instructor", "admin", "root"} {
		if got := tasks.ParseRole(s); got != tasks.RoleNone {
			t.Errorf("ParseRole(%q) = %v, want %v", s, got, tasks.RoleNone)
		}
	}
	if got, want := tasks.Role(42).String(), "none"; got != want {
		t.Errorf("Role(42).String() = %q, want %q", got, want)
	}
}
