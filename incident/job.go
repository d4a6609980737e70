package incident

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// JobKind names one side-effect step (DESIGN.md §12).
type JobKind string

// The steps of a war room. Each job is unique by its Key and safe to run
// twice: its executor looks for what an earlier attempt made before making it.
const (
	JobSlackCreateChannel JobKind = "slack.create_channel"
	JobSlackSetTopic      JobKind = "slack.set_topic"
	JobSlackInvite        JobKind = "slack.invite"
	JobSlackPostSummary   JobKind = "slack.post_summary"
	JobSlackPinSummary    JobKind = "slack.pin_summary"
	JobSlackBookmarks     JobKind = "slack.bookmarks"
	JobSlackAnnounce      JobKind = "slack.announce"
	JobSlackUpdate        JobKind = "slack.update"
	JobSlackArchive       JobKind = "slack.archive"
	JobJiraCreateIssue    JobKind = "jira.create_issue"
	JobJiraComment        JobKind = "jira.comment"
	JobJiraTransition     JobKind = "jira.transition"
	JobCorrelateGather    JobKind = "correlate.gather"
)

// next lists the steps a step enqueues when it succeeds: a step that needs
// what an earlier one made (the channel, the summary) runs after it.
var next = map[JobKind][]JobKind{
	JobSlackCreateChannel: {JobSlackSetTopic, JobSlackInvite, JobSlackPostSummary, JobSlackAnnounce},
	JobSlackPostSummary:   {JobSlackPinSummary, JobSlackBookmarks},
}

// coalesced steps render the incident as it is when they run, so one
// pending run serves any number of changes: while one waits, a second is
// not queued. An alert storm makes one summary update, not thousands.
var coalesced = map[JobKind]bool{JobSlackUpdate: true}

// CoalesceDelay is how long a coalesced step waits before it runs, so that
// a burst of changes makes one call (Slack allows about one message update
// per second per channel).
const CoalesceDelay = time.Second

// openSteps are the steps enqueued when a war room opens.
var openSteps = []JobKind{JobSlackCreateChannel, JobJiraCreateIssue, JobCorrelateGather}

// Job is one side-effect step to run at least once.
type Job struct {
	ID         int64           `json:"id"`
	Kind       JobKind         `json:"kind"`
	Key        string          `json:"key"` // unique: a second insert with the same key is dropped
	IncidentID string          `json:"incident_id"`
	Args       json.RawMessage `json:"args,omitempty"`
	RunAt      time.Time       `json:"run_at"`
	Attempt    int             `json:"attempt"` // 1 on the first run
	MaxAttempt int             `json:"max_attempts"`
	// Coalesce: the key names the pending run only; a claimed run is
	// renamed key#id, so a change after the claim queues a new run.
	Coalesce bool `json:"coalesce,omitempty"`
}

// JobArgs are the arguments every step may carry.
type JobArgs struct {
	// EventID is the timeline event that caused an update step.
	EventID int64 `json:"event_id,omitempty"`
	// Target is the state a transition step moves the ticket to.
	Target State `json:"target,omitempty"`
}

// NewJob makes a step for an incident. The key is kind, incident and, for
// steps caused by one timeline event, that event's ID; coalesced steps are
// keyed by kind and incident alone.
func NewJob(kind JobKind, incidentID string, args JobArgs, runAt time.Time) Job {
	key := string(kind) + ":" + incidentID
	if args.EventID != 0 && !coalesced[kind] {
		key += fmt.Sprintf(":%d", args.EventID)
	}
	raw, _ := json.Marshal(args) // a struct of plain fields: cannot fail
	if coalesced[kind] {
		runAt = runAt.Add(CoalesceDelay)
	}
	return Job{Kind: kind, Key: key, IncidentID: incidentID, Args: raw, RunAt: runAt,
		MaxAttempt: DefaultMaxAttempts, Coalesce: coalesced[kind]}
}

// Successors returns the steps that follow j when it succeeds.
func Successors(j Job, now time.Time) []Job {
	var out []Job
	for _, k := range next[j.Kind] {
		var args JobArgs
		_ = json.Unmarshal(j.Args, &args)
		out = append(out, NewJob(k, j.IncidentID, args, now))
	}
	return out
}

// DefaultMaxAttempts bounds retries of a step (as River's default).
const DefaultMaxAttempts = 25

// Backoff is the wait before attempt n+1 after n failed attempts: n⁴
// seconds, as River's default, capped at one hour.
func Backoff(attempt int) time.Duration {
	d := time.Duration(attempt*attempt*attempt*attempt) * time.Second
	if d > time.Hour || d <= 0 {
		d = time.Hour
	}
	return d
}

// Permanent marks err as a failure that retrying cannot fix (bad token,
// unknown field, missing transition). The step stops and the error goes on
// the incident's timeline.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// SnoozeError asks for the step to run again after Wait without spending an
// attempt: the answer to 429 Retry-After.
type SnoozeError struct {
	Wait time.Duration
	Err  error
}

func (e *SnoozeError) Error() string {
	return fmt.Sprintf("snoozed for %s: %v", e.Wait, e.Err)
}
func (e *SnoozeError) Unwrap() error { return e.Err }

// RetryError asks for the step to run again after Wait, spending the
// attempt: the step may have reached the outside system (a create whose
// answer was lost), so its next run must look for what this one made.
type RetryError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("retry in %s: %v", e.Wait, e.Err)
}
func (e *RetryError) Unwrap() error { return e.Err }
