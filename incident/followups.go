package incident

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JobJiraFollowup files a follow-up (an EventFollowup, the job's event)
// as a Jira issue linked to the incident's ticket, then records
// EventFollowupFiled.
const JobJiraFollowup JobKind = "jira.followup"

// MaxFollowupText bounds a follow-up's text, in characters: it is the
// summary of a Jira issue (at most 255), after the incident's ID.
const MaxFollowupText = 200

// CleanFollowupText is a follow-up's text as it is stored and filed:
// its whitespace, line breaks included, folded to single spaces (it is an
// issue's one-line summary). Empty text, text over MaxFollowupText
// characters and control characters are EINVALID, each with its reason.
func CleanFollowupText(text string) (string, error) {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return "", Errorf(EINVALID, "a follow-up needs text")
	}
	if n := utf8.RuneCountInString(text); n > MaxFollowupText {
		return "", Errorf(EINVALID, "a follow-up is at most %d characters (this one has %d): it becomes the summary of a Jira issue; put the detail in a note",
			MaxFollowupText, n)
	}
	if i := strings.IndexFunc(text, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(text[i:])
		return "", Errorf(EINVALID, "a follow-up cannot hold the control character %U", r)
	}
	return text, nil
}

// Followup records a responder's follow-up on an incident, open or
// resolved: an EventFollowup with the text, and the step that files it as
// a Jira issue linked to the incident's ticket (JobJiraFollowup, keyed by
// the event), in one transaction. Only a war room has a ticket to link
// to: a storm's child is told to ask its storm, a recorded incident that
// it has none (ECONFLICT).
func (s *Service) Followup(ctx context.Context, id, actor, text string) (*Event, error) {
	text, err := CleanFollowupText(text)
	if err != nil {
		return nil, err
	}
	var ev *Event
	err = s.change(ctx, id, func(c *change) error {
		switch {
		case c.inc.WarRoom:
		case c.inc.Storm != "":
			return Errorf(ECONFLICT, "%s is part of the storm %s, whose ticket is the one to link to: ask for the follow-up on %s",
				c.inc.ID, c.inc.Storm, c.inc.Storm)
		default:
			return Errorf(ECONFLICT, "%s has no war room, so no Jira ticket to link a follow-up to", c.inc.ID)
		}
		if err := c.event(EventFollowup, actor, text); err != nil {
			return err
		}
		ev = &Event{ID: c.lastEvent, IncidentID: c.inc.ID, At: c.now, Kind: EventFollowup, Actor: actor, Text: text}
		_, err := c.tx.Enqueue(NewJob(JobJiraFollowup, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// FollowupFiled records that the follow-up request (an EventFollowup of
// incident id) was filed as the Jira issue key: an EventFollowupFiled by
// warroom, with FollowupFiledText, and the war room's update that shows
// it. It writes it once: when the timeline after the request holds that
// event already (an earlier run of the step recorded it, then died before
// its outcome did), it writes nothing and reports false.
func (s *Service) FollowupFiled(ctx context.Context, id string, request Event, key string) (bool, error) {
	if request.Kind != EventFollowup || key == "" {
		return false, Errorf(EINVALID, "event %d of %s is a %s, not a follow-up filed as %q", request.ID, id, request.Kind, key)
	}
	text := FollowupFiledText(key, request.Text)
	// A repeat that finds the event has a lease to check, not a race to
	// lose: two runs of one job cannot both write (CheckLease).
	tl, err := s.store.TimelineSince(ctx, id, request.ID)
	if err != nil {
		return false, err
	}
	for _, e := range tl {
		if e.Kind == EventFollowupFiled && e.Text == text {
			return false, nil
		}
	}
	_, err = s.step(ctx, id, func(Tx, *Incident) (stepResult, error) {
		return stepResult{kind: EventFollowupFiled, text: text, steps: []JobKind{JobSlackUpdate}}, nil
	})
	if err != nil {
		return false, fmt.Errorf("record follow-up %s of %s: %w", key, id, err)
	}
	return true, nil
}
