package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Reminders say when a war room gets a nudge.
type Reminders struct {
	// AckWithin: a war room still unacknowledged this long after it
	// opened gets a nudge in the room and the announce channel, and a
	// page when Page is set. 0: no such reminder.
	AckWithin time.Duration
	// UpdateEvery is how long an open incident of a severity may go
	// without a status update (a note, a state change) before its
	// commander is nudged; nil or 0: no such reminder.
	UpdateEvery func(Severity) time.Duration
	// Page: the unacknowledged nudge pages through PagerDuty too.
	Page bool
}

func (r Reminders) updateEvery(sev Severity) time.Duration {
	if r.UpdateEvery == nil {
		return 0
	}
	return r.UpdateEvery(sev)
}

// The timeline events of the reminders.
const (
	EventNudgedAck    EventKind = "nudged_ack"
	EventNudgedUpdate EventKind = "nudged_update"
)

// statusEvents are the status updates the update reminder waits for.
var statusEvents = map[EventKind]bool{
	EventOpened: true, EventDeclared: true, EventEscalated: true, EventAcknowledged: true, EventMitigated: true,
	EventResolved: true, EventReopened: true, EventNote: true,
}

// scheduleReminders schedules the reminders of a war room that starts:
// jobs due later, in the jobs table, so that they outlive the process and
// run once whichever replica is up when they are due.
func (s *Service) scheduleReminders(c *change) error {
	r := s.opts.Reminders
	if r.AckWithin > 0 && c.inc.AcknowledgedAt == nil {
		if _, err := c.tx.Enqueue(NewJob(JobRemindAck, c.inc.ID, JobArgs{}, c.now.Add(r.AckWithin))); err != nil {
			return err
		}
	}
	if every := r.updateEvery(c.inc.Severity); every > 0 {
		if _, err := c.tx.Enqueue(NewJob(JobRemindUpdate, c.inc.ID, JobArgs{Round: 1}, c.now.Add(every))); err != nil {
			return err
		}
	}
	return nil
}

// Reminders returns the executor of the reminder steps: the domain runs
// them itself, since they only look at the incident and enqueue the steps
// that show the nudge.
func (s *Service) Reminders() Executor { return reminderExecutor{s} }

// ReminderKinds are the steps Reminders runs.
func ReminderKinds() []JobKind { return []JobKind{JobRemindAck, JobRemindUpdate} }

type reminderExecutor struct{ s *Service }

func (x reminderExecutor) Execute(ctx context.Context, j Job) error {
	switch j.Kind {
	case JobRemindAck, JobRemindUpdate:
	default:
		return Permanent(fmt.Errorf("no reminder step %s", j.Kind))
	}
	if !j.FirstRun() {
		// An earlier run may have committed its nudge and died before
		// its outcome: the nudge, keyed by this reminder, says so (it is
		// written in the same transaction as the event).
		jobs, err := x.s.store.Jobs(ctx, j.IncidentID)
		if err != nil {
			return err
		}
		for _, o := range jobs {
			if o.Key == nudgeKey(j) {
				return nil
			}
		}
	}
	if j.Kind == JobRemindAck {
		var args JobArgs
		if json.Unmarshal(j.Args, &args) == nil && args.EventID == 0 {
			// The opening's reminder, run after the war room resolved and
			// reopened (a worker late, a restart): the reopening's own
			// reminder nudges, not this one too.
			jobs, err := x.s.store.Jobs(ctx, j.IncidentID)
			if err != nil {
				return err
			}
			for _, o := range jobs {
				if o.Kind == JobRemindAck && o.Key != j.Key {
					return nil
				}
			}
		}
		return x.s.remindAck(ctx, j)
	}
	return x.s.remindUpdate(ctx, j)
}

// nudgeKey is the key of the nudge a reminder makes: one per reminder.
func nudgeKey(j Job) string { return string(JobSlackNudge) + ":" + j.Key }

// remindAck nudges a war room that is still unacknowledged.
func (s *Service) remindAck(ctx context.Context, j Job) error {
	return s.remind(ctx, j, func(tx Tx, inc *Incident, now time.Time) (*Event, []Job, error) {
		if inc.State != Triggered || !inc.WarRoom {
			return nil, nil, nil // acknowledged, mitigated or resolved since
		}
		text := "not acknowledged " + shortDuration(now.Sub(inc.OpenedAt)) + " after the war room opened"
		var args JobArgs
		if json.Unmarshal(j.Args, &args) == nil && args.EventID != 0 { // scheduled by a reopening
			text = "not acknowledged " + shortDuration(now.Sub(j.RunAt.Add(-s.opts.Reminders.AckWithin))) + " after the war room reopened"
		}
		e := &Event{IncidentID: inc.ID, At: now, Kind: EventNudgedAck, Actor: ActorSystem, Text: text}
		if err := tx.AppendEvent(e); err != nil {
			return nil, nil, err
		}
		var jobs []Job
		if s.opts.Reminders.Page {
			jobs = append(jobs, NewJob(JobPageTrigger, inc.ID, JobArgs{EventID: e.ID}, now))
		}
		return e, jobs, nil
	})
}

// remindUpdate nudges the commander of an open incident that has had no
// status update for its severity's interval, and schedules the next
// round while the incident is open.
func (s *Service) remindUpdate(ctx context.Context, j Job) error {
	var args JobArgs
	_ = json.Unmarshal(j.Args, &args) // written by NewJob
	// The events since those the last round read: a long timeline is not
	// read again each round.
	tl, err := s.store.TimelineSince(ctx, j.IncidentID, args.EventID)
	if err != nil {
		return err
	}
	var last time.Time
	seen := args.EventID
	for _, e := range tl {
		if statusEvents[e.Kind] && e.At.After(last) {
			last = e.At
		}
		seen = max(seen, e.ID)
	}
	return s.remind(ctx, j, func(tx Tx, inc *Incident, now time.Time) (*Event, []Job, error) {
		every := s.opts.Reminders.updateEvery(inc.Severity)
		if !inc.State.Open() || !inc.WarRoom || every <= 0 {
			return nil, nil, nil // resolved: the reminders stop
		}
		if last.IsZero() {
			// No update since the last round: the quiet began when it
			// was scheduled from (the opening for the first).
			last = j.RunAt.Add(-every)
			if args.Round <= 1 {
				last = inc.OpenedAt
			}
		}
		// Keyed by its round alone: a second run of this round schedules
		// the same next one.
		next := NewJob(JobRemindUpdate, inc.ID, JobArgs{Round: args.Round + 1}, now.Add(every))
		next.Args, _ = json.Marshal(JobArgs{Round: args.Round + 1, EventID: seen}) // plain fields: cannot fail
		if now.Sub(last) < every {
			next.RunAt = last.Add(every) // an update came: wait from it
			return nil, []Job{next}, nil
		}
		since := now.Sub(last)
		e := &Event{IncidentID: inc.ID, At: now, Kind: EventNudgedUpdate, Actor: ActorSystem,
			Text: "no status update for " + shortDuration(since)}
		if err := tx.AppendEvent(e); err != nil {
			return nil, nil, err
		}
		next.Args, _ = json.Marshal(JobArgs{Round: args.Round + 1, EventID: e.ID}) // plain fields: cannot fail
		return e, []Job{next}, nil
	})
}

// remind runs one reminder's change in one transaction, under the job's
// lease: decide looks at the locked incident and returns the event of a
// nudge (nil for none) and the jobs to enqueue; a nudge's Slack step is
// keyed by the reminder.
func (s *Service) remind(ctx context.Context, j Job, decide func(tx Tx, inc *Incident, now time.Time) (*Event, []Job, error)) error {
	err := s.stepUpdate(ctx, j.IncidentID, func(tx Tx) error {
		inc, err := tx.LockIncident(j.IncidentID)
		if err != nil {
			return err
		}
		now := s.opts.Now()
		e, jobs, err := decide(tx, inc, now)
		if err != nil {
			return err
		}
		if e != nil {
			nudge := NewJob(JobSlackNudge, inc.ID, JobArgs{EventID: e.ID}, now)
			nudge.Key = nudgeKey(j)
			jobs = append(jobs, nudge)
		}
		for _, n := range jobs {
			if _, err := tx.Enqueue(n); err != nil {
				return err
			}
		}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		return Permanent(err)
	}
	return err
}

// shortDuration is d for a sentence: "45s", "30m", "2h 5m".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
}
