package steps

import (
	"context"
	"encoding/json"
	"math"
	"net/url"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// Facts are what the store holds about an incident that its steps
// render: its first alerts (firing first), how many it has, and its
// timeline.
type Facts struct {
	Alerts        []incident.Alert
	Total, Firing int
	// Timeline holds the events Facts was asked for, not the whole.
	Timeline []incident.Event
	// Children and Linked are, for a storm, the incidents that joined it
	// and the war rooms it links.
	Children, Linked []*incident.Incident
}

// StormListed bounds the incidents of a storm its room and ticket read:
// more than either lists.
const StormListed = 1000

// Since is the since of Facts for job j: the event it is about and all
// after it, or (for a job about no event) the events not yet reported.
func Since(j *incident.Job) int64 {
	var args incident.JobArgs
	if json.Unmarshal(j.Args, &args) == nil && args.EventID > 0 {
		return args.EventID - 1
	}
	return math.MaxInt64
}

// Facts reads an incident's facts from the store. Of the timeline it
// reads the events after since or after the last one reported in the war
// room, whichever is earlier: a step needs no more (the changes to
// report, the event it is about), and a storm's incident has thousands.
func (d Deps) Facts(ctx context.Context, inc *incident.Incident, since int64) (Facts, error) {
	alerts, err := d.Store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return Facts{}, err
	}
	total, firing, err := d.Store.CountAlerts(ctx, inc.ID)
	if err != nil {
		return Facts{}, err
	}
	tl, err := d.Store.TimelineSince(ctx, inc.ID, min(since, inc.ReportedEvent))
	if err != nil {
		return Facts{}, err
	}
	f := Facts{Alerts: alerts, Total: total, Firing: firing, Timeline: tl}
	if !inc.IsStorm() {
		return f, nil
	}
	if f.Children, err = d.Store.Incidents(ctx, incident.Filter{Storm: inc.ID, Limit: StormListed}); err != nil {
		return Facts{}, err
	}
	for _, id := range inc.Linked {
		l, err := d.Store.Incident(ctx, id)
		if incident.ErrorCode(err) == incident.ENOTFOUND {
			continue // listed by its ID alone
		}
		if err != nil {
			return Facts{}, err
		}
		f.Linked = append(f.Linked, l)
	}
	return f, nil
}

// SlackView is what the war room's summary shows of an incident.
func (d Deps) SlackView(inc *incident.Incident, f Facts) slackmsg.SummaryView {
	start := render.AlertStart(inc, f.Alerts)
	// Links from alert content and deploy records point only at allowed
	// hosts; the summary, its bookmarks and the rollback text agree.
	hosts := d.Hosts
	inc = hosts.Incident(inc)
	return slackmsg.SummaryView{Incident: inc, Alerts: f.Alerts, TotalAlerts: f.Total, FiringAlerts: f.Firing,
		Links:    hosts.Links(append(d.WarRoomLinks(inc, f.Alerts), render.EvidenceLinks(inc.Evidence)...)),
		Rollback: slackmsg.RollbackText(inc.Evidence, start), Now: d.Now(), Start: start,
		Children: hostsOf(hosts, f.Children), Linked: f.Linked}
}

// hostsOf passes a storm's incidents through the link allow-list, as
// their own war rooms would show them.
func hostsOf(hosts render.Hosts, incs []*incident.Incident) []*incident.Incident {
	out := make([]*incident.Incident, len(incs))
	for i, inc := range incs {
		out[i] = hosts.Incident(inc)
	}
	return out
}

// JiraView is what the ticket shows of an incident.
func (d Deps) JiraView(inc *incident.Incident, f Facts) jirawiki.View {
	// Links from alert content and deploy records point only at allowed
	// hosts; the war room's own link is warroom's.
	hosts := d.Hosts
	links := hosts.Links(append(d.WarRoomLinks(inc, f.Alerts), render.EvidenceLinks(inc.Evidence)...))
	inc = hosts.Incident(inc)
	if inc.SlackChannelID != "" {
		links = append([]render.Link{{Kind: "war_room", Title: "War room #" + inc.SlackChannel,
			URL: "https://slack.com/app_redirect?channel=" + url.QueryEscape(inc.SlackChannelID)}}, links...)
	}
	return jirawiki.View{Incident: inc, Alerts: f.Alerts, TotalAlerts: f.Total, FiringAlerts: f.Firing, Links: links,
		Rollback: jirawiki.SuggestRollback(inc.Evidence), Start: render.AlertStart(inc, f.Alerts), Now: d.Now(),
		Children: hostsOf(hosts, f.Children), Linked: f.Linked}
}
