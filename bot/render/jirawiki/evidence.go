package jirawiki

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// SuggestRollback is the ticket's rollback section from the evidence.
func SuggestRollback(ev *incident.Evidence) *RollbackSuggestion {
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
func evidenceWiki(ev *incident.Evidence, unit incident.Unit, start time.Time) string {
	if ev == nil {
		return "Gathering deploys, traces and boards…"
	}
	var lines []string
	if ev.NoDeploys != "" {
		lines = append(lines, Escape(ev.NoDeploys)+".")
	}
	for _, d := range ev.Deploys {
		line := "* " + Escape(incident.ShortSHA(d.SHA)) + " " + Escape(d.Service)
		if d.Author != "" {
			line += " by " + Escape(d.Author)
		}
		if !d.FinishedAt.IsZero() {
			line += ", " + render.Relative(d.FinishedAt, start)
		}
		if ev.Suspect != nil && d.SHA == ev.Suspect.SHA && d.Service == ev.Suspect.Service {
			line += " *(suspect)*"
		}
		lines = append(lines, line)
	}
	if len(ev.Traces) > 0 {
		lines = append(lines, "", "*Failing traces*")
		for _, t := range ev.Traces {
			line := "* " + Escape(t.Operation) + ", " + t.Duration.Round(time.Millisecond).String()
			if t.ErrorSpan != "" {
				line += ", failed in " + Escape(t.ErrorSpan)
			}
			if u, ok := wikiLinkURL(t.URL); ok {
				line += " ([trace|" + u + "])"
			}
			lines = append(lines, line)
		}
	}
	if ev.ValueAtOpen != nil && ev.ValueNow != nil {
		lines = append(lines, "", fmt.Sprintf("Prometheus: %s at the start, %s now.", unit.Format(*ev.ValueAtOpen), unit.Format(*ev.ValueNow)))
	}
	for _, p := range ev.Problems {
		lines = append(lines, "* "+Escape(p))
	}
	if len(ev.Pending) > 0 {
		lines = append(lines, "Still asking "+Escape(strings.Join(ev.Pending, ", "))+".")
	}
	return strings.Join(lines, "\n")
}
