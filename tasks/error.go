package tasks

import (
	"errors"
	"fmt"
)

// Error codes. They say what kind of failure a person in Slack is looking at;
// the message says what to do about it.
const (
	ECONFLICT    = "conflict"    // the thing exists already or is busy
	EFORBIDDEN   = "forbidden"   // the caller's role does not allow it
	EINTERNAL    = "internal"    // a bug or an outage; details are logged, not shown
	EINVALID     = "invalid"     // bad input
	ENOTFOUND    = "not_found"   // no such student, VM or run
	EUNAVAILABLE = "unavailable" // an outside service (DigitalOcean, a VM) did not answer
)

// Error is the one error type whose message is shown to people. Its Message is
// written for a student or instructor in Slack: short, concrete, and naming
// the next command to type. Any other error is internal.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("cicf error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, "" for a nil err
// and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the *Error in err's chain, "" for a nil
// err and a generic text for any other error (whose details must not reach
// Slack).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
