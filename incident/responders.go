package incident

import (
	"context"
	"fmt"
	"strings"
)

// Role is a responder's job in a war room.
type Role string

// The roles /warroom assign gives.
const (
	RoleCommander Role = "commander"
	RoleComms     Role = "comms"
	RoleScribe    Role = "scribe"
)

// ParseRole parses a role as responders type it.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleCommander, RoleComms, RoleScribe:
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown role %q (want commander, comms or scribe)", s)
}

// The timeline events of responders' other actions and of the steps'
// results.
const (
	EventDeclared          EventKind = "declared"
	EventAssigned          EventKind = "assigned"
	EventRollbackRequested EventKind = "rollback_requested"
	EventSilenceRequested  EventKind = "silence_requested"
	EventStep              EventKind = "step" // a side effect done: channel created, ticket filed
)

// Assign gives user a role on an open incident; the previous holder, if
// any, is named on the timeline.
func (s *Service) Assign(ctx context.Context, id, actor, user string, role Role) (*Incident, error) {
	if user == "" {
		return nil, Errorf(EINVALID, "assign needs a user")
	}
	var out *Incident
	err := s.change(ctx, id, func(c *change) error {
		if !c.inc.State.Open() {
			return Errorf(ECONFLICT, "%s is resolved", c.inc.ID)
		}
		slot := map[Role]*string{RoleCommander: &c.inc.Commander, RoleComms: &c.inc.Comms, RoleScribe: &c.inc.Scribe}[role]
		if slot == nil {
			return Errorf(EINVALID, "unknown role %q (want commander, comms or scribe)", role)
		}
		if *slot == user {
			return Errorf(ECONFLICT, "%s is already %s of %s", user, role, c.inc.ID)
		}
		text := fmt.Sprintf("%s is now %s (assigned by %s)", user, role, actor)
		if *slot != "" {
			text += fmt.Sprintf("; was %s", *slot)
		}
		*slot = user
		out = c.inc
		return c.event(EventAssigned, actor, text)
	})
	return out, err
}

// Request records a responder's request (a rollback, a silence) on the
// timeline, with the steps that carry it out, keyed by the event.
func (s *Service) Request(ctx context.Context, id, actor string, kind EventKind, text string, steps ...JobKind) (*Event, error) {
	var ev *Event
	err := s.change(ctx, id, func(c *change) error {
		if err := c.event(kind, actor, text); err != nil {
			return err
		}
		ev = &Event{ID: c.lastEvent, IncidentID: c.inc.ID, At: c.now, Kind: kind, Actor: actor, Text: text}
		for _, k := range steps {
			if _, err := c.tx.Enqueue(NewJob(k, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now)); err != nil {
				return err
			}
		}
		return nil
	})
	return ev, err
}

// DeclaredKey is the incident key of a war room declared by hand for a
// service: alerts never attach to it, and a service has one such open at a
// time.
func DeclaredKey(service string) string { return "declared/service=" + service }

// Declare opens a war room by hand, with no alert behind it.
func (s *Service) Declare(ctx context.Context, service, env, summary, actor string) (*Incident, error) {
	service = strings.TrimSpace(service)
	if service == "" || strings.ContainsAny(service, " \t\n") {
		return nil, Errorf(EINVALID, "declare needs a service name without spaces")
	}
	if strings.TrimSpace(summary) == "" {
		return nil, Errorf(EINVALID, "declare needs a summary")
	}
	key := DeclaredKey(service)
	var out *Incident
	err := s.update(ctx, key, func(tx Tx) error {
		if open, err := tx.LockOpenIncident(key); err != nil {
			return err
		} else if open != nil {
			return Errorf(ECONFLICT, "%s is already open for %s (declared by hand)", open.ID, service)
		}
		now := s.opts.Now()
		seq, err := tx.NextSeq("incident")
		if err != nil {
			return err
		}
		inc := &Incident{ID: FormatID(seq), Seq: seq, Kind: KindIncident, Key: key, Service: service, Env: env, Rule: "declared",
			Severity: Critical, State: Triggered, Title: oneLine(summary), OpenedAt: now, UpdatedAt: now, Commander: actor}
		if err := tx.InsertIncident(inc); err != nil {
			return err
		}
		c := &change{tx: tx, inc: inc, now: now}
		if err := c.event(EventDeclared, actor, "declared by "+actor+": "+inc.Title); err != nil {
			return err
		}
		if err := s.startWarRoom(c, false); err != nil {
			return err
		}
		out = inc
		// The opening steps render the incident as it is: no update step
		// and no Jira comment for the opening itself.
		return tx.UpdateIncident(inc)
	})
	return out, err
}

// Ack acknowledges an open incident.
func (s *Service) Ack(ctx context.Context, id, actor string) (*Incident, error) {
	return s.transition(ctx, id, actor, Acknowledged, "")
}

// Mitigate marks an incident mitigated: the bleeding stopped, the cause may not be fixed.
func (s *Service) Mitigate(ctx context.Context, id, actor string) (*Incident, error) {
	return s.transition(ctx, id, actor, Mitigated, "")
}

// Resolve closes an incident, with an optional summary.
func (s *Service) Resolve(ctx context.Context, id, actor, summary string) (*Incident, error) {
	return s.transition(ctx, id, actor, Resolved, summary)
}

func (s *Service) transition(ctx context.Context, id, actor string, to State, text string) (*Incident, error) {
	var out *Incident
	var timings []Timing
	err := s.update(ctx, id, func(tx Tx) error {
		tx = timed(tx, &timings)
		inc, err := tx.LockIncident(id)
		if err != nil {
			return err
		}
		if inc.State == to {
			return Errorf(ECONFLICT, "%s is already %s", inc.ID, to)
		}
		if inc.State.rank() > to.rank() {
			return Errorf(ECONFLICT, "%s is %s; it cannot become %s", inc.ID, inc.State, to)
		}
		now := s.opts.Now()
		c := &change{tx: tx, inc: inc, now: now}
		if to == Resolved {
			msg := "resolved by " + actor
			if text != "" {
				msg += ": " + text
			}
			if err := s.resolve(c, actor, msg); err != nil {
				return err
			}
			out = inc
			return nil
		}
		unacked := inc.AcknowledgedAt == nil
		if unacked && inc.MitigatedAt == nil {
			noteTiming(c, Acknowledged)
		}
		inc.State = to
		at := now
		kind := EventAcknowledged
		if to == Acknowledged {
			inc.AcknowledgedAt = &at
		} else {
			inc.MitigatedAt = &at
			kind = EventMitigated
		}
		if err := c.event(kind, actor, string(to)+" by "+actor); err != nil {
			return err
		}
		out = inc
		var extra []Job
		if unacked && inc.WarRoom {
			// Acknowledged, or mitigated without an acknowledge first:
			// someone is on it. A no-op unless the incident was paged
			// (the step looks).
			extra = append(extra, NewJob(JobPageAcknowledge, inc.ID, JobArgs{EventID: c.lastEvent}, now))
		}
		return s.save(c, extra)
	})
	if err == nil {
		s.reportTimings(timings)
	}
	return out, err
}

// Note adds a responder's note to the timeline.
func (s *Service) Note(ctx context.Context, id, actor, text string, forJira bool) (*Event, error) {
	if text == "" {
		return nil, Errorf(EINVALID, "a note needs text")
	}
	var ev *Event
	err := s.update(ctx, id, func(tx Tx) error {
		inc, err := tx.IncidentByID(id)
		if err != nil {
			return err
		}
		c := &change{tx: tx, inc: inc, now: s.opts.Now()}
		if err := c.event(EventNote, actor, text); err != nil {
			return err
		}
		if forJira {
			c.lastMajor = c.lastEvent // marked for Jira: a comment on the ticket
		}
		ev = &Event{ID: c.lastEvent, IncidentID: inc.ID, At: c.now, Kind: EventNote, Actor: actor, Text: text}
		return s.save(c, nil)
	})
	return ev, err
}
