package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

// show says when the server sent only part of the alerts or the timeline,
// and how to get the next page.
func TestPrintViewBounded(t *testing.T) {
	t.Parallel()
	inc := &incident.Incident{ID: "INC-4", Title: "storm", State: incident.Triggered, OpenedAt: time.Unix(1764900000, 0)}
	v := &httpapi.IncidentView{Incident: inc, Alerts: make([]incident.Alert, 100), AlertsTotal: 2500, AlertsTruncated: true,
		Timeline: []incident.Event{{ID: 41, Kind: incident.EventOpened, Actor: "alert", Text: "opened"}}, TimelineNext: 41}
	var b strings.Builder
	if err := printView(&b, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ALERTS (100 of 2500, firing first)", "more: warroom incidents show INC-4 --timeline-after 41"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
	v.AlertsTruncated, v.TimelineNext, v.Alerts = false, 0, v.Alerts[:3]
	b.Reset()
	if err := printView(&b, v); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "ALERTS (3)\n") || strings.Contains(out, "more:") {
		t.Errorf("a whole view shows paging:\n%s", out)
	}
}
