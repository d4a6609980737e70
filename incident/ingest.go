package incident

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Outcome is what ingesting one alert did.
type Outcome string

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
	// WithheldNow says this alert's delivery recorded the withholding on
	// the incident's timeline; alerts withheld again within the recheck
	// window (a storm's) report Withheld without it, so that the log says
	// it once, as the timeline does.
	WithheldNow bool `json:"-"`
	// Storm is the storm whose child holds the alert.
	Storm string `json:"storm,omitempty"`
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
// transaction: nothing of it is stored unless all of it is. With a
// Tracer, it is a span, and the jobs it enqueues carry its trace.
func (s *Service) Ingest(ctx context.Context, d *Delivery) (*IngestResult, error) {
	if s.opts.Tracer == nil {
		return s.ingest(ctx, d)
	}
	ctx, span := s.opts.Tracer.Start(ctx, "incident.Ingest", trace.WithAttributes(
		attribute.String("warroom.source", string(d.Source)), attribute.Int("warroom.alerts", len(d.Alerts))))
	defer span.End()
	res, err := s.ingest(ctx, d)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	return res, nil
}

func (s *Service) ingest(ctx context.Context, d *Delivery) (*IngestResult, error) {
	// truncatedAlerts comes from the sender unchecked: bound it, so that
	// the war room never claims 9223372036854775807 more alerts.
	d.TruncatedAlerts = min(max(d.TruncatedAlerts, 0), MaxTruncatedAlerts)
	decisions := s.rules.Evaluate(d.Alerts)
	if len(decisions) != len(d.Alerts) {
		return nil, fmt.Errorf("ingest: rules gave %d decisions for %d alerts", len(decisions), len(d.Alerts))
	}
	var res *IngestResult
	var timings []Timing
	route := ""
	if len(decisions) > 0 {
		route = decisions[0].Key // Alertmanager groups are one key as a rule
	}
	err := s.update(ctx, route, func(tx Tx) error {
		tx = timed(tx, &timings)
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
	s.reportTimings(timings)
	return res, nil
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
		return s.resolveAlert(tx, inc, a, dec.Below, res, now)
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
			// The value was the recovery's: the alerts firing again set it.
			c.inc.Value = nil
			if err := s.reopen(c, ActorAlert, "fired again "+describe(a, dec)); err != nil {
				return res, "", err
			}
			res.Outcome = OutcomeReopened
		} else {
			var storm *Incident
			if warRoom {
				if storm, err = s.stormFor(tx, budget, now); err != nil {
					return res, "", err
				}
			}
			if warRoom && storm == nil {
				if res.Withheld, err = s.withhold(tx, budget, now); err != nil {
					return res, "", err
				}
				if res.Withheld != "" {
					warRoom, dec.Action = false, ActionRecord
				}
			}
			if c.inc, err = s.open(tx, a, dec, storm, now); err != nil {
				return res, "", err
			}
			switch {
			case storm != nil:
				warRoom, res.Outcome = false, OutcomeStorm
			case warRoom:
				res.Outcome = OutcomeOpened
			default:
				res.Outcome = OutcomeRecorded
			}
		}
	case warRoom && !inc.WarRoom:
		res.Outcome = OutcomeEscalated
	}
	res.Incident = c.inc.ID

	if res.Outcome == OutcomeReopened && c.inc.Storm != "" {
		// A child reopening, whatever its rule decided: its storm may be
		// over.
		if err := s.leaveOverStorm(c, budget); err != nil {
			return res, "", err
		}
	}
	if warRoom && !c.inc.WarRoom {
		// A war room would open (a recorded incident escalating, a child
		// reopening): during a storm, it joins the storm instead.
		joined, err := s.joinStorm(c, a, dec, budget)
		if err != nil {
			return res, "", err
		}
		if joined {
			warRoom = false
			if res.Outcome == OutcomeEscalated {
				res.Outcome = OutcomeIgnored // what attach did says it
			}
		}
	}
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
		res.WithheldNow = true
	} else if res.Withheld == "" && warRoom && !c.inc.WarRoom {
		if err := s.escalate(c, a, dec, describe(a, dec)); err != nil {
			return res, "", err
		}
	}

	opening := inc == nil && (res.Outcome == OutcomeOpened || res.Outcome == OutcomeRecorded || res.Outcome == OutcomeStorm)
	attached, err := s.attach(c, a, opening, dec.Below, att)
	if err != nil {
		return res, "", err
	}
	if res.Outcome == OutcomeIgnored {
		res.Outcome = attached
		switch {
		case attached == OutcomeAttached && c.inc.Storm != "":
			res.Outcome = OutcomeStorm
		case attached == OutcomeAttached && !c.inc.WarRoom:
			res.Outcome = OutcomeRecorded
		}
	}
	res.Storm = c.inc.Storm
	if truncated > c.inc.TruncatedAlerts {
		c.inc.TruncatedAlerts = truncated
		c.dirty = true
	}
	return res, "", s.save(c, nil)
}

// open creates an incident for the alert's key: a war room, a recorded
// one, or (storm set) a child of the storm.
func (s *Service) open(tx Tx, a *Alert, dec Decision, storm *Incident, now time.Time) (*Incident, error) {
	seq, err := tx.NextSeq("incident")
	if err != nil {
		return nil, err
	}
	inc := &Incident{
		ID: FormatID(seq), Seq: seq, Kind: KindIncident, Key: dec.Key, Service: dec.Service, Env: dec.Env,
		Rule: dec.Rule, Severity: dec.Severity, State: Triggered, Title: title(a, dec),
		Threshold: dec.Threshold, Unit: dec.Unit, OpenedAt: now, UpdatedAt: now,
	}
	if storm != nil {
		inc.Storm = storm.ID // written with the row: the storm's summary may read it first
	}
	if err := tx.InsertIncident(inc); err != nil {
		return nil, err
	}
	if storm != nil {
		c := &change{tx: tx, inc: inc, now: now}
		if err := s.adopt(c, storm, a, dec); err != nil {
			return nil, err
		}
		return inc, s.save(c, nil)
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
		if err := s.startWarRoom(c, dec.Page); err != nil {
			return nil, err
		}
		if err := tx.UpdateIncident(inc); err != nil {
			return nil, err
		}
	}
	return inc, nil
}

func (s *Service) escalate(c *change, a *Alert, dec Decision, why string) error {
	takeRule(c.inc, a, dec)
	if err := s.startWarRoom(c, dec.Page); err != nil {
		return err
	}
	return c.event(EventEscalated, ActorAlert, "war room opened by rule "+dec.Rule+": "+why)
}

// takeRule gives inc the rule that made it a war room (or its storm's
// child), and the title of the alert that did.
func takeRule(inc *Incident, a *Alert, dec Decision) {
	inc.Rule, inc.Severity, inc.Threshold, inc.Unit = dec.Rule, dec.Severity, dec.Threshold, dec.Unit
	inc.Title = title(a, dec)
}

func (s *Service) reopen(c *change, actor, why string) error {
	c.inc.State = Triggered
	c.inc.ResolvedAt, c.inc.AcknowledgedAt, c.inc.MitigatedAt = nil, nil, nil
	if err := c.event(EventReopened, actor, "reopened: "+why); err != nil {
		return err
	}
	if !c.inc.WarRoom {
		return nil
	}
	if _, err := c.tx.Enqueue(NewJob(JobJiraTransition, c.inc.ID, JobArgs{EventID: c.lastEvent, Target: Triggered}, c.now)); err != nil {
		return err
	}
	// Reopened, it needs acknowledging again: a reminder of its own,
	// keyed by the reopening (its nudge pages anew, if paging is on).
	if ack := s.opts.Reminders.AckWithin; ack > 0 {
		_, err := c.tx.Enqueue(NewJob(JobRemindAck, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now.Add(ack)))
		return err
	}
	return nil
}

func (s *Service) resolveAlert(tx Tx, inc *Incident, a *Alert, below bool, res AlertResult, now time.Time) (AlertResult, string, error) {
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
	}
	if err := tx.PutAlert(inc.ID, a); err != nil {
		return res, "", err
	}
	if err := c.event(EventAlertResolved, ActorAlert, "alert resolved: "+alertText(a, inc.Unit)); err != nil {
		return res, "", err
	}
	res.Outcome = OutcomeResolved
	firing, err := tx.FiringAlerts(inc.ID)
	if err != nil {
		return res, "", err
	}
	if firing > 0 {
		// The value stays that of the worst alert still firing.
		if old.Status == AlertFiring && heldWorst(inc, old) {
			if err := refreshWorst(c, below); err != nil {
				return res, "", err
			}
		}
		return res, "", s.save(c, nil)
	}
	if a.Value != nil {
		// None fires: the last value shows the recovery.
		if err := setValue(tx, inc, *a.Value, now); err != nil {
			return res, "", err
		}
	}
	if err := s.resolve(c, ActorAlert, "all alerts resolved"); err != nil {
		return res, "", err
	}
	return res, inc.ID, nil
}

// The outcomes of ingesting an alert.
const (
	OutcomeOpened    Outcome = "opened"    // a new war room
	OutcomeRecorded  Outcome = "recorded"  // stored on a recorded incident (new or existing)
	OutcomeAttached  Outcome = "attached"  // a new alert on an open war room
	OutcomeEscalated Outcome = "escalated" // a recorded incident became a war room
	OutcomeReopened  Outcome = "reopened"  // a resolved incident opened again
	OutcomeStorm     Outcome = "storm"     // on a storm's child: no war room of its own
	OutcomeUpdated   Outcome = "updated"   // a known alert changed (value, refire)
	OutcomeResolved  Outcome = "resolved"  // the alert resolved; its incident may have too
	OutcomeUnchanged Outcome = "unchanged" // a repeat delivery: nothing changed
	OutcomeIgnored   Outcome = "ignored"
)
