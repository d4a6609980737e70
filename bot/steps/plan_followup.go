package steps

import (
	"strconv"
	"strings"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
	ijira "github.com/warroom/warroom/integrations/jira"
)

// DefaultFollowupIssueType is the issue type of a follow-up when
// jira.followup_issue_type names none.
const DefaultFollowupIssueType = "Task"

// FollowupLabel is the label that finds the issue of one follow-up (the
// event request of inc): "warroom-inc-7-followup-42". It is not the
// ticket's label (TicketLabel), which a search for the ticket must not
// find on a follow-up.
func FollowupLabel(inc *incident.Incident, request int64) string {
	return jirawiki.Label("warroom-" + inc.ID + "-followup-" + strconv.FormatInt(request, 10))
}

// FollowupProject is the project a follow-up of inc is filed in: that of
// the incident's ticket (the key's prefix), which a reload cannot move;
// before the ticket is known (a plan without lookups), the project the
// ticket is filed in.
func (p Planner) FollowupProject(inc *incident.Incident) string {
	if project, _, ok := strings.Cut(inc.JiraKey, "-"); ok && project != "" {
		return project
	}
	project, _, _ := p.TicketKind(inc)
	return project
}

// FollowupIssueType is jira.followup_issue_type, else
// DefaultFollowupIssueType.
func (p Planner) FollowupIssueType() string {
	if t := strings.TrimSpace(p.Jira.FollowupIssueType); t != "" {
		return t
	}
	return DefaultFollowupIssueType
}

// FileFollowup files the follow-up ev (an incident.EventFollowup of inc)
// as an issue of FollowupIssueType in FollowupProject: its summary names
// the incident and the follow-up, its labels are FollowupLabel, by which
// a repeat finds it, "warroom-followup" and jira.labels, its components
// jira.components. jira.fields are left out: they are the fields of the
// ticket's issue type, which another type's screen may lack.
func (p Planner) FileFollowup(inc *incident.Incident, ev incident.Event) Call {
	labels := []string{FollowupLabel(inc, ev.ID), "warroom-followup"}
	for _, l := range p.Jira.Labels {
		labels = append(labels, jirawiki.Label(l))
	}
	return NewCall(JiraCreateIssue{Issue: ijira.NewIssue{
		Project: p.FollowupProject(inc), IssueType: p.FollowupIssueType(), Summary: jirawiki.FollowupSummary(inc, ev.Text),
		Description: jirawiki.FollowupDescription(inc, ev), Labels: dedupe(labels), Components: p.Jira.Components,
	}})
}

// Followup is the plan of a follow-up's step without lookups: file the
// issue, then link it (its key, which only Jira knows, is "" in the plan)
// to the incident's ticket.
func (p Planner) Followup(inc *incident.Incident, ev incident.Event) []Call {
	return []Call{p.FileFollowup(inc, ev), p.Link("", inc.JiraKey)}
}
