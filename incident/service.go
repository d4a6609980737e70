package incident

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Options tune a Service. Zero values take the defaults of DESIGN.md.
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

// Outcome is what ingesting one alert did.
type Outcome string

// The outcomes of ingesting an alert.
const (
	OutcomeOpened    Outcome = "opened"    // a new war room
	OutcomeRecorded  Outcome = "recorded"  // stored on a recorded incident (new or existing)
	OutcomeAttached  Outcome = "attached"  // a new alert on an open war room
	OutcomeEscalated Outcome = "escalated" // a recorded incident became a war room
	OutcomeReopened  Outcome = "reopened"  // a resolved incident opened again
	OutcomeUpdated   Outcome = "updated"   // a known alert changed (value, refire)
	OutcomeResolved  Outcome = "resolved"  // the alert resolved; its incident may have too
	OutcomeUnchanged Outcome = "unchanged" // a repeat delivery: nothing changed
	OutcomeIgnored   Outcome = "ignored"
)

// AlertResult reports what happened to one alert of a delivery.
type AlertResult struct {
	Fingerprint string  `json:"fingerprint"`
	Decision    Action  `json:"decision"`
	Rule        string  `json:"rule"`
	Reason      string  `json:"reason,omitempty"`
	Incident    string  `json:"incident,omitempty"`
	Outcome     Outcome `json:"outcome"`
	// Withheld says why the war room the decision asked for was not
	// opened (a cap on new war rooms); the incident is recorded instead.
	Withheld string `json:"withheld,omitempty"`
}

// IngestResult reports what a delivery did.
type IngestResult struct {
	Alerts []AlertResult `json:"alerts"`
	// ResolvedIncidents lists incidents that this delivery resolved.
	ResolvedIncidents []string `json:"resolved_incidents,omitempty"`
}

// Incidents returns the IDs of incidents whose alerts had the outcome, once each.
func (r *IngestResult) Incidents(o Outcome) []string {
	var ids []string
	for _, a := range r.Alerts {
		if a.Outcome == o && a.Incident != "" && !slices.Contains(ids, a.Incident) {
			ids = append(ids, a.Incident)
		}
	}
	return ids
}

// MaxTruncatedAlerts bounds the truncatedAlerts count a delivery may claim;
// a larger claim is stored as this many. Alertmanager truncates beyond a
// receiver's max_alerts, so a real count is the group's size, far below.
const MaxTruncatedAlerts = 1_000_000

// Ingest decides on a delivery's alerts and applies the decisions in one
// transaction: nothing of it is stored unless all of it is.
func (s *Service) Ingest(ctx context.Context, d *Delivery) (*IngestResult, error) {
	// truncatedAlerts comes from the sender unchecked: bound it, so that
	// the war room never claims 9223372036854775807 more alerts.
	d.TruncatedAlerts = min(max(d.TruncatedAlerts, 0), MaxTruncatedAlerts)
	decisions := s.rules.Evaluate(d.Alerts)
	if len(decisions) != len(d.Alerts) {
		return nil, fmt.Errorf("ingest: rules gave %d decisions for %d alerts", len(decisions), len(d.Alerts))
	}
	var res *IngestResult
	var queued int
	route := ""
	if len(decisions) > 0 {
		route = decisions[0].Key // Alertmanager groups are one key as a rule
	}
	err := s.store.Update(ctx, route, func(tx Tx) error {
		tx = countJobs(tx, &queued)
		res = &IngestResult{}
		now := s.opts.Now()
		if err := tx.RecordDelivery(d); err != nil {
			return fmt.Errorf("ingest: record delivery: %w", err)
		}
		att := &attachments{}
		budget := &warRoomBudget{}
		for i := range d.Alerts {
			a := d.Alerts[i]
			a.Value = decisions[i].Value
			r, resolved, err := s.ingestAlert(tx, &a, decisions[i], d.TruncatedAlerts, now, att, budget)
			if err != nil {
				return fmt.Errorf("ingest: alert %s: %w", a.Fingerprint, err)
			}
			res.Alerts = append(res.Alerts, r)
			if resolved != "" {
				res.ResolvedIncidents = append(res.ResolvedIncidents, resolved)
			}
		}
		return att.record(tx, now)
	})
	if err != nil {
		return nil, err
	}
	if queued > 0 {
		s.opts.AfterCommit()
	}
	return res, nil
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

func (s *Service) ingestAlert(tx Tx, a *Alert, dec Decision, truncated int, now time.Time, att *attachments, budget *warRoomBudget) (AlertResult, string, error) {
	res := AlertResult{Fingerprint: a.Fingerprint, Decision: dec.Action, Rule: dec.Rule, Reason: dec.Reason, Outcome: OutcomeIgnored}
	if dec.Action == ActionIgnore {
		return res, "", nil
	}
	inc, err := tx.LockOpenIncident(dec.Key)
	if err != nil {
		return res, "", err
	}

	if a.Status == AlertResolved || dec.Action == ActionResolve {
		return s.resolveAlert(tx, inc, a, res, now)
	}

	c := &change{tx: tx, inc: inc, now: now}
	warRoom := dec.Action == ActionWarRoom
	switch {
	case inc == nil:
		last, err := tx.LastResolved(dec.Key)
		if err != nil {
			return res, "", err
		}
		if last != nil && last.ResolvedAt != nil && now.Sub(*last.ResolvedAt) <= s.opts.ReopenWindow {
			c.inc = last
			if err := s.reopen(c, ActorAlert, "fired again "+describe(a, dec)); err != nil {
				return res, "", err
			}
			res.Outcome = OutcomeReopened
		} else {
			if warRoom {
				if res.Withheld, err = s.withhold(tx, budget, now); err != nil {
					return res, "", err
				}
				if res.Withheld != "" {
					warRoom, dec.Action = false, ActionRecord
				}
			}
			if c.inc, err = s.open(tx, a, dec, now); err != nil {
				return res, "", err
			}
			res.Outcome = OutcomeRecorded
			if warRoom {
				res.Outcome = OutcomeOpened
			}
		}
	case warRoom && !inc.WarRoom:
		res.Outcome = OutcomeEscalated
	}
	res.Incident = c.inc.ID

	told := false
	if why, ok := budget.withheld[c.inc.ID]; ok && warRoom && !c.inc.WarRoom {
		// Another alert of this delivery was withheld the same war room:
		// its timeline says so once.
		res.Withheld, told = why, true
	} else if why, ok := s.withheld.recent(c.inc.ID, now); ok && warRoom && !c.inc.WarRoom && res.Withheld == "" {
		// Withheld moments ago: the caps are not counted again for every
		// alert of a storm, and the timeline said it already.
		res.Withheld, told = why, true
	} else if warRoom && !c.inc.WarRoom && res.Withheld == "" {
		if res.Withheld, err = s.withhold(tx, budget, now); err != nil {
			return res, "", err
		}
	}
	if res.Withheld != "" && res.Outcome == OutcomeEscalated {
		res.Outcome = OutcomeIgnored // what attach did says it
	}
	if res.Withheld != "" && !told {
		if err := c.event(EventWithheld, ActorSystem, res.Withheld); err != nil {
			return res, "", err
		}
		budget.withhold(c.inc.ID, res.Withheld)
		s.withheld.note(c.inc.ID, res.Withheld, now)
	} else if res.Withheld == "" && warRoom && !c.inc.WarRoom {
		if err := s.escalate(c, a, dec, describe(a, dec)); err != nil {
			return res, "", err
		}
	}

	attached, err := s.attach(c, a, res.Outcome == OutcomeOpened || res.Outcome == OutcomeRecorded && inc == nil, att)
	if err != nil {
		return res, "", err
	}
	if res.Outcome == OutcomeIgnored {
		res.Outcome = attached
		if attached == OutcomeAttached && !c.inc.WarRoom {
			res.Outcome = OutcomeRecorded
		}
	}
	if truncated > c.inc.TruncatedAlerts {
		c.inc.TruncatedAlerts = truncated
		c.dirty = true
	}
	return res, "", s.save(c, nil)
}

// open creates an incident for the alert's key, a war room or a recorded one.
func (s *Service) open(tx Tx, a *Alert, dec Decision, now time.Time) (*Incident, error) {
	seq, err := tx.NextSeq("incident")
	if err != nil {
		return nil, err
	}
	inc := &Incident{
		ID: FormatID(seq), Seq: seq, Key: dec.Key, Service: dec.Service, Env: dec.Env,
		Rule: dec.Rule, Severity: dec.Severity, State: Triggered, Title: title(a, dec),
		Threshold: dec.Threshold, OpenedAt: now, UpdatedAt: now,
	}
	if err := tx.InsertIncident(inc); err != nil {
		return nil, err
	}
	kind, verb := EventRecorded, "recorded"
	if dec.Action == ActionWarRoom {
		kind, verb = EventOpened, "opened"
	}
	text := fmt.Sprintf("%s by rule %s: %s", verb, dec.Rule, describe(a, dec))
	if err := tx.AppendEvent(&Event{IncidentID: inc.ID, At: now, Kind: kind, Actor: ActorAlert, Text: text}); err != nil {
		return nil, err
	}
	if dec.Action == ActionWarRoom {
		c := &change{tx: tx, inc: inc, now: now}
		if err := s.startWarRoom(c); err != nil {
			return nil, err
		}
		if err := tx.UpdateIncident(inc); err != nil {
			return nil, err
		}
	}
	return inc, nil
}

// startWarRoom reserves the channel name and enqueues the opening steps.
func (s *Service) startWarRoom(c *change) error {
	c.inc.WarRoom = true
	day := c.inc.OpenedAt.UTC().Format("20060102") // the day the name carries
	n, err := c.tx.NextSeq("channel/" + day + "/" + c.inc.Service)
	if err != nil {
		return err
	}
	c.inc.SlackChannel = s.opts.ChannelName(c.inc, n)
	if err := c.tx.NoteWarRoom(c.inc.ID, c.now); err != nil {
		return err
	}
	for _, k := range openSteps {
		if _, err := c.tx.Enqueue(NewJob(k, c.inc.ID, JobArgs{}, c.now)); err != nil {
			return err
		}
	}
	c.dirty = true
	return nil
}

func (s *Service) escalate(c *change, a *Alert, dec Decision, why string) error {
	c.inc.Rule, c.inc.Severity, c.inc.Threshold = dec.Rule, dec.Severity, dec.Threshold
	c.inc.Title = title(a, dec) // the alert that made it a war room names it
	if err := s.startWarRoom(c); err != nil {
		return err
	}
	return c.event(EventEscalated, ActorAlert, "war room opened by rule "+dec.Rule+": "+why)
}

func (s *Service) reopen(c *change, actor, why string) error {
	c.inc.State = Triggered
	c.inc.ResolvedAt, c.inc.AcknowledgedAt, c.inc.MitigatedAt = nil, nil, nil
	if err := c.event(EventReopened, actor, "reopened: "+why); err != nil {
		return err
	}
	if c.inc.WarRoom {
		_, err := c.tx.Enqueue(NewJob(JobJiraTransition, c.inc.ID, JobArgs{EventID: c.lastEvent, Target: Triggered}, c.now))
		return err
	}
	return nil
}

func (s *Service) resolveAlert(tx Tx, inc *Incident, a *Alert, res AlertResult, now time.Time) (AlertResult, string, error) {
	if inc == nil {
		return res, "", nil // nothing open holds it: a late or unknown resolve
	}
	old, err := tx.Alert(inc.ID, a.Fingerprint)
	if err != nil || old == nil {
		return res, "", err
	}
	res.Incident = inc.ID
	if old.Status == AlertResolved && sameAlert(old, a) {
		res.Outcome = OutcomeUnchanged
		return res, "", nil
	}
	a.Status = AlertResolved
	c := &change{tx: tx, inc: inc, now: now}
	if a.Value == nil {
		a.Value = old.Value
	} else {
		v := *a.Value // the latest value shows the recovery
		inc.Value = &v
	}
	if err := tx.PutAlert(inc.ID, a); err != nil {
		return res, "", err
	}
	if err := c.event(EventAlertResolved, ActorAlert, "alert resolved: "+alertText(a)); err != nil {
		return res, "", err
	}
	res.Outcome = OutcomeResolved
	firing, err := tx.FiringAlerts(inc.ID)
	if err != nil {
		return res, "", err
	}
	if firing > 0 {
		return res, "", s.save(c, nil)
	}
	if err := s.resolve(c, ActorAlert, "all alerts resolved"); err != nil {
		return res, "", err
	}
	return res, inc.ID, nil
}

// resolve moves c.inc to resolved and enqueues the closing steps.
func (s *Service) resolve(c *change, actor, text string) error {
	c.inc.State = Resolved
	at := c.now
	c.inc.ResolvedAt = &at
	if err := c.event(EventResolved, actor, text); err != nil {
		return err
	}
	var extra []Job
	if c.inc.WarRoom {
		extra = append(extra, NewJob(JobJiraTransition, c.inc.ID, JobArgs{EventID: c.lastEvent, Target: Resolved}, c.now))
		extra = append(extra, NewJob(JobExpireSilences, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now))
		if s.opts.ArchiveAfter > 0 {
			extra = append(extra, NewJob(JobSlackArchive, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now.Add(s.opts.ArchiveAfter)))
		}
	}
	return s.save(c, extra)
}

// save writes a changed incident and, for a war room, enqueues the update
// steps for its last event plus extra.
func (s *Service) save(c *change, extra []Job) error {
	if !c.dirty {
		return nil
	}
	c.inc.UpdatedAt = c.now
	if err := c.tx.UpdateIncident(c.inc); err != nil {
		return err
	}
	if !c.inc.WarRoom {
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
