package incident

import (
	"context"
)

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
	var queued int
	err := s.store.Update(ctx, id, func(tx Tx) error {
		tx = countJobs(tx, &queued)
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
		return s.save(c, nil)
	})
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return out, err
}

// Note adds a responder's note to the timeline.
func (s *Service) Note(ctx context.Context, id, actor, text string, forJira bool) (*Event, error) {
	if text == "" {
		return nil, Errorf(EINVALID, "a note needs text")
	}
	var ev *Event
	var queued int
	err := s.store.Update(ctx, id, func(tx Tx) error {
		tx = countJobs(tx, &queued)
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
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return ev, err
}
