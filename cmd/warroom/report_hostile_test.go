package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

// A service is an alert's label: whatever an exporter put there. The
// report's table prints it as one inert cell: no terminal escape (which
// could clear the screen or retitle the window), no tab or line break that
// makes a row of its own.
func TestPrintReportHostileService(t *testing.T) {
	hostile := "evil\x1b[2J\x1b]0;pwned\a\tsvc\nFAKE ROW\u202e"
	since := time.Date(2026, 10, 27, 4, 0, 0, 0, time.UTC)
	v := &httpapi.ReportView{Window: "30d", Report: &incident.Report{Since: since, Until: since.Add(30 * 24 * time.Hour),
		Services: []incident.ServiceReport{{Service: hostile, Incidents: 1, WarRooms: 1}, {Service: "checkout", Incidents: 1, Recorded: 1}},
		Total:    incident.ServiceReport{Incidents: 2, WarRooms: 1, Recorded: 1}}}
	var b bytes.Buffer
	if err := printReport(&b, v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) }); i >= 0 {
		t.Errorf("the table holds the control character %U:\n%q", []rune(out[i:])[0], out)
	}
	if lines := strings.Split(strings.TrimRight(out, "\n"), "\n"); len(lines) != 6 || strings.HasPrefix(lines[4], "FAKE ROW") {
		t.Errorf("%d lines, want 6 (title, blank, header, 2 services, all):\n%s", len(lines), out)
	}
}

// The incident list and view print an incident's service, env, title,
// alerts and timeline, all alert content, as inert cells too.
func TestPrintIncidentsHostile(t *testing.T) {
	hostile := "evil\x1b[2J\x1b]0;pwned\a\tsvc\nFAKE ROW\u202e"
	inc := &incident.Incident{ID: "INC-1", State: incident.Triggered, Service: hostile, Env: hostile, Severity: incident.Severity(hostile),
		Title: hostile, Rule: hostile, WarRoom: true, SlackChannel: "inc-1", OpenedAt: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
	controls := func(out string) int {
		return strings.IndexFunc(out, func(r rune) bool { return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) })
	}
	var list bytes.Buffer
	if err := printList(&list, []*incident.Incident{inc}, false); err != nil {
		t.Fatal(err)
	}
	if i := controls(list.String()); i >= 0 || strings.Count(list.String(), "\n") != 2 || strings.Contains(list.String(), "\nFAKE ROW") {
		t.Errorf("the list is not a header and one row of inert cells:\n%q", list.String())
	}
	var view bytes.Buffer
	v := &httpapi.IncidentView{Incident: inc,
		Alerts:   []incident.Alert{{Fingerprint: hostile, Status: incident.AlertStatus(hostile), Labels: map[string]string{"alertname": hostile}}},
		Timeline: []incident.Event{{At: inc.OpenedAt, Kind: incident.EventNote, Actor: hostile, Text: hostile}}}
	if err := printView(&view, v); err != nil {
		t.Fatal(err)
	}
	if i := controls(view.String()); i >= 0 || strings.Contains(view.String(), "\nFAKE ROW") {
		t.Errorf("the view prints alert content raw:\n%q", view.String())
	}
}
