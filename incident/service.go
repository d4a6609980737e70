package incident

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Options tune a Service. Zero values take the defaults below.
type Options struct {
	// ReopenWindow: a key that fires again within this time after its
	// incident resolved reopens it; later, a new incident opens. Default 1h.
	ReopenWindow time.Duration
	// ArchiveAfter schedules the war room's archive after resolve; 0 never.
	ArchiveAfter time.Duration
	// ChannelName reserves the war room's channel name; n counts the war
	// rooms of the incident's service on its opening day, from 1.
	ChannelName func(inc *Incident, n int64) string
	Now         func() time.Time
	// AfterCommit, if set, is called after every committed change, e.g. to
	// wake the job worker.
	AfterCommit func()
	// MaxNewWarRoomsPerDelivery caps the war rooms one delivery opens;
	// beyond it, incidents are recorded (war_room false) with the reason
	// on their timeline, and a later delivery may still make them war
	// rooms. Default DefaultMaxNewWarRoomsPerDelivery; negative: no cap.
	MaxNewWarRoomsPerDelivery int
	// MaxNewWarRoomsPerMinute caps the war rooms opened in any minute,
	// counted in the store so that replicas share one count. Default
	// DefaultMaxNewWarRoomsPerMinute; negative: no cap.
	MaxNewWarRoomsPerMinute int
	// Tracer, if set, traces Ingest (tracing is off without one).
	Tracer trace.Tracer
	// WarRoomReady, if set, is told once per war room, after the commit
	// of the step that completed it, how long after the incident opened
	// its war room became ready: the parts Ready names are all made.
	WarRoomReady func(d time.Duration)
	// WarRoomTimed, if set, is told after the commit of each transition
	// of a war room that its numbers count: its first acknowledge (or a
	// mitigate before any) and each resolve, with the time since it
	// opened. A transition that does not commit, or a repeat that
	// changes nothing (a replayed webhook, an ack of an acknowledged
	// incident), tells nothing.
	WarRoomTimed func(t Timing)
	// Ready names the parts of a ready war room: those of the systems
	// that are real, not in dry run.
	Ready ReadyParts
	// Reminders keep a war room moving; the zero value schedules none.
	Reminders Reminders
	// Storm turns many war rooms at once into one; the zero value never
	// declares a storm.
	Storm Storm
}

// ReadyParts are the parts a war room needs to be ready.
type ReadyParts struct {
	Channel bool // the Slack channel and its summary
	Ticket  bool // the Jira ticket
}

// ready reports whether inc's war room has every part p needs; never
// when p needs none.
func (p ReadyParts) ready(inc *Incident) bool {
	if !inc.WarRoom || !p.Channel && !p.Ticket {
		return false
	}
	return (!p.Channel || inc.SlackChannelID != "" && inc.SummaryTS != "") && (!p.Ticket || inc.JiraKey != "")
}

// The caps on new war rooms. Slack's conversations.create is a Tier 2
// method, about 20 calls a minute
// (https://api.slack.com/methods/conversations.create): a storm that
// opened more would only queue channels behind the rate limit, and a
// hundred war rooms help no one.
const (
	DefaultMaxNewWarRoomsPerDelivery = 10
	DefaultMaxNewWarRoomsPerMinute   = 20
)

// DefaultReopenWindow is the reopen_window default.
const DefaultReopenWindow = time.Hour

// Service is the domain's entry point: it ingests alerts and applies the
// actions of responders, each as one transaction that changes state, writes
// the timeline and enqueues the side effects.
type Service struct {
	store Store
	rules Evaluator
	opts  Options
	// withheld remembers, per incident, when and why its war room was
	// last withheld, so that a storm's further alerts of it attach without
	// counting the war rooms again (a lock across replicas) on each one.
	withheld withheldMemo
}

// NewService returns a Service over store deciding with rules.
func NewService(store Store, rules Evaluator, opts Options) *Service {
	if opts.ReopenWindow == 0 {
		opts.ReopenWindow = DefaultReopenWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ChannelName == nil {
		opts.ChannelName = func(inc *Incident, n int64) string {
			return fmt.Sprintf("inc-%s-%s-%d", inc.OpenedAt.UTC().Format("20060102"), inc.Service, n)
		}
	}
	if opts.AfterCommit == nil {
		opts.AfterCommit = func() {}
	}
	if opts.MaxNewWarRoomsPerDelivery == 0 {
		opts.MaxNewWarRoomsPerDelivery = DefaultMaxNewWarRoomsPerDelivery
	}
	if opts.MaxNewWarRoomsPerMinute == 0 {
		opts.MaxNewWarRoomsPerMinute = DefaultMaxNewWarRoomsPerMinute
	}
	return &Service{store: store, rules: rules, opts: opts}
}

// change collects what one alert did to an incident, so that the incident is
// written once and one update step follows the last event.
type change struct {
	tx        Tx
	inc       *Incident
	now       time.Time
	dirty     bool
	lastEvent int64
	// lastMajor is the last event worth a Jira comment: state changes and
	// notes, not every attached alert.
	lastMajor int64
}

// major events are told to Jira as comments.
var major = map[EventKind]bool{
	EventEscalated: true, EventAcknowledged: true, EventMitigated: true, EventResolved: true,
	EventReopened: true, EventAssigned: true, EventRollbackRequested: true, EventSilenceRequested: true,
	EventJoinedStorm: true, EventLeftStorm: true,
}

func (c *change) event(kind EventKind, actor, text string) error {
	e := &Event{IncidentID: c.inc.ID, At: c.now, Kind: kind, Actor: actor, Text: text}
	if err := c.tx.AppendEvent(e); err != nil {
		return err
	}
	c.lastEvent = e.ID
	if major[kind] {
		c.lastMajor = e.ID
	}
	c.dirty = true
	return nil
}

// startWarRoom reserves the channel name and enqueues the opening steps,
// and the page when page is set.
func (s *Service) startWarRoom(c *change, page bool) error {
	c.inc.WarRoom = true
	day := c.inc.OpenedAt.UTC().Format("20060102") // the day the name carries
	n, err := c.tx.NextSeq("channel/" + day + "/" + c.inc.Service)
	if err != nil {
		return err
	}
	c.inc.SlackChannel = s.opts.ChannelName(c.inc, n)
	if err := c.tx.NoteWarRoom(c.inc, c.now); err != nil {
		return err
	}
	for _, k := range openSteps {
		if k == JobCorrelateGather && c.inc.IsStorm() {
			continue
		}
		if _, err := c.tx.Enqueue(NewJob(k, c.inc.ID, JobArgs{}, c.now)); err != nil {
			return err
		}
	}
	if page {
		if _, err := c.tx.Enqueue(NewJob(JobPageTrigger, c.inc.ID, JobArgs{}, c.now)); err != nil {
			return err
		}
	}
	if err := s.scheduleReminders(c); err != nil {
		return err
	}
	c.dirty = true
	return nil
}

// resolve moves c.inc to resolved and enqueues the closing steps.
func (s *Service) resolve(c *change, actor, text string) error {
	c.inc.State = Resolved
	at := c.now
	c.inc.ResolvedAt = &at
	noteTiming(c, Resolved)
	if err := c.event(EventResolved, actor, text); err != nil {
		return err
	}
	var extra []Job
	if c.inc.IsStorm() {
		// Resolved by a responder, its open children resolve with it.
		extra = append(extra, NewJob(JobStormSettle, c.inc.ID, JobArgs{}, c.now))
	}
	if c.inc.WarRoom {
		extra = append(extra, NewJob(JobJiraTransition, c.inc.ID, JobArgs{EventID: c.lastEvent, Target: Resolved}, c.now))
		extra = append(extra, NewJob(JobExpireSilences, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now))
		extra = append(extra, NewJob(JobPageResolve, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now))
		extra = append(extra, postmortemJobs(c.inc.ID, c.lastEvent, c.now)...)
		if s.opts.ArchiveAfter > 0 {
			extra = append(extra, NewJob(JobSlackArchive, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now.Add(s.opts.ArchiveAfter)))
		}
	}
	return s.save(c, extra)
}

// save writes a changed incident and, for a war room, enqueues the update
// steps for its last event plus extra; for a storm's child, the storm's.
func (s *Service) save(c *change, extra []Job) error {
	if !c.dirty {
		return nil
	}
	c.inc.UpdatedAt = c.now
	if err := c.tx.UpdateIncident(c.inc); err != nil {
		return err
	}
	if !c.inc.WarRoom {
		if c.inc.Storm == "" || c.lastEvent == 0 {
			// A child's storm is told of its events (joined, an alert
			// resolved, resolved), as a war room is: not of every value
			// a storm's alerts bring, which would make every writer
			// enqueue the one update of the storm.
			return nil
		}
		for _, j := range stormJobs(c) {
			if _, err := c.tx.Enqueue(j); err != nil {
				return err
			}
		}
		return nil
	}
	jobs := extra
	if c.lastEvent != 0 {
		jobs = append(jobs, NewJob(JobSlackUpdate, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now))
	}
	if c.lastMajor != 0 {
		jobs = append(jobs, NewJob(JobJiraComment, c.inc.ID, JobArgs{EventID: c.lastMajor}, c.now))
	}
	for _, j := range jobs {
		if _, err := c.tx.Enqueue(j); err != nil {
			return err
		}
	}
	return nil
}

// change runs fn on the locked incident id in one transaction, then saves
// it and enqueues its update steps.
func (s *Service) change(ctx context.Context, id string, fn func(c *change) error) error {
	return s.update(ctx, id, func(tx Tx) error {
		inc, err := tx.LockIncident(id)
		if err != nil {
			return err
		}
		c := &change{tx: tx, inc: inc, now: s.opts.Now()}
		if err := fn(c); err != nil {
			return err
		}
		return s.save(c, nil)
	})
}

// oneLine folds a responder's text to one line of at most 200 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
