package incident

import (
	"context"
	"fmt"
)

// The steps a change of severity causes: the channel's topic and the
// ticket's priority show it (the summary follows through the update step
// of its event, the ticket's description through jira.update).
const (
	// JobSlackUpdateTopic sets the war room's topic again, after a change
	// it shows (the severity).
	JobSlackUpdateTopic JobKind = "slack.update_topic"
	// JobJiraSetPriority sets the ticket's priority to the one
	// jira.priorities maps the incident's severity to.
	JobJiraSetPriority JobKind = "jira.set_priority"
)

// EventSeverityChanged records a responder's change of severity; its
// text is "old → new".
const EventSeverityChanged EventKind = "severity_changed"

// SetSeverity sets an open incident's severity (a level of
// SeverityLevels): the timeline says who changed it from what, and a war
// room's topic, ticket priority and summary follow, each a step. Setting
// the severity it has changes nothing: changed is false, and no event or
// step is written.
func (s *Service) SetSeverity(ctx context.Context, id, actor string, sev Severity) (out *Incident, changed bool, err error) {
	if _, err := ParseSeverityLevel(string(sev)); err != nil {
		return nil, false, err
	}
	err = s.change(ctx, id, func(c *change) error {
		out = c.inc
		if !c.inc.State.Open() {
			return Errorf(ECONFLICT, "%s is resolved; its severity stays %s", c.inc.ID, c.inc.Severity)
		}
		if c.inc.Severity == sev {
			return nil
		}
		old := c.inc.Severity
		c.inc.Severity = sev
		changed = true
		if err := c.event(EventSeverityChanged, actor, fmt.Sprintf("%s → %s", old, sev)); err != nil {
			return err
		}
		if !c.inc.WarRoom {
			return nil // no channel, no ticket: the timeline is all
		}
		// The ticket's description names the severity too.
		for _, k := range []JobKind{JobSlackUpdateTopic, JobJiraSetPriority, JobJiraUpdate} {
			if _, err := c.tx.Enqueue(NewJob(k, c.inc.ID, JobArgs{EventID: c.lastEvent}, c.now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, changed, nil
}
