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

// JobKinds lists every kind of step, so that the bot can check at start
// that each has exactly one executor.
func JobKinds() []JobKind {
	return []JobKind{
		JobSlackCreateChannel, JobSlackSetTopic, JobSlackInvite, JobSlackPostSummary, JobSlackPinSummary,
		JobSlackBookmarks, JobSlackAnnounce, JobSlackUpdate, JobSlackArchive,
		JobJiraCreateIssue, JobJiraComment, JobJiraTransition, JobJiraUpdate,
		JobCorrelateGather, JobRollbackWebhook, JobExpireSilences,
	}
}

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
	// Attempt counts the runs that may have reached the outside system,
	// this one included: a claim counts one, committed with the claim (a
	// job whose claim did not commit never runs), and only a snooze gives
	// it back, because executors snooze only before they change anything
	// outside. A rescue after a crash, a lost lease or a shutdown that cut
	// a run short keeps it.
	Attempt    int `json:"attempt"`
	MaxAttempt int `json:"max_attempts"`
	// Runs counts every claim of the job, this one included, and never
	// goes down: it is the fencing token of the claim's Lease.
	Runs int `json:"runs"`
	// LastRunAt is when the last earlier run that may have reached the
	// outside started (zero if none): a search that lags behind writes
	// (Jira's index) must not trust a miss until it has caught up.
	LastRunAt time.Time `json:"last_run_at,omitzero"`
	// Coalesce: the key names the pending run only; a claimed run is
	// renamed key#id (once: a rescued run keeps its name), so a change
	// after the claim queues a new run.
	Coalesce bool `json:"coalesce,omitempty"`
}

// FirstRun reports whether the job's own state proves that no earlier run
// reached the outside system: every earlier claim, if any, ended in a
// snooze. Otherwise (a lost answer, a failed commit of the outcome, a
// crash, a lost lease) the run must look for what an earlier one made
// before it makes it again.
func (j Job) FirstRun() bool { return j.Attempt <= 1 }

// Lease is the job's hold on its row while this run lasts.
func (j Job) Lease() Lease { return Lease{JobID: j.ID, Runs: j.Runs} }

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
