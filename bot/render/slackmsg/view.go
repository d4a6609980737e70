package slackmsg

import (
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// The action IDs of the war-room summary's buttons. Each button's value is
// the incident ID; /slack/interactions dispatches on the action ID.
const (
	ActionAck      = "warroom_ack"
	ActionMitigate = "warroom_mitigate"
	ActionResolve  = "warroom_resolve"
	ActionRollback = "warroom_rollback"
	ActionSilence  = "warroom_silence_1h"
)

// SummaryView is what the war-room summary shows: the incident, the first
// of its alerts, and the links known so far. Evidence (deploys, traces,
// the rollback suggestion) joins it with the correlation issue.
type SummaryView struct {
	Incident *incident.Incident
	// Alerts are the first SummaryAlerts alerts, firing first.
	Alerts       []incident.Alert
	TotalAlerts  int
	FiringAlerts int
	// Links are the war room's links, in order: Jira, Grafana boards,
	// Jaeger, runbook — whichever exist.
	Links []render.Link
	// Rollback is the rollback suggestion, "" while none is known.
	Rollback string
	// Now is the time the summary is rendered at (for ages and durations).
	Now time.Time
	// Start is when the first alert started (deploy ages count from it);
	// zero: the incident's opening.
	Start time.Time
	// Children are, for a storm, the incidents that joined it; Linked
	// are the war rooms it links (those it names in Incident.Linked).
	Children, Linked []*incident.Incident
}
