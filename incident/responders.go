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
	var queued int
	err := s.store.Update(ctx, key, func(tx Tx) error {
		tx = countJobs(tx, &queued)
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
		inc := &Incident{ID: FormatID(seq), Seq: seq, Key: key, Service: service, Env: env, Rule: "declared",
			Severity: Critical, State: Triggered, Title: oneLine(summary), OpenedAt: now, UpdatedAt: now, Commander: actor}
		if err := tx.InsertIncident(inc); err != nil {
			return err
		}
		c := &change{tx: tx, inc: inc, now: now}
		if err := c.event(EventDeclared, actor, "declared by "+actor+": "+inc.Title); err != nil {
			return err
		}
		if err := s.startWarRoom(c); err != nil {
			return err
		}
		out = inc
		// The opening steps render the incident as it is: no update step
		// and no Jira comment for the opening itself.
		return tx.UpdateIncident(inc)
	})
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return out, err
}

// RecordStep stores what a side-effect step made (a channel, a message,
// a ticket) on the incident: apply changes the incident and says, in a
// few words, what to put on the timeline ("" for nothing). It enqueues no
// step of its own, so that a step recording its result does not cause
// another run of itself.
func (s *Service) RecordStep(ctx context.Context, id string, apply func(inc *Incident) (string, error)) (*Incident, error) {
	return s.step(ctx, id, func(_ Tx, inc *Incident) (stepResult, error) {
		text, err := apply(inc)
		return stepResult{text: text}, err
	})
}

// stepResult is what a side-effect step made of an incident.
type stepResult struct {
	text  string    // the timeline event, "" for none
	steps []JobKind // queued for a war room, keyed by that event
	skip  bool      // nothing changed: nothing is written
}

// step changes the locked incident id as apply says, puts the change on
// the timeline as a step of warroom's, and queues the steps that show it.
func (s *Service) step(ctx context.Context, id string, apply func(tx Tx, inc *Incident) (stepResult, error)) (*Incident, error) {
	var out *Incident
	var queued int
	lease, leased := LeaseFrom(ctx)
	err := s.store.Update(ctx, id, func(tx Tx) error {
		if leased {
			// A run that lost its job's lease writes nothing: the claim
			// that holds the job now does the work.
			if err := tx.CheckLease(lease); err != nil {
				return err
			}
		}
		tx = countJobs(tx, &queued)
		inc, err := tx.LockIncident(id)
		if err != nil {
			return err
		}
		r, err := apply(tx, inc)
		if err != nil {
			return err
		}
		out = inc
		if r.skip {
			return nil
		}
		now := s.opts.Now()
		inc.UpdatedAt = now
		if r.text != "" {
			e := &Event{IncidentID: inc.ID, At: now, Kind: EventStep, Actor: ActorSystem, Text: r.text}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
			for _, k := range r.steps {
				if !inc.WarRoom {
					continue // a recorded incident has no war room to show it
				}
				if _, err := tx.Enqueue(NewJob(k, inc.ID, JobArgs{EventID: e.ID}, now)); err != nil {
					return err
				}
			}
		}
		return tx.UpdateIncident(inc)
	})
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return out, err
}

// RenameChannel reserves the next channel name of the incident's service
// and day, when the one reserved is taken by somebody else's channel.
func (s *Service) RenameChannel(ctx context.Context, id, why string) (*Incident, error) {
	return s.step(ctx, id, func(tx Tx, inc *Incident) (stepResult, error) {
		day := inc.OpenedAt.UTC().Format("20060102")
		n, err := tx.NextSeq("channel/" + day + "/" + inc.Service)
		if err != nil {
			return stepResult{}, err
		}
		old := inc.SlackChannel
		inc.SlackChannel = s.opts.ChannelName(inc, n)
		return stepResult{text: fmt.Sprintf("channel name #%s reserved instead of #%s: %s", inc.SlackChannel, old, why)}, nil
	})
}

// AttachTicket stores the incident's Jira key and has the war room show
// it: the update step edits the summary and adds the bookmark.
func (s *Service) AttachTicket(ctx context.Context, id, key, text string) (*Incident, error) {
	return s.step(ctx, id, func(_ Tx, inc *Incident) (stepResult, error) {
		if inc.JiraKey == key {
			return stepResult{skip: true}, nil
		}
		inc.JiraKey = key
		return stepResult{text: text, steps: []JobKind{JobSlackUpdate}}, nil
	})
}

// change runs fn on the locked incident id in one transaction, then saves
// it and enqueues its update steps.
func (s *Service) change(ctx context.Context, id string, fn func(c *change) error) error {
	var queued int
	err := s.store.Update(ctx, id, func(tx Tx) error {
		tx = countJobs(tx, &queued)
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
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return err
}

// oneLine folds a responder's text to one line of at most 200 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
