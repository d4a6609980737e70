package incident

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// JobKind names one side-effect step.
type JobKind string

// The steps. Each job is unique by its Key and safe to run twice: its
// executor looks for what an earlier run made before making it.
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
	// JobJiraUpdate brings the ticket's description up to date (evidence
	// that arrived after it was filed).
	JobJiraUpdate      JobKind = "jira.update"
	JobCorrelateGather JobKind = "correlate.gather"
	// JobRollbackWebhook calls the rule's rollback webhook with the
	// suggestion, signed.
	JobRollbackWebhook JobKind = "rollback.webhook"
	// JobExpireSilences expires the Alertmanager silences warroom made for
	// an incident, when it resolves.
	JobExpireSilences JobKind = "alertmanager.expire_silences"
	// JobPageTrigger pages through PagerDuty, the incident's ID as the
	// dedup_key: when a war room of a rule with page opens, or when the
	// unacknowledged reminder fires.
	JobPageTrigger JobKind = "pagerduty.trigger"
	// JobPageAcknowledge and JobPageResolve follow the incident's
	// acknowledge and resolve on the page, if it was paged.
	JobPageAcknowledge JobKind = "pagerduty.acknowledge"
	JobPageResolve     JobKind = "pagerduty.resolve"
	// JobRemindAck and JobRemindUpdate are the reminders, scheduled when
	// a war room opens (run_at in the future) and run by the domain
	// itself (Service.Reminders): each looks at the incident when it is
	// due and does nothing if it has moved on.
	JobRemindAck    JobKind = "reminder.ack"
	JobRemindUpdate JobKind = "reminder.update"
	// JobSlackNudge posts a reminder's nudge in the war room (and, for
	// the unacknowledged one, the announce channel).
	JobSlackNudge JobKind = "slack.nudge"
)

// step says how one kind of step is ordered among the others.
type step struct {
	kind JobKind
	// after is the step that enqueues this one when it succeeds: the
	// summary is posted once the channel exists.
	after JobKind
	// needs is the step that makes what this one works on (the channel,
	// the ticket), for a step enqueued by other causes: while that step
	// may still succeed this one waits, and once it has failed for good
	// (or never was) this one gives up (see AwaitNeed). A step with after
	// needs it too.
	needs JobKind
	// coalesced steps render the incident as it is when they run, so one
	// pending run serves any number of changes: while one waits, a second
	// is not queued. An alert storm makes one summary update, not
	// thousands.
	coalesced bool
	// awaited steps may have others snoozed waiting for them
	// (SnoozeError.Awaits): when one completes, they are woken.
	awaited bool
}

// steps is the order of the steps, in the order a war room runs them
// (openSteps start it).
var steps = []step{
	{kind: JobSlackCreateChannel},
	{kind: JobJiraCreateIssue},
	{kind: JobCorrelateGather, awaited: true}, // the first summary and the ticket wait for the evidence
	{kind: JobSlackSetTopic, after: JobSlackCreateChannel},
	{kind: JobSlackInvite, after: JobSlackCreateChannel},
	{kind: JobSlackPostSummary, after: JobSlackCreateChannel},
	{kind: JobSlackAnnounce, after: JobSlackCreateChannel},
	{kind: JobSlackPinSummary, after: JobSlackPostSummary},
	{kind: JobSlackBookmarks, after: JobSlackPostSummary},
	{kind: JobSlackUpdate, needs: JobSlackPostSummary, coalesced: true},
	{kind: JobSlackArchive, needs: JobSlackCreateChannel},
	{kind: JobJiraComment, needs: JobJiraCreateIssue},
	{kind: JobJiraTransition, needs: JobJiraCreateIssue},
	{kind: JobJiraUpdate, needs: JobJiraCreateIssue, coalesced: true},
	{kind: JobSlackUpdateTopic, needs: JobSlackCreateChannel, coalesced: true},
	{kind: JobJiraSetPriority, needs: JobJiraCreateIssue, coalesced: true},
	{kind: JobRollbackWebhook},
	{kind: JobExpireSilences},
	{kind: JobPageTrigger},
	{kind: JobPageAcknowledge, needs: JobPageTrigger},
	{kind: JobPageResolve, needs: JobPageTrigger},
	{kind: JobRemindAck},
	{kind: JobRemindUpdate},
	{kind: JobSlackNudge, needs: JobSlackCreateChannel},
	{kind: JobStormSettle, coalesced: true},
	{kind: JobJiraFollowup, needs: JobJiraCreateIssue},
	{kind: JobSlackPostmortem, needs: JobSlackCreateChannel},
	{kind: JobJiraPostmortem, needs: JobJiraCreateIssue},
}

// stepOf returns the step of kind (the zero step for an unknown kind).
func stepOf(kind JobKind) step {
	for _, s := range steps {
		if s.kind == kind {
			return s
		}
	}
	return step{}
}

// JobKinds returns every kind of step, in the order of the step table: an
// executor must serve each.
func JobKinds() []JobKind {
	out := make([]JobKind, len(steps))
	for i, s := range steps {
		out[i] = s.kind
	}
	return out
}

// Awaited reports whether steps may snooze waiting for a step of kind, to
// be woken when it completes (Tx.WakeJobs).
func (k JobKind) Awaited() bool { return stepOf(k).awaited }

// Needs returns the step that makes what a step of kind works on, or "".
func (k JobKind) Needs() JobKind {
	s := stepOf(k)
	return cmp.Or(s.after, s.needs)
}

// openSteps are the steps enqueued when a war room opens; a storm's
// gathers no evidence of its own (its children's are what it shows).
var openSteps = []JobKind{JobSlackCreateChannel, JobJiraCreateIssue, JobCorrelateGather}

// OpeningSteps returns the steps a war room runs when it opens: those
// enqueued at its opening and those that follow them, in the order of
// the step table.
func OpeningSteps() []JobKind {
	opening := map[JobKind]bool{}
	for _, k := range openSteps {
		opening[k] = true
	}
	var out []JobKind
	for _, s := range steps { // a step comes after the one it follows
		if opening[s.kind] || opening[s.after] {
			opening[s.kind] = true
			out = append(out, s.kind)
		}
	}
	return out
}

// CoalesceDelay is how long a coalesced step waits before it runs, so that
// a burst of changes makes one call (Slack allows about one message update
// per second per channel).
const CoalesceDelay = time.Second

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
	// TraceParent is the W3C traceparent of the span that enqueued the
	// job (a webhook's, a responder's request, the run of the step
	// before), "" without tracing: the run continues that trace.
	TraceParent string `json:"-"`
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
	// Round counts the runs of a rescheduled reminder, from 1: each
	// round is its own job.
	Round int `json:"round,omitempty"`
}

// NewJob makes a step for an incident. The key is kind, incident and, for
// steps caused by one timeline event, that event's ID; coalesced steps are
// keyed by kind and incident alone.
func NewJob(kind JobKind, incidentID string, args JobArgs, runAt time.Time) Job {
	coalesced := stepOf(kind).coalesced
	key := string(kind) + ":" + incidentID
	if args.EventID != 0 && !coalesced {
		key += fmt.Sprintf(":%d", args.EventID)
	}
	if args.Round != 0 {
		key += fmt.Sprintf(":r%d", args.Round)
	}
	raw, _ := json.Marshal(args) // a struct of plain fields: cannot fail
	if coalesced {
		runAt = runAt.Add(CoalesceDelay)
	}
	return Job{Kind: kind, Key: key, IncidentID: incidentID, Args: raw, RunAt: runAt,
		MaxAttempt: DefaultMaxAttempts, Coalesce: coalesced}
}

// Successors returns the steps that follow j when it succeeds.
func Successors(j Job, now time.Time) []Job {
	var out []Job
	for _, s := range steps {
		if s.after == j.Kind {
			var args JobArgs
			_ = json.Unmarshal(j.Args, &args)
			n := NewJob(s.kind, j.IncidentID, args, now)
			n.TraceParent = j.TraceParent
			out = append(out, n)
		}
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
	// Awaits is the step whose result the snoozed step waits for: when it
	// records it, the snooze ends at once (Tx.WakeJobs).
	Awaits JobKind
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

// ErrNeedGone says that what a step works on (the channel, the ticket)
// will not come: the step that makes it failed for good, or never ran.
var ErrNeedGone = errors.New("the step it needs failed for good or never ran")

// AwaitNeed is the answer of a step of kind whose incident lacks what the
// step it needs makes (JobKind.Needs), decided from the incident's jobs,
// never from error text: a snooze while a run of that step may still
// succeed (until that run is due, at least two seconds), or while the step
// it needs in turn may (the summary is queued only once the channel
// exists); a retry if it has succeeded and its result is not on the
// incident yet (a read from before its commit); otherwise an error
// wrapping ErrNeedGone.
func AwaitNeed(kind JobKind, jobs []JobStatus, now time.Time) error {
	need := kind.Needs()
	if need == "" {
		return fmt.Errorf("%s needs no other step: %w", kind, ErrNeedGone)
	}
	queued := false
	var done bool
	for _, j := range jobs {
		if j.Kind != need {
			continue
		}
		queued = true
		switch j.State {
		case JobFailed:
		case JobDone:
			done = true
		default: // waiting, due, running or snoozed
			wait := max(2*time.Second, j.RunAt.Sub(now))
			return &SnoozeError{Wait: wait, Err: fmt.Errorf("waiting for %s", need)}
		}
	}
	switch {
	case done:
		return &RetryError{Wait: 2 * time.Second, Err: fmt.Errorf("%s is done but its result is not on the incident yet", need)}
	case !queued && need.Needs() != "":
		if err := AwaitNeed(need, jobs, now); !errors.Is(err, ErrNeedGone) {
			return err // the step before it may still succeed
		}
	}
	return fmt.Errorf("%s needs %s: %w", kind, need, ErrNeedGone)
}
