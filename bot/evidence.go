package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/incident"
)

const blockEvidence = "summary_evidence"

// alertStart is when an incident's trouble began: its earliest alert, else
// its opening.
func alertStart(inc *incident.Incident, alerts []incident.Alert) time.Time {
	start := inc.OpenedAt
	for _, a := range alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(start) {
			start = a.StartsAt
		}
	}
	return start
}

// relative says how long before (or after) the alert a time is.
func relative(t, start time.Time) string {
	if d := start.Sub(t); d >= 0 {
		return humanDuration(d) + " before the alert"
	}
	return humanDuration(t.Sub(start)) + " after the alert"
}

// deployLine is one deploy in the summary: short SHA, author, age, diff.
func deployLine(d incident.Deploy, start time.Time, suspect bool, compare string) string {
	line := "`" + escapeCut(incident.ShortSHA(d.SHA), 40) + "`"
	if d.Service != "" {
		line += " " + escapeCut(d.Service, nameInline)
	}
	if d.Author != "" {
		line += " by " + escapeCut(d.Author, nameInline)
	}
	if !d.FinishedAt.IsZero() {
		line += ", " + relative(d.FinishedAt, start)
	}
	if u, ok := linkURL(d.URL); ok {
		line += " · <" + u + "|deploy>"
	}
	diff := d.DiffURL
	if suspect && compare != "" {
		diff = compare
	}
	if u, ok := linkURL(diff); ok {
		line += " · <" + u + "|diff>"
	}
	if suspect {
		line = ":rotating_light: *suspect* " + line
	}
	return "• " + line
}

// evidenceText renders the evidence for the summary: the last deploys
// with the suspect marked, the failing traces, the value from Prometheus,
// and what could not be found.
func evidenceText(ev *incident.Evidence, start time.Time) string {
	if ev == nil {
		return "*Evidence*\n:hourglass_flowing_sand: gathering deploys, traces and boards…"
	}
	var b strings.Builder
	b.WriteString("*Recent deploys*\n")
	switch {
	case len(ev.Deploys) == 0 && ev.NoDeploys != "":
		b.WriteString(EscapeMrkdwn(ev.NoDeploys) + "\n")
	case len(ev.Deploys) == 0:
		b.WriteString("none recorded\n")
	}
	for _, d := range ev.Deploys {
		suspect := ev.Suspect != nil && d.SHA == ev.Suspect.SHA && d.Service == ev.Suspect.Service
		b.WriteString(deployLine(d, start, suspect, ev.CompareURL) + "\n")
	}
	if len(ev.Deploys) > 0 && ev.Suspect == nil && ev.NoDeploys != "" {
		b.WriteString("_" + EscapeMrkdwn(ev.NoDeploys) + "_\n")
	}
	if len(ev.Traces) > 0 {
		b.WriteString("*Failing traces*\n")
		for _, t := range ev.Traces {
			line := "• " + escapeCut(t.Operation, 80) + " · " + t.Duration.Round(time.Millisecond).String()
			if t.ErrorSpan != "" {
				line += " · failed in " + escapeCut(t.ErrorSpan, 80)
			}
			if u, ok := linkURL(t.URL); ok {
				line = "• <" + u + "|" + escapeCut(shortTrace(t.ID), 20) + "> " + strings.TrimPrefix(line, "• ")
			}
			b.WriteString(line + "\n")
		}
	}
	if ev.ValueAtOpen != nil || ev.ValueNow != nil {
		b.WriteString("*Prometheus* ")
		if ev.ValueAtOpen != nil {
			b.WriteString(incident.FormatValue(*ev.ValueAtOpen) + " at the start")
		}
		if ev.ValueNow != nil {
			if ev.ValueAtOpen != nil {
				b.WriteString(", ")
			}
			b.WriteString(incident.FormatValue(*ev.ValueNow) + " now")
		}
		b.WriteString("\n")
	}
	for _, p := range ev.Problems {
		b.WriteString(":warning: " + escapeCut(p, 300) + "\n")
	}
	if len(ev.Pending) > 0 {
		b.WriteString(":hourglass_flowing_sand: still asking " + EscapeMrkdwn(strings.Join(ev.Pending, ", ")) + "\n")
	}
	return cutEscaped(strings.TrimSuffix(b.String(), "\n"), maxSectionText)
}

func shortTrace(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// evidenceBlock is the summary's evidence section.
func evidenceBlock(v SummaryView) slack.Block {
	start := v.Incident.OpenedAt
	if !v.Start.IsZero() {
		start = v.Start
	}
	return section(blockEvidence, evidenceText(v.Incident.Evidence, start))
}

// rollbackText is the summary's rollback suggestion from the evidence.
func rollbackText(ev *incident.Evidence, start time.Time) string {
	switch {
	case ev == nil:
		return ""
	case ev.Suspect == nil && ev.NoDeploys != "":
		return ev.NoDeploys + ": nothing to roll back."
	case ev.Suspect == nil:
		return ""
	}
	s := fmt.Sprintf("Suspect %s (%s", incident.ShortSHA(ev.Suspect.SHA), ev.Suspect.Service)
	if ev.Suspect.Author != "" {
		s += " by " + ev.Suspect.Author
	}
	s += ", " + relative(ev.Suspect.FinishedAt, start) + ")"
	switch {
	case ev.Target == nil:
		return s + "; no earlier deploy to roll back to."
	case ev.Rollback == "" && ev.RollbackWithheld != "":
		return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + ". No command: " + oneLine(ev.RollbackWithheld, 300) + "."
	case ev.Rollback == "":
		return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + " (no rollback command configured for this rule)."
	}
	return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + ":\n`" + strings.ReplaceAll(ev.Rollback, "`", "'") + "`"
}

// evidenceLinks are the links the evidence adds: boards and the trace search.
func evidenceLinks(ev *incident.Evidence) []Link {
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

// rollbackSuggestion is the ticket's rollback section from the evidence.
func rollbackSuggestion(ev *incident.Evidence) *RollbackSuggestion {
	if ev == nil || ev.Suspect == nil {
		return nil
	}
	r := &RollbackSuggestion{SuspectRevision: ev.Suspect.SHA, Author: ev.Suspect.Author, DeployURL: ev.Suspect.URL,
		DeployedAt: ev.Suspect.FinishedAt, Command: ev.Rollback, Withheld: ev.RollbackWithheld}
	if ev.Target != nil {
		r.TargetRevision = ev.Target.SHA
	}
	return r
}

// evidenceWiki is the ticket's evidence section.
func evidenceWiki(ev *incident.Evidence, start time.Time) string {
	if ev == nil {
		return "Gathering deploys, traces and boards…"
	}
	var lines []string
	if ev.NoDeploys != "" {
		lines = append(lines, EscapeWiki(ev.NoDeploys)+".")
	}
	for _, d := range ev.Deploys {
		line := "* " + EscapeWiki(incident.ShortSHA(d.SHA)) + " " + EscapeWiki(d.Service)
		if d.Author != "" {
			line += " by " + EscapeWiki(d.Author)
		}
		if !d.FinishedAt.IsZero() {
			line += ", " + relative(d.FinishedAt, start)
		}
		if ev.Suspect != nil && d.SHA == ev.Suspect.SHA && d.Service == ev.Suspect.Service {
			line += " *(suspect)*"
		}
		lines = append(lines, line)
	}
	if len(ev.Traces) > 0 {
		lines = append(lines, "", "*Failing traces*")
		for _, t := range ev.Traces {
			line := "* " + EscapeWiki(t.Operation) + ", " + t.Duration.Round(time.Millisecond).String()
			if t.ErrorSpan != "" {
				line += ", failed in " + EscapeWiki(t.ErrorSpan)
			}
			if u, ok := wikiLinkURL(t.URL); ok {
				line += " ([trace|" + u + "])"
			}
			lines = append(lines, line)
		}
	}
	if ev.ValueAtOpen != nil && ev.ValueNow != nil {
		lines = append(lines, "", fmt.Sprintf("Prometheus: %s at the start, %s now.", incident.FormatValue(*ev.ValueAtOpen), incident.FormatValue(*ev.ValueNow)))
	}
	for _, p := range ev.Problems {
		lines = append(lines, "* "+EscapeWiki(p))
	}
	if len(ev.Pending) > 0 {
		lines = append(lines, "Still asking "+EscapeWiki(strings.Join(ev.Pending, ", "))+".")
	}
	return strings.Join(lines, "\n")
}
