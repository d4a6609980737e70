package steps_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// A rule's links.bridge, rendered with the rule's template data, is the
// war room's bridge: a link of the summary and the ticket and a
// bookmark, on an allowed host; on another host, or not http(s), it is
// shown as not linked, with why, and not bookmarked; a template that
// renders nothing (an annotation the alert lacks) shows nothing.
func TestBridgeLink(t *testing.T) {
	t.Parallel()
	set, err := rules.New([]rules.Rule{
		{Name: "static", Match: `{alertname="A"}`, Links: rules.Links{Bridge: "https://example.zoom.us/j/5550100"}},
		{Name: "per-incident", Match: `{alertname="B"}`, Links: rules.Links{Bridge: "https://meet.example.com/{{.IncidentID}}-{{.Labels.service}}"}},
		{Name: "annotation", Match: `{alertname="C"}`, Links: rules.Links{Bridge: "{{.Annotations.bridge_url}}"}},
		{Name: "none", Match: "{}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := steps.Deps{Rules: set, Hosts: render.NewHosts([]string{"*.zoom.us", "meet.example.com"}),
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC) }}
	alert := func(name string, annotations map[string]string) incident.Alert {
		return incident.Alert{Status: incident.AlertFiring, Labels: map[string]string{"alertname": name, "service": "payments"}, Annotations: annotations}
	}
	for _, tc := range []struct {
		name, rule string
		alert      incident.Alert
		want       render.Link // zero: no bridge at all
		bookmarked bool
	}{
		{"static", "static", alert("A", nil),
			render.Link{Kind: "bridge", Title: "Join the bridge", URL: "https://example.zoom.us/j/5550100"}, true},
		{"per incident", "per-incident", alert("B", nil),
			render.Link{Kind: "bridge", Title: "Join the bridge", URL: "https://meet.example.com/INC-7-payments"}, true},
		{"from an annotation, allowed", "annotation", alert("C", map[string]string{"bridge_url": " https://meet.example.com/x "}),
			render.Link{Kind: "bridge", Title: "Join the bridge", URL: "https://meet.example.com/x"}, true},
		{"from an annotation, another host", "annotation", alert("C", map[string]string{"bridge_url": "https://zoom.evil.example/j/1"}),
			render.Link{Kind: "bridge", Title: "Join the bridge", Note: "not linked: host zoom.evil.example is not in links.allowed_hosts"}, false},
		{"from an annotation, not http", "annotation", alert("C", map[string]string{"bridge_url": "zoommtg://example.zoom.us/join?confno=1"}),
			render.Link{Kind: "bridge", Title: "Join the bridge", Note: "not linked: not an http(s) URL"}, false},
		{"the annotation missing", "annotation", alert("C", nil), render.Link{}, false},
		{"a rule without one", "none", alert("D", nil), render.Link{}, false},
	} {
		inc := &incident.Incident{ID: "INC-7", Rule: tc.rule, Service: "payments", WarRoom: true}
		var got []render.Link
		for _, l := range d.SlackView(inc, steps.Facts{Alerts: []incident.Alert{tc.alert}}).Links {
			if l.Kind == render.KindBridge {
				got = append(got, l)
			}
		}
		switch {
		case tc.want == render.Link{} && len(got) != 0:
			t.Errorf("%s: a bridge %+v, want none", tc.name, got)
		case tc.want != render.Link{} && (len(got) != 1 || got[0] != tc.want):
			t.Errorf("%s: bridge %+v, want %+v", tc.name, got, tc.want)
		}
		var jira []render.Link
		for _, l := range d.JiraView(inc, steps.Facts{Alerts: []incident.Alert{tc.alert}}).Links {
			if l.Kind == render.KindBridge {
				jira = append(jira, l)
			}
		}
		if len(jira) != len(got) || len(got) == 1 && jira[0] != got[0] {
			t.Errorf("%s: the ticket's bridge %+v, the summary's %+v", tc.name, jira, got)
		}
		marked := false
		for _, l := range steps.BookmarkLinks(d.SlackView(inc, steps.Facts{Alerts: []incident.Alert{tc.alert}}).Links) {
			marked = marked || l.Kind == render.KindBridge
		}
		if marked != tc.bookmarked {
			t.Errorf("%s: bookmarked %v, want %v", tc.name, marked, tc.bookmarked)
		}
	}
}
