package page

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// What one page shows at most: the newest jobs aside (the API has them),
// the alerts and the timeline are cut with a count of the rest.
const (
	pageAlerts   = 20
	pageTimeline = 1000
	pageChildren = 200
	// listed is how many incidents the list shows, the newest.
	listed = 100
	// maxText bounds a text of alert content as the page shows it.
	maxText = 2000
	// maxPoints bounds the value history the page reads: the newest
	// week of minutes (incident.ValueInterval).
	maxPoints = 7 * 24 * 60
)

// incidentView is what the page of one incident shows: every string in
// it that came from alert content or a deploy record is escaped by the
// template, never here.
type incidentView struct {
	Nonce string
	ID    string
	Title string
	State string
	Kind  string
	// Facts are the summary's lines: severity, service, env, rule, value
	// against threshold, times and roles.
	Facts []fact
	// Value is the value against the threshold ("now 3.11% (peak 3.5%)
	// vs 0.8% threshold").
	Value string
	Chart *chart
	// NoChart says why there is no chart.
	NoChart  string
	Evidence *evidenceView
	Links    []render.Link
	Alerts   []alertView
	// AlertsMore counts the alerts not listed.
	AlertsMore int
	Timeline   []eventView
	// TimelineMore says that the timeline goes on past what is listed.
	TimelineMore bool
	Storm        string
	StormPath    string
	Children     []childView
	ChildrenMore int
	Generated    string
}

type fact struct{ Name, Value string }

type evidenceView struct {
	Suspect, Target *deployView
	Deploys         []deployView
	Rollback        string
	Withheld        string
	NoDeploys       string
	CompareURL      string
	Dashboards      []incident.EvidenceLink
	Traces          []traceView
	TracesURL       string
	Problems        []string
	Pending         string
	Gathered        string
}

type deployView struct {
	SHA, Service, Env, Version, Author, When, URL, DiffURL string
	Suspect                                                bool
}

type traceView struct {
	Operation, Duration, Error, URL string
}

type alertView struct {
	Status string
	Labels []fact
	// Annotations are the alert's annotations, each cut to maxText.
	Annotations []fact
	Value       string
	Started     string
}

type eventView struct {
	At, Title, Actor, Text, Kind string
}

type childView struct {
	ID, Path, Service, Env, State, Value, Suspect string
}

// incidentFacts are what the page reads of an incident besides itself.
type incidentFacts struct {
	alerts      []incident.Alert
	alertsTotal int
	timeline    []incident.Event
	more        bool
	points      []incident.ValuePoint
	links       []render.Link
	children    []*incident.Incident
	childPath   func(id string) string
}

// newIncidentView builds the page of inc (its evidence already passed
// through the link allow-list) from what the store holds, at now.
func newIncidentView(inc *incident.Incident, f incidentFacts, now time.Time) *incidentView {
	v := &incidentView{ID: inc.ID, Title: cut(inc.Title), State: string(inc.State), Kind: string(inc.Kind),
		Value: render.NowAndPeak(inc), Links: f.links, Generated: stamp(now), TimelineMore: f.more}
	start := render.AlertStart(inc, f.alerts)
	v.Facts = append(v.Facts, fact{"State", string(inc.State)}, fact{"Severity", string(inc.Severity)},
		fact{"Service", cut(inc.Service)}, fact{"Env", cut(inc.Env)}, fact{"Rule", cut(inc.Rule)},
		fact{"Value", render.ValueVsThreshold(inc)})
	if p := render.Peak(inc); p != nil && inc.Value != nil && *p != *inc.Value {
		v.Facts = append(v.Facts, fact{"Peak", inc.Unit.Format(*p)})
	}
	v.Facts = append(v.Facts, fact{"Opened", stamp(inc.OpenedAt)})
	if !start.Equal(inc.OpenedAt) {
		v.Facts = append(v.Facts, fact{"First alert", stamp(start)})
	}
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{"Acknowledged", inc.AcknowledgedAt}, {"Mitigated", inc.MitigatedAt}, {"Resolved", inc.ResolvedAt}} {
		if t.at != nil {
			v.Facts = append(v.Facts, fact{t.name, stamp(*t.at) + " (" + render.HumanDuration(t.at.Sub(inc.OpenedAt)) + " after opening)"})
		}
	}
	if inc.ResolvedAt == nil {
		v.Facts = append(v.Facts, fact{"Open for", render.HumanDuration(now.Sub(inc.OpenedAt))})
	}
	for _, r := range []fact{{"Commander", inc.Commander}, {"Comms", inc.Comms}, {"Scribe", inc.Scribe},
		{"Slack channel", channelName(inc.SlackChannel)}, {"Jira", inc.JiraKey}, {"Storm", inc.Storm}} {
		if r.Value != "" {
			v.Facts = append(v.Facts, fact{r.Name, cut(r.Value)})
		}
	}
	if v.Chart = newChart(inc, f.points, now); v.Chart == nil {
		v.NoChart = "No value recorded: the alerts carried no number, and Prometheus gave none."
	}
	v.Evidence = newEvidenceView(inc.Evidence, start)
	for _, a := range f.alerts[:min(len(f.alerts), pageAlerts)] {
		v.Alerts = append(v.Alerts, newAlertView(inc, a))
	}
	v.AlertsMore = max(f.alertsTotal, len(f.alerts)) - len(v.Alerts)
	for _, e := range f.timeline {
		v.Timeline = append(v.Timeline, newEventView(e))
	}
	if inc.Storm != "" && f.childPath != nil {
		v.Storm, v.StormPath = inc.Storm, f.childPath(inc.Storm)
	}
	for _, c := range render.StormOrder(f.children) {
		if len(v.Children) == pageChildren {
			v.ChildrenMore++
			continue
		}
		cv := childView{ID: c.ID, Service: cut(c.Service), Env: cut(c.Env), State: string(c.State),
			Value: render.StormValue(c), Suspect: render.StormSuspect(c)}
		if f.childPath != nil {
			cv.Path = f.childPath(c.ID)
		}
		v.Children = append(v.Children, cv)
	}
	return v
}

func channelName(name string) string {
	if name == "" {
		return ""
	}
	return "#" + name
}

func newEvidenceView(ev *incident.Evidence, start time.Time) *evidenceView {
	if ev == nil {
		return nil
	}
	e := &evidenceView{Rollback: cut(ev.Rollback), Withheld: cut(ev.RollbackWithheld), NoDeploys: cut(ev.NoDeploys),
		CompareURL: ev.CompareURL, Dashboards: ev.Dashboards, TracesURL: ev.TracesURL, Pending: strings.Join(ev.Pending, ", "),
		Gathered: stamp(ev.GatheredAt)}
	for _, p := range ev.Problems {
		e.Problems = append(e.Problems, cut(p))
	}
	deploy := func(d incident.Deploy) deployView {
		return deployView{SHA: incident.ShortSHA(cut(d.SHA)), Service: cut(d.Service), Env: cut(d.Env), Version: cut(d.Version),
			Author: cut(d.Author), When: stamp(d.FinishedAt) + ", " + render.Relative(d.FinishedAt, start), URL: d.URL, DiffURL: d.DiffURL,
			Suspect: ev.Suspect != nil && d.SHA == ev.Suspect.SHA && d.Service == ev.Suspect.Service}
	}
	if ev.Suspect != nil {
		d := deploy(*ev.Suspect)
		e.Suspect = &d
	}
	if ev.Target != nil {
		d := deploy(*ev.Target)
		e.Target = &d
	}
	for _, d := range ev.Deploys {
		e.Deploys = append(e.Deploys, deploy(d))
	}
	for _, t := range ev.Traces {
		e.Traces = append(e.Traces, traceView{Operation: cut(t.Operation), Duration: t.Duration.Round(time.Millisecond).String(),
			Error: cut(strings.TrimSpace(t.ErrorSpan + " " + t.Error)), URL: t.URL})
	}
	return e
}

func newAlertView(inc *incident.Incident, a incident.Alert) alertView {
	v := alertView{Status: string(a.Status), Started: stamp(a.StartsAt)}
	if a.Value != nil {
		v.Value = inc.Unit.Format(*a.Value)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		v.Labels = append(v.Labels, fact{cut(k), cut(a.Labels[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(a.Annotations)) {
		v.Annotations = append(v.Annotations, fact{cut(k), cut(a.Annotations[k])})
	}
	return v
}

func newEventView(e incident.Event) eventView {
	v := eventView{At: stamp(e.At), Actor: cut(e.Actor), Text: cut(e.Text), Kind: string(e.Kind), Title: string(e.Kind)}
	if w, text, ok := render.WordEvent(e); ok {
		v.Title, v.Text = w.Title, cut(text)
	}
	return v
}

// cut bounds a text of alert content for the page.
func cut(s string) string {
	if len(s) <= maxText {
		return s
	}
	return render.OneLine(s, maxText)
}

// listView is the list of recent war rooms.
type listView struct {
	Nonce     string
	Incidents []listRow
	Generated string
}

type listRow struct {
	ID, Path, Title, State, Severity, Service, Env, Opened, Duration, Kind string
}

func newListRow(inc *incident.Incident, path string, now time.Time) listRow {
	end := now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	return listRow{ID: inc.ID, Path: path, Title: cut(inc.Title), State: string(inc.State), Severity: string(inc.Severity),
		Service: cut(inc.Service), Env: cut(inc.Env), Opened: stamp(inc.OpenedAt), Duration: render.HumanDuration(end.Sub(inc.OpenedAt)),
		Kind: string(inc.Kind)}
}
