package jirawiki

import (
	"regexp"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// FollowupSummary is the summary of a follow-up's issue, naming the
// incident and the follow-up: one line, at most 255 characters (a
// follow-up's text is at most incident.MaxFollowupText of them).
//
//	[INC-7] Follow-up: alert on the connection pool
func FollowupSummary(inc *incident.Incident, text string) string {
	return summaryCut(render.OneLine("["+inc.ID+"] Follow-up: "+text, maxSummaryBytes), maxSummary)
}

// Jira's bound of a summary, in characters (UTF-16 units, render.TextLen,
// which never undercounts them), and the bytes that many characters can
// take in UTF-8 (OneLine cuts bytes).
const (
	maxSummary      = 255
	maxSummaryBytes = 4 * maxSummary
)

// summaryCut cuts one line s to at most n characters (render.TextLen),
// ending it with "…" when cut.
func summaryCut(s string, n int) string {
	if render.TextLen(s) <= n {
		return s
	}
	used := 0
	for i, r := range s {
		if used+render.RuneLen(r) > n-1 {
			return s[:i] + "…"
		}
		used += render.RuneLen(r)
	}
	return s
}

// FollowupDescription is the description of a follow-up's issue, in wiki
// markup: the follow-up (ev, an incident.EventFollowup), who asked for it
// and when, and the incident it came out of, with its ticket. Every
// value but the ticket's key (which Jira then links) is escaped.
//
//	h2. Follow-up
//	alert on the connection pool
//
//	Asked for by Slack user U024BE7LH on 2025-03-04 10:23 UTC, during INC\-7 (payment\-gateway, prod):
//	High error rate on payment\-gateway. Its ticket is OPS-1, linked to this issue.
func FollowupDescription(inc *incident.Incident, ev incident.Event) string {
	s := "h2. Follow-up\n" + escapeWiki(ev.Text, wikiEventTextMax) + "\n\n"
	s += "Asked for by " + jiraActor(ev.Actor)
	if !ev.At.IsZero() {
		s += " on " + ev.At.UTC().Format(jiraTimeLayout)
	}
	s += ", during " + wikiInline(inc.ID, wikiNameMax)
	where := wikiInline(inc.Service, wikiNameMax)
	if inc.Env != "" {
		where += ", " + wikiInline(inc.Env, wikiNameMax)
	}
	if where != "" {
		s += " (" + where + ")"
	}
	if title := wikiInline(inc.Title, wikiTitleMax); title != "" {
		s += ": " + title
	}
	s += "."
	if inc.JiraKey != "" {
		key := inc.JiraKey
		if !issueKey.MatchString(key) {
			key = wikiInline(key, wikiNameMax)
		}
		s += " Its ticket is " + key + ", linked to this issue."
	}
	return boundWiki(s, jiraTextMax)
}

// issueKey matches a Jira issue key, which Jira shows as a link to the
// issue when it stands unescaped.
var issueKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]*-[0-9]+$`)
