package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	jira "github.com/andygrunwald/go-jira"
)

// Error is Jira's answer to a failed call: its status, its error
// messages and field errors, and Retry-After when it asked to wait.
type Error struct {
	Method, Path string
	Status       int
	Messages     []string
	Fields       map[string]string
	RetryAfter   time.Duration
}

func (e *Error) Error() string {
	var parts []string
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	parts = append(parts, e.Messages...)
	if len(parts) == 0 {
		parts = append(parts, http.StatusText(e.Status))
	}
	return fmt.Sprintf("jira %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, strings.Join(parts, "; "))
}

// RetryAfter reports how long Jira asked to wait (429, or 503 with
// Retry-After).
func RetryAfter(err error) (time.Duration, bool) {
	var je *Error
	if errors.As(err, &je) && (je.Status == http.StatusTooManyRequests || je.Status == http.StatusServiceUnavailable) {
		return je.RetryAfter, true
	}
	return 0, false
}

// Permanent reports a refusal retrying cannot fix: a 4xx other than 429
// (bad credentials, unknown field, missing permission, unknown issue).
func Permanent(err error) bool {
	var je *Error
	return errors.As(err, &je) && je.Status >= 400 && je.Status < 500 && je.Status != http.StatusTooManyRequests &&
		je.Status != http.StatusRequestTimeout
}

// OutcomeUnknown reports a failure after which the call may or may not
// have taken effect: a 5xx or no answer at all.
func OutcomeUnknown(err error) bool {
	if err == nil {
		return false
	}
	var je *Error
	if errors.As(err, &je) {
		return je.Status >= 500 && je.Status != http.StatusServiceUnavailable || je.Status == http.StatusRequestTimeout
	}
	return !errors.Is(err, context.Canceled)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// apiError builds an Error from a failed answer, reading Jira's body.
func apiError(method, path string, resp *jira.Response, err error) error {
	if resp == nil || resp.Response == nil {
		return fmt.Errorf("jira %s %s: %w", method, path, err)
	}
	e := &Error{Method: method, Path: path, Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, perr := strconv.Atoi(strings.TrimSpace(s)); perr == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, perr := http.ParseTime(s); perr == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	if resp.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		var je struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if json.Unmarshal(body, &je) == nil {
			e.Messages, e.Fields = je.ErrorMessages, je.Errors
		}
	}
	return e
}

// searchError turns go-jira's search error (which has read the body
// already into a *jira.Error) into an Error.
func searchError(resp *jira.Response, err error) error {
	e := &Error{Method: http.MethodGet, Path: "rest/api/2/search"}
	if resp != nil && resp.Response != nil {
		e.Status = resp.StatusCode
		if n, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	var je *jira.Error
	if errors.As(err, &je) {
		e.Messages, e.Fields = je.ErrorMessages, je.Errors
	}
	if e.Status == 0 {
		return fmt.Errorf("jira search: %w", err)
	}
	return e
}
