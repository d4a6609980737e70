package jiraticket

import (
	"context"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// postmortem attaches the postmortem's draft to the ticket, named for the
// resolve event the step is keyed by; a run that may be a repeat looks
// for an attachment of that name first (the attachments are read
// from the issue itself, not a search: no index to wait for).
func (x *Executor) postmortem(ctx context.Context, inc *incident.Incident, j incident.Job, eventID int64) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraPostmortem)
	}
	f, err := x.d.PostmortemFacts(ctx, inc)
	if err != nil {
		return err
	}
	if !steps.PostmortemDue(inc, f.Timeline, eventID) {
		return nil // reopened since: its next resolve attaches its own
	}
	c := x.p.AttachPostmortem(inc, f, eventID)
	a, _ := c.Args.(steps.JiraAttach)
	if !j.FirstRun() {
		have, err := x.client.Attachments(ctx, inc.JiraKey)
		if err != nil {
			return err
		}
		for _, h := range have {
			if h.Filename == a.Filename {
				return x.attachedPostmortem(ctx, inc, a.Filename, "found (attached by an earlier run)")
			}
		}
	}
	if _, err := x.send(ctx, c); err != nil {
		return err
	}
	return x.attachedPostmortem(ctx, inc, a.Filename, "attached")
}

// attachedPostmortem puts on the timeline that the draft is on the ticket.
func (x *Executor) attachedPostmortem(ctx context.Context, inc *incident.Incident, name, how string) error {
	_, err := x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) {
		return "postmortem draft " + name + " " + how + " on " + inc.JiraKey, nil
	})
	return err
}
