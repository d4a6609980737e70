package incident

import (
	"errors"
	"fmt"
)

// Error codes, in the manner of benbjohnson/wtf: the HTTP and Slack layers
// map them to statuses and show Message; anything else is internal and is
// logged, never shown.
const (
	ECONFLICT     = "conflict"     // the action does not fit the incident's state
	EINVALID      = "invalid"      // the request itself is wrong
	ENOTFOUND     = "not_found"    // no such incident
	EUNAVAILABLE  = "unavailable"  // the store could not commit; try again
	EUNAUTHORIZED = "unauthorized" // the caller may not do this
)

// Error is an application error with a code and a message fit for users.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, "internal" for any other error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// ErrorMessage returns the user-facing message of err; internal errors read
// "internal error" so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
