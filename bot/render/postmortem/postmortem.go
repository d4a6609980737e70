// Package postmortem renders the draft of an incident's postmortem as
// Markdown, from what warroom recorded: the incident's facts, its times
// (started, detected, acknowledged, mitigated, resolved) with the time to
// acknowledge and to resolve, its impact, the evidence (the suspect
// deploy and its diff, the rollback target and decision, failing traces,
// Grafana boards), the whole timeline with its actors, the follow-ups,
// and empty sections for the team to write: root cause, what went well,
// what to change.
//
// It is pure, as the other renderers: it imports only incident and the
// shared render package, and every value that alert content, a deploy
// record or a responder chose is escaped (Text, Code), links going only
// to the hosts the war room may link to (render.Hosts).
package postmortem

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// View is what a postmortem draft is made of.
type View struct {
	Incident *incident.Incident
	// Alerts are the incident's alerts (all, or the first of them): the
	// earliest start among them is when the incident started.
	Alerts []incident.Alert
	// TotalAlerts counts all the incident's alerts.
	TotalAlerts int
	// Timeline is the incident's timeline, oldest first: the whole of it,
	// or up to the resolve the draft is for.
	Timeline []incident.Event
	// Hosts are the hosts links may point at; the zero Hosts allows none.
	Hosts render.Hosts
}

// TimeLayout is how the draft shows a time: in UTC, to the second.
const TimeLayout = "2006-01-02 15:04:05"

// How much of each value the draft shows, and of the timeline.
const (
	titleMax     = 300
	nameMax      = 200 // service, env, severity, rule, actor, author, revision, board, operation
	eventTextMax = 1000
	followupMax  = 500
	problemMax   = 300
	// MaxTimeline bounds the events listed, and maxTimelineBytes the
	// bytes they take; the rest are counted. A war room's timeline is far
	// shorter; a storm's may be thousands. The whole draft stays under
	// MaxBytes, which Jira takes as an attachment and Slack as a file.
	MaxTimeline      = 1000
	maxTimelineBytes = 512 << 10
	// MaxBytes bounds the draft.
	MaxBytes = 768 << 10
)

// FileName is the name of the draft's file for the resolve event
// resolvedBy: "INC-7-postmortem-42.md". It names the resolve, so that a
// step posting it finds the file an earlier run posted by its name.
func FileName(id string, resolvedBy int64) string {
	return fmt.Sprintf("%s-postmortem-%d.md", id, resolvedBy)
}

// Title is the title of the draft's file: "Postmortem draft: INC-7".
func Title(inc *incident.Incident) string { return "Postmortem draft: " + inc.ID }

// Render renders the draft.
func Render(v View) string {
	inc := v.Incident
	if inc == nil {
		return ""
	}
	inc = v.Hosts.Incident(inc)
	var b strings.Builder
	title := Heading(inc.Title, titleMax)
	if title == "" {
		title = "(no title)"
	}
	fmt.Fprintf(&b, "# Postmortem: %s %s\n\n", Text(inc.ID, nameMax), title)
	b.WriteString("_A draft written by warroom from the incident's record. The facts below are what warroom saw; " +
		"the last three sections are for the team to write._\n\n")
	facts(&b, inc)
	t := timesOf(inc, v.Alerts, v.Timeline)
	b.WriteString("\n## Times (UTC)\n\n")
	times(&b, t)
	b.WriteString("\n## Impact\n\n")
	impact(&b, inc, t, v.TotalAlerts, len(v.Alerts))
	b.WriteString("\n## Evidence\n\n")
	evidence(&b, inc, t.started, v.Timeline)
	b.WriteString("\n## Timeline (UTC)\n\n")
	timeline(&b, inc, v.Timeline)
	b.WriteString("\n## Follow-ups\n\n")
	followups(&b, incident.Followups(v.Timeline))
	for _, section := range []string{"Root cause", "What went well", "What to change"} {
		fmt.Fprintf(&b, "\n## %s\n\n_To be written._\n", section)
	}
	return b.String()
}

// facts is the table of what the incident is.
func facts(b *strings.Builder, inc *incident.Incident) {
	row := func(name, value string) {
		if value != "" {
			fmt.Fprintf(b, "| %s | %s |\n", name, value)
		}
	}
	b.WriteString("| Incident | " + Text(inc.ID, nameMax) + " |\n|---|---|\n")
	row("Service", or(Text(inc.Service, nameMax), "unknown"))
	row("Environment", Text(inc.Env, nameMax))
	row("Severity", or(Text(string(inc.Severity), nameMax), "unknown"))
	row("Rule", Text(inc.Rule, nameMax))
	row("State", Text(string(inc.State), nameMax))
	if inc.SlackChannel != "" {
		row("War room", "#"+Text(inc.SlackChannel, nameMax))
	}
	row("Ticket", Text(inc.JiraKey, nameMax))
	row("Commander", Text(inc.Commander, nameMax))
	row("Comms", Text(inc.Comms, nameMax))
	row("Scribe", Text(inc.Scribe, nameMax))
	if inc.Storm != "" {
		row("Storm", Text(inc.Storm, nameMax))
	}
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// milestones are an incident's times; the zero time is one that did not
// happen (yet).
type milestones struct {
	started, detected, acknowledged, mitigated, resolved time.Time
	// opened is the incident's opening, which the times to acknowledge
	// and to resolve count from, as warroom report and the metrics do
	// (D20): the war room's, or the recording of an incident escalated
	// later.
	opened time.Time
}

// timesOf reads the times from the incident and its timeline: started is
// the earliest alert's start (else the opening), detected the war room's
// opening (the escalation of an incident first only recorded), then the
// first acknowledge and mitigate, and the resolve the incident holds.
func timesOf(inc *incident.Incident, alerts []incident.Alert, tl []incident.Event) milestones {
	m := milestones{started: render.AlertStart(inc, alerts), detected: inc.OpenedAt, opened: inc.OpenedAt}
	escalated := time.Time{}
	for _, e := range tl {
		switch e.Kind {
		case incident.EventEscalated:
			if escalated.IsZero() {
				escalated = e.At
			}
		case incident.EventAcknowledged:
			if m.acknowledged.IsZero() {
				m.acknowledged = e.At
			}
		case incident.EventMitigated:
			if m.mitigated.IsZero() {
				m.mitigated = e.At
			}
		case incident.EventResolved:
			m.resolved = e.At // the last resolve
		}
	}
	if !escalated.IsZero() {
		m.detected = escalated
	}
	if m.acknowledged.IsZero() && inc.AcknowledgedAt != nil {
		m.acknowledged = *inc.AcknowledgedAt
	}
	if m.mitigated.IsZero() && inc.MitigatedAt != nil {
		m.mitigated = *inc.MitigatedAt
	}
	switch {
	case inc.State != incident.Resolved:
		m.resolved = time.Time{} // reopened since, or never resolved
	case inc.ResolvedAt != nil:
		m.resolved = *inc.ResolvedAt
	}
	return m
}

func at(t time.Time) string { return t.UTC().Format(TimeLayout) }

// times is the table of the milestones.
func times(b *strings.Builder, m milestones) {
	b.WriteString("| Milestone | Time | |\n|---|---|---|\n")
	fmt.Fprintf(b, "| Started (first alert) | %s | |\n", at(m.started))
	fmt.Fprintf(b, "| Detected (war room opened) | %s | %s |\n", at(m.detected), after(m.detected, m.started, "after the start"))
	row := func(name string, t time.Time, measure, missing string) {
		if t.IsZero() {
			fmt.Fprintf(b, "| %s | — | %s |\n", name, missing)
			return
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, at(t), measure)
	}
	// A mitigate before any acknowledge is the acknowledge: someone was
	// on it (D20).
	switch {
	case !m.mitigated.IsZero() && (m.acknowledged.IsZero() || m.mitigated.Before(m.acknowledged)):
		row("Acknowledged", m.acknowledged, "time to acknowledge: "+span(m.opened, m.mitigated)+" (the mitigate came first)",
			"time to acknowledge: "+span(m.opened, m.mitigated)+" (the mitigate)")
	default:
		row("Acknowledged", m.acknowledged, "time to acknowledge: "+span(m.opened, m.acknowledged), "not acknowledged")
	}
	row("Mitigated", m.mitigated, span(m.detected, m.mitigated)+" after detection", "not marked mitigated")
	row("Resolved", m.resolved, "time to resolve: "+span(m.opened, m.resolved), "not resolved")
	if m.opened.Before(m.detected) {
		fmt.Fprintf(b, "\nThe incident was recorded at %s, before its war room opened; the times to acknowledge and to resolve count from then, as `warroom report` does.\n", at(m.opened))
	}
}

// span is how long from a to b, as people read it.
func span(a, b time.Time) string { return render.HumanDuration(b.Sub(a)) }

// after is "2m after the start" (nothing when t is not after since).
func after(t, since time.Time, what string) string {
	if t.Sub(since) < time.Second {
		return ""
	}
	return span(since, t) + " " + what
}

// impact is how bad it got and for how long.
func impact(b *strings.Builder, inc *incident.Incident, m milestones, total, listed int) {
	switch p := render.Peak(inc); {
	case inc.IsStorm():
		b.WriteString("- Many services breaching at once: a storm.\n")
	case p != nil && inc.Threshold != nil:
		fmt.Fprintf(b, "- Peak: %s vs %s threshold\n", Text(inc.Unit.Measure(*p), nameMax), Text(inc.Unit.Limit(*inc.Threshold), nameMax))
	case p != nil:
		fmt.Fprintf(b, "- Peak: %s\n", Text(inc.Unit.Measure(*p), nameMax))
	default:
		b.WriteString("- Peak: unknown (no alert carried a value)\n")
	}
	if !m.resolved.IsZero() {
		fmt.Fprintf(b, "- Duration: %s, from the first alert to the resolve\n", span(m.started, m.resolved))
	} else {
		b.WriteString("- Duration: still open\n")
	}
	fmt.Fprintf(b, "- Alerts: %d\n", max(total, listed))
	if inc.TruncatedAlerts > 0 {
		fmt.Fprintf(b, "- Alertmanager truncated %d more alerts it did not send.\n", inc.TruncatedAlerts)
	}
}

// evidence is what correlation found, and the rollback decision.
func evidence(b *strings.Builder, inc *incident.Incident, start time.Time, tl []incident.Event) {
	ev := inc.Evidence
	b.WriteString("### Suspect deploy\n\n")
	switch {
	case ev == nil:
		b.WriteString("Evidence was not gathered.\n")
	case ev.Suspect != nil:
		suspect(b, ev, start)
	case ev.NoDeploys != "":
		fmt.Fprintf(b, "No suspect deploy: %s.\n", Text(ev.NoDeploys, problemMax))
	default:
		b.WriteString("No suspect deploy was found.\n")
	}
	b.WriteString("\n### Rollback\n\n")
	rollback(b, ev, tl)
	b.WriteString("\n### Failing traces\n\n")
	traces(b, ev)
	b.WriteString("\n### Grafana boards\n\n")
	boards(b, ev)
	if ev != nil && len(ev.Problems) > 0 {
		b.WriteString("\n### Not checked\n\n")
		for _, p := range ev.Problems {
			fmt.Fprintf(b, "- %s\n", Text(p, problemMax))
		}
	}
}

func suspect(b *strings.Builder, ev *incident.Evidence, start time.Time) {
	s := ev.Suspect
	line := "- **" + Text(incident.ShortSHA(s.SHA), nameMax) + "**"
	if s.Service != "" {
		line += " of " + Text(s.Service, nameMax)
	}
	if s.Env != "" {
		line += " (" + Text(s.Env, nameMax) + ")"
	}
	if s.Author != "" {
		line += " by " + Text(s.Author, nameMax)
	}
	if !s.FinishedAt.IsZero() {
		line += ", finished " + at(s.FinishedAt) + ", " + render.Relative(s.FinishedAt, start)
	}
	if _, ok := linkURL(s.URL); ok {
		line += " (" + Link("deploy", s.URL) + ")"
	}
	b.WriteString(line + "\n")
	if diff := or(ev.CompareURL, s.DiffURL); diff != "" {
		if _, ok := linkURL(diff); ok {
			name := "what it changed"
			if ev.Target != nil {
				name = Text(incident.ShortSHA(ev.Target.SHA), nameMax) + "…" + Text(incident.ShortSHA(s.SHA), nameMax)
			}
			b.WriteString("- Diff: " + Link(name, diff) + "\n")
		}
	}
	if t := ev.Target; t != nil {
		line := "- Last good revision (the rollback target): **" + Text(incident.ShortSHA(t.SHA), nameMax) + "**"
		if t.Author != "" {
			line += " by " + Text(t.Author, nameMax)
		}
		if !t.FinishedAt.IsZero() {
			line += ", " + render.Relative(t.FinishedAt, start)
		}
		b.WriteString(line + "\n")
	} else {
		b.WriteString("- Last good revision: unknown\n")
	}
}

// rollback is what warroom suggested and whether anyone asked for it.
func rollback(b *strings.Builder, ev *incident.Evidence, tl []incident.Event) {
	switch {
	case ev == nil || ev.Suspect == nil:
		b.WriteString("Suggested: nothing (no suspect deploy).\n")
	case strings.TrimSpace(ev.Rollback) != "":
		b.WriteString("Suggested:\n\n" + Code(strings.TrimSpace(ev.Rollback)) + "\n")
	case ev.RollbackWithheld != "":
		fmt.Fprintf(b, "Suggested: nothing: %s.\n", Text(ev.RollbackWithheld, problemMax))
	default:
		b.WriteString("Suggested: no command (the rule has no rollback command).\n")
	}
	var asked []string
	for _, e := range tl {
		if e.Kind == incident.EventRollbackRequested {
			asked = append(asked, "- Rollback requested by "+actor(e.Actor)+" at "+at(e.At))
		}
	}
	if len(asked) == 0 {
		b.WriteString("\nNo rollback was requested on the timeline.\n")
		return
	}
	b.WriteString("\n" + strings.Join(asked, "\n") + "\n")
}

func traces(b *strings.Builder, ev *incident.Evidence) {
	if ev == nil || len(ev.Traces) == 0 && ev.TracesURL == "" {
		b.WriteString("None found.\n")
		return
	}
	for _, t := range ev.Traces {
		line := "- " + or(Text(t.Operation, nameMax), "(unnamed operation)") + ", " + t.Duration.Round(time.Millisecond).String()
		if t.ErrorSpan != "" {
			line += ", failed in " + Text(t.ErrorSpan, nameMax)
		}
		if t.Error != "" {
			line += ": " + Text(t.Error, problemMax)
		}
		if _, ok := linkURL(t.URL); ok {
			line += " (" + Link("trace", t.URL) + ")"
		}
		b.WriteString(line + "\n")
	}
	if _, ok := linkURL(ev.TracesURL); ok {
		b.WriteString("- Jaeger: " + Link("all failing traces", ev.TracesURL) + "\n")
	}
}

func boards(b *strings.Builder, ev *incident.Evidence) {
	n := 0
	if ev != nil {
		for _, d := range ev.Dashboards {
			if _, ok := linkURL(d.URL); ok {
				// "- [x](…)" would read as a ticked task: no item starts with a link.
				b.WriteString("- Board: " + Link(or(Text(d.Title, nameMax), "untitled"), d.URL) + "\n")
				n++
			}
		}
	}
	if n == 0 {
		b.WriteString("None found.\n")
	}
}

// timeline lists the events, each with its time and actor.
func timeline(b *strings.Builder, inc *incident.Incident, tl []incident.Event) {
	if len(tl) == 0 {
		b.WriteString("No events.\n")
		return
	}
	size := 0
	for i, e := range tl {
		if i == MaxTimeline || size > maxTimelineBytes {
			fmt.Fprintf(b, "- …and %d more events: `warroom incidents show %s` lists them all.\n", len(tl)-i, Text(inc.ID, nameMax))
			break
		}
		w, text, ok := render.WordEvent(e)
		name := w.Title
		if !ok {
			name = or(Text(kindName(e.Kind), nameMax), "Event")
		}
		line := "- " + at(e.At) + " · **" + name + "** · " + actor(e.Actor)
		if text = strings.TrimSpace(text); text != "" {
			line += " · " + Text(text, eventTextMax)
		}
		b.WriteString(line + "\n")
		size += len(line) + 1
	}
}

// kindName names an event of a kind render.WordEvent does not word:
// "followup_filed" is "Followup filed".
func kindName(k incident.EventKind) string {
	s := strings.ReplaceAll(string(k), "_", " ")
	if s == "" {
		return ""
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// actor names who did something: an alert, warroom, or the person (a
// Slack user ID, "cli:alice", "api:bob") as recorded.
func actor(a string) string {
	switch a {
	case incident.ActorAlert:
		return "an alert"
	case incident.ActorSystem:
		return "warroom"
	case "":
		return "someone"
	}
	return Text(a, nameMax)
}

// followups lists the follow-ups as a task list.
func followups(b *strings.Builder, fs []incident.Followup) {
	if len(fs) == 0 {
		b.WriteString("None were recorded during the incident.\n")
		return
	}
	for _, f := range fs {
		line := "- [ ] " + or(Text(f.Text, followupMax), "(no text)") + " (asked by " + actor(f.Actor) + " at " + at(f.At)
		if f.Key != "" {
			line += "; " + Text(f.Key, nameMax)
		}
		b.WriteString(line + ")\n")
	}
}
