package slackmsg

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

const blockEvidence = "summary_evidence"

// DeployLine is one deploy in the summary: short SHA, author, age, diff.
func DeployLine(d incident.Deploy, start time.Time, suspect bool, compare string) string {
	line := "`" + EscapeCut(incident.ShortSHA(d.SHA), 40) + "`"
	if d.Service != "" {
		line += " " + EscapeCut(d.Service, nameInline)
	}
	if d.Author != "" {
		line += " by " + EscapeCut(d.Author, nameInline)
	}
	if !d.FinishedAt.IsZero() {
		line += ", " + render.Relative(d.FinishedAt, start)
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
func evidenceText(ev *incident.Evidence, unit incident.Unit, start time.Time) string {
	if ev == nil {
		return "*Evidence*\n:hourglass_flowing_sand: gathering deploys, traces and boards…"
	}
	var b strings.Builder
	b.WriteString("*Recent deploys*\n")
	switch {
	case len(ev.Deploys) == 0 && ev.NoDeploys != "":
		b.WriteString(Escape(ev.NoDeploys) + "\n")
	case len(ev.Deploys) == 0:
		b.WriteString("none recorded\n")
	}
	for _, d := range ev.Deploys {
		suspect := ev.Suspect != nil && d.SHA == ev.Suspect.SHA && d.Service == ev.Suspect.Service
		b.WriteString(DeployLine(d, start, suspect, ev.CompareURL) + "\n")
	}
	if len(ev.Deploys) > 0 && ev.Suspect == nil && ev.NoDeploys != "" {
		b.WriteString("_" + Escape(ev.NoDeploys) + "_\n")
	}
	if len(ev.Traces) > 0 {
		b.WriteString("*Failing traces*\n")
		for _, t := range ev.Traces {
			line := "• " + EscapeCut(t.Operation, 80) + " · " + t.Duration.Round(time.Millisecond).String()
			if t.ErrorSpan != "" {
				line += " · failed in " + EscapeCut(t.ErrorSpan, 80)
			}
			if u, ok := linkURL(t.URL); ok {
				line = "• <" + u + "|" + EscapeCut(shortTrace(t.ID), 20) + "> " + strings.TrimPrefix(line, "• ")
			}
			b.WriteString(line + "\n")
		}
	}
	if ev.ValueAtOpen != nil || ev.ValueNow != nil {
		b.WriteString("*Prometheus* ")
		if ev.ValueAtOpen != nil {
			b.WriteString(unit.Format(*ev.ValueAtOpen) + " at the start")
		}
		if ev.ValueNow != nil {
			if ev.ValueAtOpen != nil {
				b.WriteString(", ")
			}
			b.WriteString(unit.Format(*ev.ValueNow) + " now")
		}
		b.WriteString("\n")
	}
	for _, p := range ev.Problems {
		b.WriteString(":warning: " + EscapeCut(p, 300) + "\n")
	}
	if len(ev.Pending) > 0 {
		b.WriteString(":hourglass_flowing_sand: still asking " + Escape(strings.Join(ev.Pending, ", ")) + "\n")
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
	return section(blockEvidence, evidenceText(v.Incident.Evidence, v.Incident.Unit, start))
}

// RollbackText is the summary's rollback suggestion from the evidence.
func RollbackText(ev *incident.Evidence, start time.Time) string {
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
	s += ", " + render.Relative(ev.Suspect.FinishedAt, start) + ")"
	switch {
	case ev.Target == nil:
		return s + "; no earlier deploy to roll back to."
	case ev.Rollback == "" && ev.RollbackWithheld != "":
		return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + ". No command: " + render.OneLine(ev.RollbackWithheld, 300) + "."
	case ev.Rollback == "":
		return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + " (no rollback command configured for this rule)."
	}
	return s + "; roll back to " + incident.ShortSHA(ev.Target.SHA) + ":\n`" + strings.ReplaceAll(ev.Rollback, "`", "'") + "`"
}
