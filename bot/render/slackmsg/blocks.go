// Package slackmsg renders what warroom sends to Slack: the war room's
// Block Kit summary and its plain-text fallback, the announce line, the
// change and resolution messages, the channel name and topic, and the
// mrkdwn escaping that keeps alert content from making mentions or links;
// ValidateBlocks checks a message against Block Kit's limits before it is
// sent. It is pure: it imports incident, the shared render package and
// slack-go's Block Kit types (the values it returns), and nothing that
// does I/O.
package slackmsg

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// Block Kit limits; Slack answers invalid_blocks to a message over any of
// them. Lengths are in characters, counted as UTF-16 code units (see
// TextLen).
//
//   - https://docs.slack.dev/reference/block-kit/blocks
//   - https://docs.slack.dev/reference/block-kit/blocks/section-block
//   - https://docs.slack.dev/reference/block-kit/blocks/header-block
//   - https://docs.slack.dev/reference/block-kit/blocks/context-block
//   - https://docs.slack.dev/reference/block-kit/blocks/actions-block
//   - https://docs.slack.dev/reference/block-kit/block-elements/button-element
//   - https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
const (
	maxBlocks          = 50
	maxBlockID         = 255
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxContextElements = 10
	maxContextText     = 3000
	maxActionElements  = 25
	maxButtonText      = 75
	maxActionID        = 255
	maxButtonValue     = 2000
	maxURL             = render.MaxURL
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
)

// How much of an untrusted value the summary shows: enough to recognise
// it, little enough that ten alerts fit in one section.
const (
	alertNameMax  = 80
	labelKeyMax   = 30
	labelValueMax = 60
	alertLineMax  = 290
	linkTitleMax  = 120
	titleInline   = 200 // a title inside a line (fallback, announce)
	nameInline    = 100 // a service or user name inside a line
	lastErrorMax  = 1000
	changeTextMax = 2000
)

// The summary's block IDs, stable so that an update replaces like with like.
const (
	blockHeader    = "summary_header"
	blockFacts     = "summary_facts"
	blockAlerts    = "summary_alerts"
	blockLinks     = "summary_links"
	blockRollback  = "summary_rollback"
	blockLastError = "summary_last_error"
	blockActions   = "summary_actions"
	blockResolved  = "summary_resolved"
	blockUpdated   = "summary_updated"
)

// tellingLabels are the labels that tell alerts of one incident apart,
// in the order they are worth showing; alertname, service and env are
// already in the summary.
var tellingLabels = []string{"pod", "instance", "route", "endpoint", "handler", "method", "code", "status", "namespace", "job", "cluster"}

// shownTelling is how many telling labels an alert line shows.
const shownTelling = 3

// slackChannelID matches the IDs Slack gives channels (C…, G… for old
// private ones): only these become channel links.
var slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]+$`)

// SummaryBlocks renders the pinned war-room summary (README, Connect to Slack) as
// Block Kit. Every untrusted value is escaped and every text cut to Slack's
// limits, so the result always passes ValidateBlocks. Mrkdwn texts are
// verbatim: Slack does not turn a label's "@channel" or bare URL into a
// mention or link.
func SummaryBlocks(v SummaryView) []slack.Block {
	inc := v.Incident
	if inc == nil {
		return nil
	}
	if inc.IsStorm() {
		return stormBlocks(v)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(headerText(inc)), slack.HeaderBlockOptionBlockID(blockHeader)),
		slack.NewSectionBlock(nil, factFields(v), nil, slack.SectionBlockOptionBlockID(blockFacts)),
		section(blockAlerts, alertsText(v)),
		evidenceBlock(v),
	}
	if t := linksText(v); t != "" {
		blocks = append(blocks, section(blockLinks, t))
	}
	rollback := "No deploy history configured yet."
	if v.Rollback != "" {
		rollback = Escape(v.Rollback)
	}
	blocks = append(blocks, section(blockRollback, cutEscaped("*Rollback suggestion*\n"+rollback, maxSectionText)))
	if inc.LastError != "" {
		blocks = append(blocks, section(blockLastError, ":warning: *Last error*\n"+EscapeCut(inc.LastError, lastErrorMax)))
	}
	if inc.State == incident.Resolved {
		end := v.Now
		if inc.ResolvedAt != nil {
			end = *inc.ResolvedAt
		}
		text := ":white_check_mark: Resolved after " + render.HumanDuration(end.Sub(inc.OpenedAt))
		if p := render.Peak(inc); p != nil {
			text += ", peak " + inc.Unit.Format(*p)
		}
		blocks = append(blocks, slack.NewContextBlock(blockResolved, mrkdwnText(text)))
	} else {
		blocks = append(blocks, actionsBlock(inc))
	}
	return append(blocks, slack.NewContextBlock(blockUpdated, mrkdwnText("Updated "+v.Now.UTC().Format(render.TimeLayout)+" · warroom")))
}

// headerText is "INC-7: <title>", cut to the header's limit.
func headerText(inc *incident.Incident) string {
	title := inc.Title
	if title == "" {
		title = inc.Service
	}
	return cutEscaped(Escape(inc.ID+": "+inline(title)), maxHeaderText)
}

// factFields are the summary's two columns: where, how bad, since when,
// who.
func factFields(v SummaryView) []*slack.TextBlockObject {
	inc := v.Incident
	where := inline(inc.Service)
	if where == "" {
		where = "unknown"
	}
	if env := inline(inc.Env); env != "" {
		where += " · " + env
	}
	value := render.NowAndPeak(inc)
	started := inc.OpenedAt.UTC().Format(render.TimeLayout)
	if !v.Now.IsZero() {
		started += "\n" + render.HumanDuration(v.Now.Sub(inc.OpenedAt)) + " ago"
	}
	alerts := "none attached"
	if total := max(v.TotalAlerts, len(v.Alerts)); total > 0 {
		alerts = fmt.Sprintf("%d firing of %d", v.FiringAlerts, total)
	}
	if inc.TruncatedAlerts > 0 {
		alerts += fmt.Sprintf("\n:warning: %d more not sent by Alertmanager (truncated)", inc.TruncatedAlerts)
	}
	fields := []string{
		"*Service*\n" + EscapeCut(where, nameInline*2),
		"*Severity*\n" + severityEmoji(inc.Severity) + " " + EscapeCut(string(inc.Severity), nameInline),
		"*State*\n" + stateEmoji(inc.State) + " " + EscapeCut(string(inc.State), nameInline),
		"*Value*\n" + Escape(value),
		"*Started*\n" + started,
		"*Alerts*\n" + alerts,
	}
	return fieldTexts(append(fields, roleFields(inc)...))
}

// roleFields are the fields of the incident's role holders.
func roleFields(inc *incident.Incident) []string {
	var fields []string
	for _, role := range []struct{ name, who string }{{"Commander", inc.Commander}, {"Comms", inc.Comms}, {"Scribe", inc.Scribe}} {
		if role.who != "" {
			fields = append(fields, "*"+role.name+"*\n"+userRef(role.who))
		}
	}
	return fields
}

// fieldTexts makes a section's fields, each cut to Block Kit's limit.
func fieldTexts(fields []string) []*slack.TextBlockObject {
	out := make([]*slack.TextBlockObject, 0, len(fields))
	for _, f := range fields {
		out = append(out, mrkdwnText(cutEscaped(f, maxFieldText)))
	}
	return out
}

// alertsText lists the first alerts, one line each, and counts the rest.
func alertsText(v SummaryView) string {
	unit := v.Incident.Unit
	lines, unlisted := render.AlertLines(v.Alerts, v.TotalAlerts, func(a incident.Alert) string { return alertLine(a, unit) })
	if lines == nil {
		return "*Alerts*\nNo alerts attached."
	}
	return render.ListText("*Alerts*", lines, unlisted, "alerts", maxSectionText)
}

// alertLine renders "• :red_circle: *HighErrorRate* pod=api-1, route=/pay — 3.11%".
func alertLine(a incident.Alert, unit incident.Unit) string {
	status := ":white_circle:"
	switch a.Status {
	case incident.AlertFiring:
		status = ":red_circle:"
	case incident.AlertResolved:
		status = ":large_green_circle:"
	}
	name := a.Labels["alertname"]
	if name == "" {
		name = "(no alertname)"
	}
	head := "• " + status + " *" + EscapeCut(inline(name), alertNameMax) + "*"
	var value string
	if a.Value != nil {
		value = " — " + unit.Format(*a.Value)
	}
	// The labels give way first, so that the value always shows.
	if labels := tellingPairs(a.Labels); len(labels) > 0 {
		head += " " + cutEscaped(strings.Join(labels, ", "), alertLineMax-render.TextLen(head)-render.TextLen(value)-1)
	}
	return head + value
}

// tellingPairs renders the alert's most telling labels as key=value,
// escaped and cut: the known ones first, else two others by name.
func tellingPairs(labels map[string]string) []string {
	var keys []string
	for _, k := range tellingLabels {
		if labels[k] != "" && len(keys) < shownTelling {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		for k, val := range labels {
			switch k {
			case "alertname", "service", "env", "severity":
				continue
			}
			if val != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		keys = keys[:min(len(keys), 2)]
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, EscapeCut(inline(k), labelKeyMax)+"="+EscapeCut(inline(labels[k]), labelValueMax))
	}
	return out
}

// linksText lists the war room's links as <url|title>, one a line; a link
// whose URL Slack would reject or that is not http(s) is left out.
func linksText(v SummaryView) string {
	var lines []string
	jira := false
	for _, l := range v.Links {
		title := inline(l.Title)
		if title == "" {
			title = l.Kind
		}
		if title == "" {
			title = "link"
		}
		head := ""
		if l.Kind == render.KindBridge {
			// ":telephone_receiver: Bridge: <url|Join the bridge>", or
			// ":telephone_receiver: Bridge _(not linked: …)_".
			head, title = "Bridge: ", render.BridgeTitle
			if l.URL == "" {
				title = "Bridge"
			}
		}
		if l.URL == "" && l.Note != "" {
			// A link withheld by the host allow-list: its title and why,
			// as plain text.
			lines = append(lines, linkEmoji(l.Kind)+" "+EscapeCut(title, linkTitleMax)+" _("+EscapeCut(inline(l.Note), linkTitleMax)+")_")
			continue
		}
		u, ok := linkURL(l.URL)
		if !ok {
			continue
		}
		jira = jira || l.Kind == "jira"
		lines = append(lines, linkEmoji(l.Kind)+" "+head+"<"+u+"|"+EscapeCut(title, linkTitleMax)+">")
	}
	if !jira && v.Incident.JiraKey != "" {
		lines = append([]string{linkEmoji("jira") + " Jira " + EscapeCut(inline(v.Incident.JiraKey), linkTitleMax)}, lines...)
	}
	if len(lines) == 0 {
		return ""
	}
	return render.ListText("*Links*", lines, 0, "links", maxSectionText)
}

// urlSyntax makes the characters that end a mrkdwn link's URL inert.
var urlSyntax = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E")

// linkURL returns raw as it may stand in <url|title>, or false when it is
// not an absolute http(s) URL of at most maxURL characters. '&' stays
// as it is: links Slack reads are written that way (Grafana's &from=).
func linkURL(raw string) (string, bool) {
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	// An entity in a URL would be decoded by Slack into the text it hides.
	if strings.Contains(raw, "&amp;") || strings.Contains(raw, "&lt;") || strings.Contains(raw, "&gt;") {
		return "", false
	}
	s := urlSyntax.Replace(raw)
	if render.TextLen(s) > maxURL {
		return "", false
	}
	return s, true
}

func linkEmoji(kind string) string {
	switch kind {
	case "jira":
		return ":ticket:"
	case "grafana":
		return ":chart_with_upwards_trend:"
	case "jaeger":
		return ":mag:"
	case "runbook":
		return ":books:"
	case render.KindBridge:
		return ":telephone_receiver:"
	case "war_room":
		return ":speech_balloon:"
	case render.KindPage:
		return ":page_facing_up:"
	}
	return ":link:"
}

// actionsBlock holds the buttons that make sense in the incident's state:
// the next step of triggered → acknowledged → mitigated → resolved is the
// primary one; Roll back is the dangerous one.
func actionsBlock(inc *incident.Incident) *slack.ActionBlock {
	var els []slack.BlockElement
	if inc.State == incident.Triggered {
		els = append(els, button(ActionAck, "Acknowledge", inc.ID).WithStyle(slack.StylePrimary))
	}
	if inc.State != incident.Mitigated {
		b := button(ActionMitigate, "Mitigated", inc.ID)
		if inc.State == incident.Acknowledged {
			b.WithStyle(slack.StylePrimary)
		}
		els = append(els, b)
	}
	resolve := button(ActionResolve, "Resolve", inc.ID)
	if inc.State == incident.Mitigated {
		resolve.WithStyle(slack.StylePrimary)
	}
	if inc.IsStorm() {
		// A storm has no deploy to roll back and no alerts to silence:
		// its incidents' war rooms and lines say what to do.
		return slack.NewActionBlock(blockActions, append(els, resolve)...)
	}
	svc := inline(inc.Service)
	if svc == "" {
		svc = "the service"
	}
	svc = EscapeCut(svc, nameInline)
	rollback := button(ActionRollback, ":rewind: Roll back", inc.ID).WithStyle(slack.StyleDanger).WithConfirm(
		slack.NewConfirmationBlockObject(
			plainText("Roll back "+inc.ID+"?"),
			plainText("Roll back "+svc+" for "+inc.ID+" to its last good deploy? The request is recorded on the timeline."),
			plainText("Roll back"), plainText("Cancel")).WithStyle(slack.StyleDanger))
	silence := button(ActionSilence, ":no_bell: Silence 1h", inc.ID).WithConfirm(
		slack.NewConfirmationBlockObject(
			plainText("Silence "+inc.ID+" for 1 hour?"),
			plainText("New alerts of "+inc.ID+" ("+svc+") will not notify anyone for 1 hour. The war room stays open."),
			plainText("Silence 1h"), plainText("Cancel")))
	els = append(els, resolve, rollback, silence)
	return slack.NewActionBlock(blockActions, els...)
}

func button(actionID, text, incidentID string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, incidentID, plainText(text))
}

// section is a section block of verbatim mrkdwn text.
func section(id, text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwnText(text), nil, nil, slack.SectionBlockOptionBlockID(id))
}

// mrkdwnText is a verbatim mrkdwn text object: Slack parses only the
// <…> sequences we wrote, and does not link bare URLs, channel names or
// @mentions found in the (escaped) values.
func mrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// plainText is a plain_text object with emoji codes shown as emoji.
func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}
