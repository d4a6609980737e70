package jiraticket

import (
	"context"
	"errors"
	"fmt"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	ijira "github.com/warroom/warroom/integrations/jira"
)

// followup files the follow-up asked for by the event request as an
// issue linked to the incident's ticket, and records it on the timeline
// (incident.EventFollowupFiled), once. A run that may be a repeat
// searches the project for the follow-up's own label first, once
// jira.index_lag has passed since the earlier run began, and adopts what
// it finds; once the issue exists, a failure (of the link, of the record)
// spends the attempt, never snoozes, so that the next run searches
// instead of filing again.
func (x *Executor) followup(ctx context.Context, inc *incident.Incident, j incident.Job, request int64) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraFollowup)
	}
	tl, err := x.d.Store.TimelineSince(ctx, inc.ID, request-1)
	if err != nil {
		return err
	}
	ev, err := steps.Event(inc, tl, request)
	if err != nil {
		return err
	}
	if ev.Kind != incident.EventFollowup {
		return incident.Permanent(fmt.Errorf("event %d of %s is a %s, not a follow-up", request, inc.ID, ev.Kind))
	}
	var found []ijira.Ref
	if !j.FirstRun() {
		if wait := j.LastRunAt.Add(x.indexLag()).Sub(x.d.Now()); !j.LastRunAt.IsZero() && wait > 0 {
			return &incident.SnoozeError{Wait: wait, Err: errors.New("an earlier run may have filed the follow-up: waiting for Jira's search index")}
		}
		if found, err = x.client.FindByLabel(ctx, x.p.FollowupProject(inc), steps.FollowupLabel(inc, request)); err != nil {
			return err
		}
	}
	var key string
	if len(found) > 0 {
		key = found[0].Key
	} else if key, err = x.send(ctx, x.p.FileFollowup(inc, ev)); err != nil {
		if ijira.OutcomeUnknown(err) {
			return &unknownCreate{err}
		}
		return err
	}
	if err := x.linkOnce(ctx, key, inc.JiraKey); err != nil {
		return &filed{key, err}
	}
	if _, err := x.d.Service.FollowupFiled(ctx, inc.ID, ev, key); err != nil {
		return &filed{key, err}
	}
	return nil
}

// filed is a failure after a follow-up's issue was filed: the next run
// must not be a first run, which would file it again.
type filed struct {
	key string
	err error
}

func (e *filed) Error() string { return fmt.Sprintf("follow-up %s filed, then: %v", e.key, e.err) }
func (e *filed) Unwrap() error { return e.err }
