package incident

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Kind says what an incident is.
type Kind string

// The kinds of incident.
const (
	// KindIncident is one problem: an alert's key, or a war room declared
	// by hand.
	KindIncident Kind = "incident"
	// KindStorm is the war room of a storm: many war rooms opening at once
	// (a shared dependency failing). The incidents that would open war
	// rooms during it become its children instead.
	KindStorm Kind = "storm"
)

// Storm says when many war rooms at once become one (docs/DECISIONS.md,
// D18).
type Storm struct {
	// Threshold: when this many war rooms have opened within Window, the
	// next one that would open declares a storm instead. 0: never.
	Threshold int
	Window    time.Duration
}

// The timeline events of storms.
const (
	// EventJoinedStorm is on a child's timeline: it joined a storm
	// instead of opening a war room of its own.
	EventJoinedStorm EventKind = "joined_storm"
	// EventLeftStorm is on a child's timeline: its storm resolved while
	// it was open, so it stands alone again.
	EventLeftStorm EventKind = "left_storm"
)

// StormService is the service name of storms, which their channel names
// carry (#inc-<date>-storm-<n>).
const StormService = "storm"

// StormKey is the incident key of a storm: no alert has it.
func StormKey(id string) string { return "storm/" + id }

// IsStorm reports whether the incident is a storm.
func (inc *Incident) IsStorm() bool { return inc.Kind == KindStorm }

// stormFor returns the open storm that a war room about to open joins
// instead, declaring one when Threshold war rooms have opened within the
// window; nil when the war room opens as usual. Both looks take the
// war-room lock: the storm a replica sees is the one every replica sees.
func (s *Service) stormFor(tx Tx, budget *warRoomBudget, now time.Time) (*Incident, error) {
	st := s.opts.Storm
	if st.Threshold <= 0 {
		return nil, nil
	}
	if budget.storm != nil {
		return budget.storm, nil // found or declared by this delivery
	}
	storm, err := tx.OpenStorm()
	if err != nil || storm != nil {
		budget.storm = storm
		return storm, err
	}
	rooms, err := tx.WarRoomStarts(now.Add(-st.Window))
	if err != nil || len(rooms) < st.Threshold {
		return nil, err
	}
	budget.storm, err = s.declareStorm(tx, rooms, now)
	return budget.storm, err
}

// declareStorm opens the war room of a storm, linking the war rooms that
// opened within the window before it.
func (s *Service) declareStorm(tx Tx, rooms []string, now time.Time) (*Incident, error) {
	seq, err := tx.NextSeq("incident")
	if err != nil {
		return nil, err
	}
	id := FormatID(seq)
	window := shortDuration(s.opts.Storm.Window)
	storm := &Incident{
		ID: id, Seq: seq, Kind: KindStorm, Key: StormKey(id), Service: StormService, Rule: StormService,
		Severity: Critical, State: Triggered, OpenedAt: now, UpdatedAt: now, Linked: rooms,
		Title: fmt.Sprintf("Storm: %d war rooms within %s, and more breaching", len(rooms), window),
	}
	if err := tx.InsertIncident(storm); err != nil {
		return nil, err
	}
	c := &change{tx: tx, inc: storm, now: now}
	text := fmt.Sprintf("storm declared: %d war rooms opened within %s (%s); the war rooms that would open next join this one",
		len(rooms), window, strings.Join(rooms, ", "))
	if err := c.event(EventOpened, ActorSystem, text); err != nil {
		return nil, err
	}
	if err := s.startWarRoom(c, false); err != nil {
		return nil, err
	}
	return storm, tx.UpdateIncident(storm)
}

// joinStorm makes c.inc, about to become a war room, a child of the open
// storm instead, and reports whether it did. A child stays one without a
// look: its storm resolves only once no child is open, or, when a
// responder resolved it, resolves its open children (storm.settle); a
// child reopening has looked already (leaveOverStorm).
func (s *Service) joinStorm(c *change, a *Alert, dec Decision, budget *warRoomBudget) (bool, error) {
	if c.inc.Storm != "" {
		return true, nil
	}
	storm, err := s.stormFor(c.tx, budget, c.now)
	if err != nil || storm == nil {
		return false, err
	}
	// The rule that would have opened its war room names it, as
	// escalating names a war room (the storm's line shows its threshold).
	takeRule(c.inc, a, dec)
	return true, s.adopt(c, storm, a, dec)
}

// leaveOverStorm looks, under the war-room lock, whether the storm of
// c.inc, a child reopening, is still open; when it is over, the child
// leaves it (left_storm) and stands alone. Every reopened child looks,
// whatever its alert's rule decided: one reopened below its war-room
// rule and left in a resolved storm would, once it breached, stay with
// its storm without a look, and have no war room anywhere.
func (s *Service) leaveOverStorm(c *change, budget *warRoomBudget) error {
	open, err := c.tx.OpenStorm()
	if err != nil {
		return err
	}
	budget.storm = open
	if open != nil && open.ID == c.inc.Storm {
		return nil
	}
	if err := c.event(EventLeftStorm, ActorSystem, "left storm "+c.inc.Storm+", which has resolved"); err != nil {
		return err
	}
	c.inc.Storm = ""
	return nil
}

// adopt makes c.inc a child of storm: no channel, no ticket; its
// evidence is gathered for the storm's summary, and a rule that pages
// pages the storm (once: the page is keyed by the storm).
func (s *Service) adopt(c *change, storm *Incident, a *Alert, dec Decision) error {
	c.inc.Storm = storm.ID
	if err := c.event(EventJoinedStorm, ActorAlert, "joined storm "+storm.ID+" by rule "+dec.Rule+": "+describe(a, dec)); err != nil {
		return err
	}
	if _, err := c.tx.Enqueue(NewJob(JobCorrelateGather, c.inc.ID, JobArgs{}, c.now)); err != nil {
		return err
	}
	if dec.Page {
		if _, err := c.tx.Enqueue(NewJob(JobPageTrigger, storm.ID, JobArgs{}, c.now)); err != nil {
			return err
		}
	}
	return nil
}

// stormJobs are what a change to a storm's child enqueues for the storm:
// its summary shows the child, its ticket's description lists the
// children (after a change of membership or state: a major event; new
// evidence tells both through RecordEvidence's steps), and once a child
// resolves the storm looks whether it is over.
func stormJobs(c *change) []Job {
	id := c.inc.Storm
	jobs := []Job{NewJob(JobSlackUpdate, id, JobArgs{}, c.now)}
	if c.lastMajor != 0 {
		jobs = append(jobs, NewJob(JobJiraUpdate, id, JobArgs{}, c.now))
	}
	if c.inc.State == Resolved {
		jobs = append(jobs, NewJob(JobStormSettle, id, JobArgs{}, c.now))
	}
	return jobs
}

// JobStormSettle looks whether a storm is over: resolved once its last
// child resolves; when a responder resolved it, its open children
// resolve with it. Run by the domain (Service.Storms).
const JobStormSettle JobKind = "storm.settle"

// StormKinds are the steps Storms runs.
func StormKinds() []JobKind { return []JobKind{JobStormSettle} }

// Storms returns the executor of the storm steps.
func (s *Service) Storms() Executor { return stormExecutor{s} }

type stormExecutor struct{ s *Service }

func (x stormExecutor) Execute(ctx context.Context, j Job) error {
	if j.Kind != JobStormSettle {
		return Permanent(fmt.Errorf("no storm step %s", j.Kind))
	}
	return x.s.settleStorm(ctx, j.IncidentID)
}

// settleStorm resolves the storm id when none of its children is open,
// or, when it was resolved by a responder, resolves its open children.
// It counts them under the war-room lock, so that no child joins between
// the count and the resolve.
func (s *Service) settleStorm(ctx context.Context, id string) error {
	var release []string
	var timings []Timing
	err := s.stepUpdate(ctx, id, func(tx Tx) error {
		tx = timed(tx, &timings)
		release = nil
		storm, err := tx.LockIncident(id)
		if err != nil || !storm.IsStorm() {
			return err
		}
		open, total, err := tx.StormChildren(id)
		if err != nil {
			return err
		}
		if !storm.State.Open() {
			release = open
			return nil
		}
		if total == 0 || len(open) > 0 {
			return nil
		}
		c := &change{tx: tx, inc: storm, now: s.opts.Now()}
		text := fmt.Sprintf("all %d incidents of the storm resolved", total)
		if total == 1 {
			text = "its one incident resolved"
		}
		return s.resolve(c, ActorSystem, text)
	})
	if ErrorCode(err) == ENOTFOUND {
		return Permanent(err)
	}
	if err != nil {
		return err
	}
	s.reportTimings(timings)
	for _, child := range release {
		_, err := s.transition(ctx, child, ActorSystem, Resolved, "with its storm "+id)
		if err != nil && ErrorCode(err) != ECONFLICT {
			return err
		}
	}
	return nil
}
