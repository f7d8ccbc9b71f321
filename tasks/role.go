package tasks

import "context"

// Role is what a caller may do. Roles are derived from the Slack user ID
// alone, never from display names.
type Role int

const (
	RoleNone       Role = iota // not on the roster and not an instructor
	RoleStudent                // on the roster
	RoleInstructor             // listed in configuration
)

// String returns "none", "student" or "instructor".
func (r Role) String() string {
	switch r {
	case RoleStudent:
		return "student"
	case RoleInstructor:
		return "instructor"
	default:
		return "none"
	}
}

// ParseRole is the inverse of Role.String; unknown text is RoleNone.
func ParseRole(s string) Role {
	switch s {
	case "student":
		return RoleStudent
	case "instructor":
		return RoleInstructor
	default:
		return RoleNone
	}
}

// Caller is the person behind a command.
type Caller struct {
	UserID  string
	Role    Role
	Student *Student // the caller's roster entry, if any (an instructor may have one too)
}

// Directory tells who a Slack user is.
type Directory struct {
	Instructors map[string]bool // Slack user IDs
	Students    StudentService
}

// Identify returns the caller for userID. An unknown user is a Caller with
// RoleNone, not an error; errors mean the roster could not be read.
func (d *Directory) Identify(ctx context.Context, userID string) (*Caller, error) {
	c := &Caller{UserID: userID}
	s, err := d.Students.FindStudentBySlackID(ctx, userID)
	switch {
	case err == nil:
		c.Student, c.Role = s, RoleStudent
	case ErrorCode(err) != ENOTFOUND:
		return nil, err
	}
	if d.Instructors[userID] {
		c.Role = RoleInstructor
	}
	return c, nil
}
