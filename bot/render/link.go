package render

import "github.com/warroom/warroom/incident"

// Link is one link of a war room: a bookmark, a button, a line of the
// summary.
type Link struct {
	Kind  string // jira, bridge, grafana, jaeger, runbook, war_room, page
	Title string
	URL   string
	// Note, with no URL, says why the link is not shown: its URL came from
	// alert content and points at a host that is not allowed.
	Note string
}

// The meeting bridge's link: its kind, and its title (the text of the
// link, the bookmark's name).
const (
	KindBridge  = "bridge"
	BridgeTitle = "Join the bridge"
)

// KindPage is the kind of the link to the incident's read-only page
// (signed; see bot/page).
const KindPage = "page"

// EvidenceLinks are the links the evidence adds: boards and the trace search.
func EvidenceLinks(ev *incident.Evidence) []Link {
	if ev == nil {
		return nil
	}
	var links []Link
	for _, d := range ev.Dashboards {
		links = append(links, Link{Kind: "grafana", Title: d.Title, URL: d.URL})
	}
	if ev.TracesURL != "" {
		links = append(links, Link{Kind: "jaeger", Title: "Failing traces in Jaeger", URL: ev.TracesURL})
	}
	return links
}
