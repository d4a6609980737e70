package incident

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

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
	kind  EventKind // the event's kind; "" is EventStep
	steps []JobKind // queued for a war room, keyed by that event
	skip  bool      // nothing changed: nothing is written
}

// stepUpdate is update as a run of a step writes: under the job's lease
// when ctx carries one (a run that lost it writes nothing: the claim that
// holds the job now does the work).
func (s *Service) stepUpdate(ctx context.Context, id string, fn func(tx Tx) error) error {
	lease, leased := LeaseFrom(ctx)
	return s.update(ctx, id, func(tx Tx) error {
		if leased {
			if err := tx.CheckLease(lease); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// update runs fn in one transaction on key's writer (Store.Update), the
// jobs it enqueues counted (and given ctx's trace), and wakes the worker
// after the commit when there are any.
func (s *Service) update(ctx context.Context, key string, fn func(tx Tx) error) error {
	var queued int
	err := s.store.Update(ctx, key, func(tx Tx) error {
		return fn(countJobs(ctx, tx, &queued))
	})
	if err == nil && queued > 0 {
		s.opts.AfterCommit()
	}
	return err
}

// step changes the locked incident id as apply says, puts the change on
// the timeline as a step of warroom's, and queues the steps that show it.
func (s *Service) step(ctx context.Context, id string, apply func(tx Tx, inc *Incident) (stepResult, error)) (*Incident, error) {
	var out *Incident
	var readyAfter time.Duration // > 0: this change made the war room ready
	err := s.stepUpdate(ctx, id, func(tx Tx) error {
		readyAfter = 0
		inc, err := tx.LockIncident(id)
		if err != nil {
			return err
		}
		wasReady := s.opts.Ready.ready(inc)
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
		if !wasReady && s.opts.Ready.ready(inc) {
			readyAfter = max(now.Sub(inc.OpenedAt), time.Nanosecond)
		}
		if r.text != "" {
			e := &Event{IncidentID: inc.ID, At: now, Kind: cmp.Or(r.kind, EventStep), Actor: ActorSystem, Text: r.text}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
			for _, k := range r.steps {
				var j Job
				switch {
				case inc.WarRoom:
					j = NewJob(k, inc.ID, JobArgs{EventID: e.ID}, now)
				case inc.Storm != "":
					j = NewJob(k, inc.Storm, JobArgs{}, now) // a child shows in its storm's room
				default:
					continue // a recorded incident has no war room to show it
				}
				if _, err := tx.Enqueue(j); err != nil {
					return err
				}
			}
		}
		return tx.UpdateIncident(inc)
	})
	if err == nil && readyAfter > 0 && s.opts.WarRoomReady != nil {
		s.opts.WarRoomReady(readyAfter)
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

// RecordEvidence stores what correlation found and, for a war room, has
// the summary and the ticket show it.
func (s *Service) RecordEvidence(ctx context.Context, id string, ev *Evidence) (*Incident, error) {
	return s.step(ctx, id, func(tx Tx, inc *Incident) (stepResult, error) {
		if inc.Evidence != nil && inc.Evidence.Round > ev.Round {
			return stepResult{skip: true}, nil // a later round is stored already
		}
		// The first summary and the ticket may be waiting for it, while
		// the evidence step itself goes on asking slower sources.
		if _, err := tx.WakeJobs(inc.ID, JobCorrelateGather, s.opts.Now()); err != nil {
			return stepResult{}, err
		}
		inc.Evidence = ev
		if inc.Value == nil {
			// The alert carried no number: Prometheus's is the value.
			now := s.opts.Now()
			for i, v := range []*float64{ev.ValueAtOpen, ev.ValueNow} {
				if v == nil {
					continue
				}
				x, at := *v, now
				if i == 0 && inc.OpenedAt.Before(now) {
					at = inc.OpenedAt // the value when it opened is a point of then
				}
				if inc.PeakValue == nil || x > *inc.PeakValue {
					p := x
					inc.PeakValue = &p
				}
				if err := setValue(tx, inc, x, at); err != nil {
					return stepResult{}, err
				}
			}
		}
		inc.SuspectDeploy = ""
		if ev.Suspect != nil {
			inc.SuspectDeploy = ev.Suspect.SHA
		}
		return stepResult{text: ev.summary(), steps: []JobKind{JobSlackUpdate, JobJiraUpdate}}, nil
	})
}
