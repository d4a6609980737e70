package steps

import (
	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
	ijira "github.com/warroom/warroom/integrations/jira"
)

// TicketLabel is the label that finds an incident's ticket.
func TicketLabel(inc *incident.Incident) string { return jirawiki.Label("warroom-" + inc.ID) }

// TicketKind is the project, issue type and priority of an incident's
// ticket: the rule's override, else the jira section's.
func (p Planner) TicketKind(inc *incident.Incident) (project, issueType, priority string) {
	project, issueType = p.Jira.Project, p.Jira.IssueType
	priority = p.Jira.Priorities[string(inc.Severity)]
	if r, ok := p.Rules.Lookup(inc.Rule); ok {
		if r.Jira.Project != "" {
			project = r.Jira.Project
		}
		if r.Jira.IssueType != "" {
			issueType = r.Jira.IssueType
		}
		if r.Jira.Priority != "" {
			priority = r.Jira.Priority
		}
	}
	return project, issueType, priority
}

// CreateIssue files the incident's ticket: labelled with TicketLabel, by
// which a repeat finds it, the service and the configured labels.
func (p Planner) CreateIssue(inc *incident.Incident, v jirawiki.View) Call {
	project, issueType, priority := p.TicketKind(inc)
	labels := []string{TicketLabel(inc), jirawiki.Label(inc.Service)}
	for _, l := range p.Jira.Labels {
		labels = append(labels, jirawiki.Label(l))
	}
	return NewCall(JiraCreateIssue{Issue: ijira.NewIssue{
		Project: project, IssueType: issueType, Priority: priority, Summary: jirawiki.Summary(inc),
		Description: jirawiki.Description(v), Labels: dedupe(labels), Components: p.Jira.Components, Fields: p.Jira.Fields,
	}})
}

// Link links the issue key to prev ("relates to"): a ticket to the
// ticket of the previous incident of the same key, a follow-up to its
// incident's ticket.
func (p Planner) Link(key, prev string) Call {
	return NewCall(JiraLink{Type: JiraRef{Name: "Relates"}, InwardIssue: JiraRef{Key: key}, OutwardIssue: JiraRef{Key: prev}})
}

// SetDescription brings the ticket's description up to date.
func (p Planner) SetDescription(inc *incident.Incident, v jirawiki.View) Call {
	return NewCall(JiraSetDescription{Key: inc.JiraKey, Fields: JiraDescription{Description: jirawiki.Description(v)}})
}

// Priority is the ticket priority jira.priorities maps the incident's
// severity to ("" when it maps none).
func (p Planner) Priority(inc *incident.Incident) string {
	return p.Jira.Priorities[string(inc.Severity)]
}

// SetPriority sets the ticket's priority to priority.
func (p Planner) SetPriority(inc *incident.Incident, priority string) Call {
	return NewCall(JiraSetPriority{Key: inc.JiraKey, Fields: JiraPriority{Priority: JiraRef{Name: priority}}})
}

// Comment comments a timeline event on the ticket, with the event's
// marker, by which a repeat finds it; the resolve's comment says how
// long the incident lasted and how bad it got.
func (p Planner) Comment(inc *incident.Incident, ev incident.Event) Call {
	text := jirawiki.Comment(ev, jirawiki.Marker(ev.ID))
	if ev.Kind == incident.EventResolved {
		text = jirawiki.ClosingComment(inc, p.Now()) + "\n" + text
	}
	return NewCall(JiraComment{Key: inc.JiraKey, Body: text})
}

// TransitionTo names the transition that moves a ticket to target, and
// the resolution it sets if its screen has the field.
func (p Planner) TransitionTo(target incident.State) (name, resolution string) {
	if target == incident.Resolved {
		return p.Jira.ResolveTransition, "Done"
	}
	return p.Jira.ReopenTransition, ""
}

// Transition moves the ticket along transition t, setting resolution
// unless it is "".
func (p Planner) Transition(inc *incident.Incident, t JiraRef, resolution string) Call {
	a := JiraTransition{Key: inc.JiraKey, Transition: t}
	if resolution != "" {
		a.Fields = &JiraResolution{Resolution: JiraRef{Name: resolution}}
	}
	return NewCall(a)
}
