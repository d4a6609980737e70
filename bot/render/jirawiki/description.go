// Package jirawiki renders what warroom sends to Jira as REST v2 wiki
// markup: the ticket's summary, labels and description (what fired, the
// links, deploys and traces, the rollback suggestion), its comments with
// their idempotency markers, and the escaping that keeps alert content
// inert. It is pure: it imports only incident and the shared render
// package.
package jirawiki

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// What warroom sends to Jira is REST v2 text: wiki markup, as described
// in Jira's Text Formatting Notation
// (https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa?section=all).
//
// Jira refuses a text field over 32,767 characters (the default of the
// jira.text.field.character.limit setting); a description or comment is
// kept under jiraTextMax so that the margin absorbs counting differences.
// Lengths are counted as UTF-16 code units (textLen), as Java counts them.
const jiraTextMax = 32000

// A Jira label may not contain spaces and is at most 255 characters
// (API-NOTES.md, Jira).
const maxJiraLabel = 255

// How much of each untrusted value the ticket shows, counted after
// escaping. Together they keep a description under jiraTextMax however
// large the alerts: title 300 + annotations 3000 + facts 1200 + table
// 9000 + links 8000 + rollback 7800 (a deploy URL is at most render.MaxURL) +
// headings and footer is under 30,000.
const (
	wikiTitleMax      = 300
	wikiSummaryMax    = 1000 // the summary annotation
	wikiAnnotationMax = 2000 // the description annotation
	wikiNameMax       = 200  // service, env, severity, rule, actor, author, revision
	wikiCellAlertMax  = 120
	wikiCellLabelsMax = 600
	wikiTableMax      = 9000
	wikiLinkTitleMax  = 120
	wikiLinksMax      = 8000
	wikiCommandMax    = 4000
	wikiWithheldMax   = 300
	wikiEventTextMax  = 8000
)

// jiraTimeLayout is how tickets show an absolute time, always in UTC.
const jiraTimeLayout = render.TimeLayout

// noDeployHistoryWiki is the rollback section while correlation has no
// deploy to name: what is missing and how to provide it.
const noDeployHistoryWiki = "No deploy history configured: warroom cannot name a suspect deploy yet. " +
	"Record deploys with {{POST /api/v1/deploys}} or {{warroom deploys record}}."

// View is what a ticket shows.
type View struct {
	Incident *incident.Incident
	// Alerts are the first SummaryAlerts alerts, firing first.
	Alerts       []incident.Alert
	TotalAlerts  int
	FiringAlerts int
	// Links are the war room's links: the war room (Slack channel URL),
	// Alertmanager, Grafana boards, Jaeger, runbook — whichever exist. A
	// link of kind "jira" (the ticket itself) is not shown.
	Links []render.Link
	// Rollback is nil until correlation finds deploy history.
	Rollback *RollbackSuggestion
	// Start is when the first alert started; zero: the incident's opening.
	Start time.Time
	// Now is the time the description is rendered at.
	Now time.Time
	// Children are, for a storm, the incidents that joined it; Linked
	// are the war rooms it links (those it names in Incident.Linked).
	Children, Linked []*incident.Incident
}

// RollbackSuggestion is what correlation proposes to undo: the deploy it
// suspects, the last good revision before it, and the rule's rollback
// command rendered for them.
type RollbackSuggestion struct {
	SuspectRevision, TargetRevision, Author, DeployURL string
	DeployedAt                                         time.Time
	Command                                            string // rendered from the rule's template
	// Withheld says why there is no Command although the rule has one (a
	// value it would use is not of its kind); untrusted, escaped here.
	Withheld string
}

// Description renders the ticket's description in wiki markup: what
// fired, the links, and the rollback suggestion. Every untrusted value is
// escaped with Escape and cut, and the whole is at most jiraTextMax
// characters.
func Description(v View) string {
	inc := v.Incident
	if inc == nil {
		return ""
	}
	if inc.IsStorm() {
		return stormDescription(v)
	}
	var b strings.Builder
	b.WriteString("h2. What fired\n")
	b.WriteString(jiraWhatFired(v))
	b.WriteString("\n\nh2. Links\n")
	b.WriteString(jiraLinkList(v.Links))
	start := v.Start
	if start.IsZero() {
		start = inc.OpenedAt
	}
	b.WriteString("\n\nh2. Deploys and traces\n")
	b.WriteString(evidenceWiki(inc.Evidence, inc.Unit, start))
	b.WriteString("\n\nh2. Rollback suggestion\n")
	if ev := inc.Evidence; v.Rollback == nil && ev != nil && ev.NoDeploys != "" {
		b.WriteString(Escape(ev.NoDeploys) + ": warroom suggests no rollback.")
	} else {
		b.WriteString(jiraRollback(start, v.Rollback))
	}
	if !v.Now.IsZero() {
		b.WriteString("\n\n----\n_Updated " + v.Now.UTC().Format(jiraTimeLayout) + " by warroom._")
	}
	return boundWiki(b.String(), jiraTextMax)
}

// jiraWhatFired is the first section: title, annotations, facts and the
// alerts table.
func jiraWhatFired(v View) string {
	inc := v.Incident
	title := wikiInline(inc.Title, wikiTitleMax)
	if title == "" {
		title = wikiInline(inc.Service, wikiTitleMax)
	}
	if title == "" {
		title = "(no title)"
	}
	var b strings.Builder
	b.WriteString("*" + title + "*")
	if len(v.Alerts) > 0 {
		ann := v.Alerts[0].Annotations
		summary := strings.TrimSpace(ann["summary"])
		if summary != "" {
			b.WriteString("\n" + escapeWiki(summary, wikiSummaryMax))
		}
		if d := strings.TrimSpace(ann["description"]); d != "" && d != summary {
			b.WriteString("\n" + escapeWiki(d, wikiAnnotationMax))
		}
	}

	value := render.NowAndPeak(inc)
	where := wikiInline(inc.Service, wikiNameMax)
	if where == "" {
		where = "unknown"
	}
	if env := wikiInline(inc.Env, wikiNameMax); env != "" {
		where += " (" + env + ")"
	}
	severity := wikiInline(string(inc.Severity), wikiNameMax)
	if severity == "" {
		severity = "unknown"
	}
	alerts := "none attached"
	if total := max(v.TotalAlerts, len(v.Alerts)); total > 0 {
		alerts = fmt.Sprintf("%d firing of %d", v.FiringAlerts, total)
	}
	facts := []string{
		"*Value:* " + value,
		"*Severity:* " + severity,
		"*Service:* " + where,
		"*Started:* " + inc.OpenedAt.UTC().Format(jiraTimeLayout),
		"*Alerts:* " + alerts,
	}
	if rule := wikiInline(inc.Rule, wikiNameMax); rule != "" {
		facts = append(facts, "*Rule:* "+rule)
	}
	b.WriteString("\n\n* " + strings.Join(facts, "\n* "))
	b.WriteString("\n\n" + jiraAlertsTable(v))
	if inc.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, "\n(Alertmanager truncated %d more alerts.)", inc.TruncatedAlerts)
	}
	return b.String()
}

// jiraAlertsTable lists the first alerts as a table and counts the rest.
func jiraAlertsTable(v View) string {
	unit := v.Incident.Unit
	rows, unlisted := render.AlertLines(v.Alerts, v.TotalAlerts, func(a incident.Alert) string { return jiraAlertRow(a, unit) })
	if rows == nil {
		return "No alerts attached."
	}
	return render.ListText("||alert||labels||value||started||", rows, unlisted, "alerts", wikiTableMax)
}

// jiraAlertRow is one table row. Cells are one line each and padded with
// spaces, so an empty cell never makes "||" (a header cell).
func jiraAlertRow(a incident.Alert, unit incident.Unit) string {
	name := a.Labels["alertname"]
	if strings.TrimSpace(name) == "" {
		name = "(no alertname)"
	}
	if a.Status != incident.AlertFiring && a.Status != "" {
		name += " (" + string(a.Status) + ")"
	}
	keys := make([]string, 0, len(a.Labels))
	for k, val := range a.Labels {
		switch k {
		case "alertname", "service", "env", "severity":
			continue
		}
		if val != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	// Only what can show is joined: a cell is cut to wikiCellLabelsMax,
	// and labels may be megabytes.
	pairs := make([]string, 0, len(keys))
	room := 2 * (wikiCellLabelsMax + 1)
	for _, k := range keys {
		if room <= 0 {
			break
		}
		v, _ := wikiHead(a.Labels[k], room)
		p := k + "=" + v
		pairs = append(pairs, p)
		room -= utf8.RuneCountInString(p) + 2
	}
	var value, started string
	if a.Value != nil {
		value = unit.Format(*a.Value)
	}
	if !a.StartsAt.IsZero() {
		started = a.StartsAt.UTC().Format(jiraTimeLayout)
	}
	cells := []string{
		wikiInline(name, wikiCellAlertMax),
		wikiInline(strings.Join(pairs, ", "), wikiCellLabelsMax),
		value,
		started,
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

// jiraLinkList lists the links as "* Grafana: [title|url]", dropping those
// that are not http(s) and those the budget has no room for.
func jiraLinkList(links []render.Link) string {
	var lines []string
	used, unlisted := 0, 0
	for i, l := range links {
		if l.Kind == "jira" {
			continue
		}
		if used > wikiLinksMax {
			// No room left: the rest are counted, not rendered (a hostile
			// incident may carry thousands of huge links).
			unlisted = len(links) - i - countKind(links[i:], "jira")
			break
		}
		if n := len(lines); n > 0 {
			used += render.TextLen(lines[n-1]) + 1
		}
		kind := jiraLinkKind(l.Kind)
		if l.URL == "" && l.Note != "" {
			// A link withheld by the host allow-list: its title and why,
			// as plain text.
			title := wikiInline(l.Title, wikiLinkTitleMax)
			if title == "" || strings.EqualFold(title, kind) {
				title = kind
			} else {
				title = kind + ": " + title
			}
			lines = append(lines, "* "+title+" ("+wikiInline(l.Note, wikiLinkTitleMax)+")")
			continue
		}
		u, ok := wikiLinkURL(l.URL)
		if !ok {
			continue
		}
		title := wikiInline(wikiLinkTitleSafe.Replace(l.Title), wikiLinkTitleMax)
		line := "* "
		if title == "" || strings.EqualFold(title, kind) {
			title = kind
		} else {
			line += kind + ": "
		}
		lines = append(lines, line+"["+title+"|"+u+"]")
	}
	if len(lines) == 0 {
		return "No links yet."
	}
	return strings.TrimPrefix(render.ListText("", lines, unlisted, "links", wikiLinksMax), "\n")
}

// wikiLinkTitleSafe replaces the characters that Jira's link parser reads
// before any backslash is: it splits [title|url] at the first "|", escaped
// or not, and pairs "!" (embedded images) across the split. Look-alikes
// take their place in a link's title.
var wikiLinkTitleSafe = strings.NewReplacer("|", "¦", "!", "ǃ")

// jiraLinkKind names a kind of link for people; it is escaped.
func jiraLinkKind(kind string) string {
	switch kind {
	case "war_room":
		return "War room"
	case "alertmanager":
		return "Alertmanager"
	case "grafana":
		return "Grafana"
	case "jaeger":
		return "Jaeger"
	case "runbook":
		return "Runbook"
	case render.KindBridge:
		return "Bridge"
	case render.KindPage:
		return "Incident page"
	case "":
		return "Link"
	}
	return wikiInline(kind, 40)
}

// wikiURLEscapes are the bytes percent-encoded in a link's URL: those that
// would end [title|url] early (| and ]), open another link ([), start a
// macro ({ and }: macros are parsed before links), escape the closing
// bracket (\), or split the link (whitespace).
const wikiURLEscapes = "|[]{}\\"

// countKind counts the links of one kind.
func countKind(links []render.Link, kind string) int {
	n := 0
	for _, l := range links {
		if l.Kind == kind {
			n++
		}
	}
	return n
}

// wikiLinkURL returns raw as it may stand in [title|url], or false when it
// is not an absolute http(s) URL of at most render.MaxURL characters (the bound
// the Slack summary uses, so both show the same links).
func wikiLinkURL(raw string) (string, bool) { return render.LinkURL(raw, " "+wikiURLEscapes) }

// jiraRollback is the rollback section: what is missing, or the suspect
// deploy, the revision to go back to, and the command in a {noformat}
// block.
func jiraRollback(start time.Time, r *RollbackSuggestion) string {
	if r == nil {
		return noDeployHistoryWiki
	}
	suspect := wikiInline(jiraShortRevision(r.SuspectRevision), wikiNameMax)
	if suspect == "" {
		suspect = "unknown revision"
	}
	line := "* *Suspect deploy:* " + suspect
	if author := wikiInline(r.Author, wikiNameMax); author != "" {
		line += " by " + author
	}
	if u, ok := wikiLinkURL(r.DeployURL); ok {
		line += " ([deploy|" + u + "])"
	}
	deployed := "* *Deployed at:* unknown"
	if !r.DeployedAt.IsZero() {
		deployed = "* *Deployed at:* " + r.DeployedAt.UTC().Format(jiraTimeLayout)
		deployed += ", " + render.Relative(r.DeployedAt, start)
	}
	target := wikiInline(jiraShortRevision(r.TargetRevision), wikiNameMax)
	if target == "" {
		target = "unknown"
	}
	lines := []string{line, deployed, "* *Roll back to:* " + target}
	cmd := strings.TrimSpace(cleanWiki(r.Command))
	if cmd == "" && r.Withheld != "" {
		return strings.Join(lines, "\n") + "\n\n*No rollback command:* " + wikiInline(r.Withheld, wikiWithheldMax) + "."
	}
	if cmd == "" {
		return strings.Join(lines, "\n") + "\n\nNo rollback command configured for this rule ({{rollback.command}})."
	}
	return strings.Join(lines, "\n") + "\n\n{noformat}\n" + wikiNoformatSafe(cmd, wikiCommandMax) + "\n{noformat}"
}

// jiraShortRevision shortens a full commit SHA to git's 7 characters; any
// other revision (a tag, a version) is kept.
func jiraShortRevision(rev string) string {
	rev = strings.TrimSpace(rev)
	if len(rev) < 12 {
		return rev
	}
	for _, r := range rev {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return rev
		}
	}
	return rev[:7]
}

// Label makes a Jira label of any text, e.g. "warroom-inc-7" or a
// service name: lowercase [a-z0-9_-], everything else folded to "-" (so
// there is no space, which Jira rejects, and JQL finds the label
// unquoted), at most 255 characters. It is "" when nothing is left;
// callers drop empty labels.
func Label(s string) string {
	l := render.Slug(s)
	if len(l) > maxJiraLabel {
		l = strings.TrimRight(l[:maxJiraLabel], "-_")
	}
	return l
}

// Summary renders the ticket summary: one line, at most 255 characters.
//
//	[INC-7] payment-gateway error rate 3.11% vs 0.8% (prod)
//	[INC-8] payment-gateway P99 latency 1.8 s vs 500 ms (prod)
func Summary(inc *incident.Incident) string {
	if inc.IsStorm() {
		return render.OneLine(fmt.Sprintf("[%s] %s", inc.ID, inc.Title), 255)
	}
	s := fmt.Sprintf("[%s] %s", inc.ID, inc.Service)
	if inc.Value != nil {
		s += render.Headline(inc)
	} else {
		s += " " + inc.Title
	}
	if inc.Env != "" {
		s += " (" + inc.Env + ")"
	}
	return render.OneLine(s, 255)
}
