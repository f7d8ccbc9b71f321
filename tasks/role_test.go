package tasks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

func TestDirectory_Identify(t *testing.T) {
	env := newTestEnv(t)
	env.addStudent(t, "emma", true)
	// An instructor who also has a VM, to try the exercises.
	teacher := &tasks.Student{Name: "teacher", SlackID: instructorID}
	if err := env.students.CreateStudent(context.Background(), teacher); err != nil {
		t.Fatalf("CreateStudent(%q) = %v", teacher.Name, err)
	}
	env.dir.Instructors["U0TEACH02"] = true

	tests := []struct {
		name        string
		userID      string
		wantRole    tasks.Role
		wantStudent string // the roster entry's name; "" for none
	}{
		{"student", slackID("emma"), tasks.RoleStudent, "emma"},
		{"instructor", "U0TEACH02", tasks.RoleInstructor, ""},
		{"instructor on the roster", instructorID, tasks.RoleInstructor, "teacher"},
		{"stranger", "U0NOBODY1", tasks.RoleNone, ""},
		{"empty ID", "", tasks.RoleNone, ""},
		{"ID in the wrong case", strings.ToLower(slackID("emma")), tasks.RoleNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := env.dir.Identify(context.Background(), tt.userID)
			if err != nil {
				t.Fatalf("Identify(%q) = %v", tt.userID, err)
			}
			if c.UserID != tt.userID || c.Role != tt.wantRole {
				t.Errorf("Identify(%q) = {UserID: %q, Role: %v}, want {UserID: %q, Role: %v}", tt.userID, c.UserID, c.Role, tt.userID, tt.wantRole)
			}
			var got string
			if c.Student != nil {
				got = c.Student.Name
			}
			if got != tt.wantStudent {
				t.Errorf("Identify(%q).Student = %q, want %q", tt.userID, got, tt.wantStudent)
			}
		})
	}
}

// A roster that cannot be read is an error, not a stranger.
func TestDirectory_Identify_rosterUnreadable(t *testing.T) {
	env := newTestEnv(t)
	env.db.Close()
	for _, id := range []string{instructorID, "U0NOBODY1"} {
		c, err := env.dir.Identify(context.Background(), id)
		if err == nil {
			t.Fatalf("Identify(%q) on a closed database = %+v, nil, want an error", id, c)
		}
		if code := tasks.ErrorCode(err); code != tasks.EINTERNAL {
			t.Errorf("ErrorCode(Identify(%q)) = %q, want %q", id, code, tasks.EINTERNAL)
		}
	}
}
