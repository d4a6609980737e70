package incident

import (
	"context"
	"time"
)

// Store keeps incidents, their alerts, timelines and jobs.
//
// Reads return ENOTFOUND for an unknown incident. Update returns an error
// with code EUNAVAILABLE when the store cannot commit, or cannot within its
// timeout, so that webhook senders are told to retry (503): the writes are
// then not stored, or (a commit whose answer was lost) not known to be.
// It returns EINVALID when the database refuses fn's data (a NUL character
// in a string, say): that call fails alone, never the calls that share its
// commit.
type Store interface {
	// Update runs fn in a read-write transaction and returns once its writes
	// are durable. Concurrent calls may share one commit (group commit);
	// each call's writes are isolated, so an error from fn undoes only that
	// call's writes. fn may run again after a transient conflict, so it must
	// have no effect outside tx. key names the incident key (or ID) fn works
	// on, "" for none: calls with one key go through one writer, in order,
	// so that parallel writers do not wait on each other's locks.
	Update(ctx context.Context, key string, fn func(tx Tx) error) error

	Incident(ctx context.Context, id string) (*Incident, error)
	Incidents(ctx context.Context, f Filter) ([]*Incident, error)
	// IncidentByChannel returns the incident whose war room is the Slack
	// channel, or ENOTFOUND.
	IncidentByChannel(ctx context.Context, channelID string) (*Incident, error)
	// Alerts lists an incident's alerts, firing first, at most limit of
	// them (limit <= 0: all).
	Alerts(ctx context.Context, incidentID string, limit int) ([]Alert, error)
	// CountAlerts counts an incident's alerts, all and firing.
	CountAlerts(ctx context.Context, incidentID string) (total, firing int, err error)
	Timeline(ctx context.Context, incidentID string) ([]Event, error)
	// Deploys lists recorded deploys, newest first.
	Deploys(ctx context.Context, f DeployFilter) ([]Deploy, error)
	// Jobs lists an incident's jobs, oldest first.
	Jobs(ctx context.Context, incidentID string) ([]JobStatus, error)
	// Counts counts incidents by state and kind, for metrics.
	Counts(ctx context.Context) ([]Count, error)
	// JobQueue counts the jobs available (waiting or due), running and
	// failed for good, by kind and state, and finds when the oldest job
	// due at now became due, for metrics.
	JobQueue(ctx context.Context, now time.Time) (JobQueue, error)
	// ReportIncidents reads, for the report, the incidents opened at or
	// after since.
	ReportIncidents(ctx context.Context, since time.Time) ([]ReportIncident, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	Close() error

	// TimelinePage lists an incident's events in timeline order after the
	// event with ID after (0: from the start), at most limit of them.
	// An after that is not one of the incident's events is EINVALID.
	TimelinePage(ctx context.Context, incidentID string, after int64, limit int) ([]Event, error)
	// TimelineSince lists, in timeline order, an incident's events with
	// an ID above since: what a step needs of a long timeline (the events
	// not yet reported, the event it is about), without reading the rest.
	TimelineSince(ctx context.Context, incidentID string, since int64) ([]Event, error)

	// ValuePoints lists an incident's value history (see ValuePoint),
	// oldest first: the newest limit points when it holds more (limit
	// <= 0: all).
	ValuePoints(ctx context.Context, incidentID string, limit int) ([]ValuePoint, error)
}

// Tx is what the domain may do inside one Update.
type Tx interface {
	// RecordDelivery keeps an audit row of a webhook delivery.
	RecordDelivery(d *Delivery) error
	// LockOpenIncident returns the open (not resolved) incident for key, or
	// nil, locked against other writers (other replicas) until commit. Two
	// writers that both find none and both open one collide on the store's
	// one-open-incident-per-key rule; the loser runs again and finds the
	// winner's.
	LockOpenIncident(key string) (*Incident, error)
	// LastResolved returns the most recently resolved incident for key, or
	// nil, locked like LockOpenIncident.
	LastResolved(key string) (*Incident, error)
	// IncidentByID returns the incident or an ENOTFOUND error.
	IncidentByID(id string) (*Incident, error)
	// LockIncident is IncidentByID with the incident locked until commit.
	LockIncident(id string) (*Incident, error)
	// NextSeq increments and returns a named counter, starting at 1.
	NextSeq(name string) (int64, error)
	InsertIncident(inc *Incident) error
	UpdateIncident(inc *Incident) error
	// Alert returns the stored alert with this fingerprint on the incident, or nil.
	Alert(incidentID, fingerprint string) (*Alert, error)
	// InsertAlert adds an alert the incident does not hold yet; it reports
	// false, changing nothing, when it holds one with that fingerprint.
	InsertAlert(incidentID string, a *Alert) (bool, error)
	// PutAlert inserts or replaces an alert of an incident.
	PutAlert(incidentID string, a *Alert) error
	// FiringAlerts counts the incident's alerts that are still firing.
	FiringAlerts(incidentID string) (int, error)
	// WorstFiringAlert returns the incident's firing alert with the
	// highest value (lowest, when lowest is set), or nil when no firing
	// alert has a value.
	WorstFiringAlert(incidentID string, lowest bool) (*Alert, error)
	// InsertDeploy records a deploy and sets its ID. For a deploy recorded
	// already (see SameDeployWindow) it changes nothing, sets d to the
	// recorded one and reports false; two replicas recording the same
	// deploy at once store it once.
	InsertDeploy(d *Deploy) (bool, error)
	// AppendEvent stores e and sets its ID.
	AppendEvent(e *Event) error
	// Enqueue adds a job unless one with its key exists (then it does
	// nothing). It reports false when it knows the job already waits; true
	// means the job may be new.
	Enqueue(j Job) (bool, error)

	// ClaimJobs marks up to n due jobs as running until now+lease and
	// returns them with their attempt and runs counted. The jobs are
	// claimed only if the transaction commits: a caller runs them only
	// after Update returned nil.
	ClaimJobs(n int, now time.Time, lease time.Duration) ([]Job, error)
	// ExtendLeases moves the leases that still hold to until (the
	// heartbeat of running jobs) and returns the job IDs of those that no
	// longer hold.
	ExtendLeases(leases []Lease, until time.Time) (lost []int64, err error)
	// CheckLease returns ErrLeaseLost unless l holds its job, and keeps a
	// new claim of the job from committing before this transaction does.
	CheckLease(l Lease) error
	// RescueJobs makes running jobs whose lease ran out (their process
	// died) available again, and reports how many.
	RescueJobs(now time.Time) (int, error)
	// FinishJob records the outcome of the run holding l: done (with the
	// steps it causes), retry at runAt, snooze until runAt (the attempt is
	// given back), or failed for good. It returns ErrLeaseLost, changing
	// nothing, when l no longer holds.
	FinishJob(l Lease, outcome JobOutcome, runAt time.Time, errText string, next []Job) error
	// AwaitJob notes, for the job of l just snoozed, the step it waits
	// for ("" for none), so that WakeJobs ends the snooze when a run of
	// that step completes; if one has completed already, the job is due at
	// now.
	AwaitJob(l Lease, kind JobKind, now time.Time) error
	// WakeJobs makes the incident's jobs snoozed waiting for kind due at
	// now (a run of kind has completed, or recorded what they wait for),
	// and reports how many.
	WakeJobs(incidentID string, kind JobKind, now time.Time) (int, error)
	// ReleaseJob makes the job of l available again at runAt (a shutdown
	// cut its run short); the attempt stays spent, since the run may have
	// reached the outside. It returns ErrLeaseLost when l no longer holds.
	ReleaseJob(l Lease, runAt time.Time) error

	// WarRoomsSince counts the war rooms started at or after since (see
	// NoteWarRoom). It takes a lock that every other WarRoomsSince waits
	// for until this transaction ends, so that writers on other replicas
	// count the war rooms this one starts.
	WarRoomsSince(since time.Time) (int, error)
	// NoteWarRoom records that the incident's war room started at at.
	NoteWarRoom(inc *Incident, at time.Time) error
	// WarRoomStarts lists, oldest first, the IDs of the war rooms
	// started at or after since that are not storms, under the lock of
	// WarRoomsSince.
	WarRoomStarts(since time.Time) ([]string, error)
	// OpenStorm returns the newest open storm, or nil, under the lock of
	// WarRoomsSince: a storm declared by another replica is seen once
	// its transaction ends.
	OpenStorm() (*Incident, error)
	// StormChildren lists the IDs of the storm's open children and
	// counts all of them, under the lock of WarRoomsSince, so that no
	// child joins before this transaction ends.
	StormChildren(stormID string) (open []string, total int, err error)

	// AddValuePoint records the incident's value at p.At, unless the
	// incident has a point in the same ValueInterval already: the first
	// of each interval stays, and the others write nothing.
	AddValuePoint(incidentID string, p ValuePoint) error
}

// JobOutcome is how one run of a job ended.
type JobOutcome string

// The job outcomes; JobState values double as job states in the store.
const (
	JobDone    JobOutcome = "completed"
	JobRetry   JobOutcome = "retry"
	JobSnooze  JobOutcome = "snoozed"
	JobFailed  JobOutcome = "failed"
	JobPending JobOutcome = "available"
	JobRunning JobOutcome = "running"
)

// JobStatus is a job as stored, for status views.
type JobStatus struct {
	Job
	State     JobOutcome `json:"state"`
	LastError string     `json:"last_error,omitempty"`
}

// JobQueue is the state of the job queue.
type JobQueue struct {
	Counts []JobCount
	// OldestDue is the run_at of the oldest job due and not claimed, zero
	// when none is.
	OldestDue time.Time
}

// JobCount is the number of jobs of one kind in one state.
type JobCount struct {
	Kind  JobKind
	State JobOutcome
	N     int
}

// Count is the number of incidents in one state, war rooms or recorded.
type Count struct {
	State   State
	WarRoom bool
	N       int
}

// countJobs wraps tx to count the jobs it enqueues, so that the worker is
// woken only when there is work, and to give them the trace of ctx. The
// count restarts with every run of the transaction function.
func countJobs(ctx context.Context, tx Tx, n *int) Tx {
	*n = 0
	return &countingTx{Tx: tx, n: n, traceParent: TraceParent(ctx)}
}

type countingTx struct {
	Tx
	n           *int
	traceParent string
}

func (t *countingTx) WakeJobs(incidentID string, kind JobKind, now time.Time) (int, error) {
	n, err := t.Tx.WakeJobs(incidentID, kind, now)
	*t.n += n
	return n, err
}

func (t *countingTx) Enqueue(j Job) (bool, error) {
	if j.TraceParent == "" {
		j.TraceParent = t.traceParent
	}
	ok, err := t.Tx.Enqueue(j)
	if ok {
		*t.n++
	}
	return ok, err
}
