package bot

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/incident"
)

// Block Kit limits; Slack answers invalid_blocks to a message over any of
// them. Lengths are in characters, counted as UTF-16 code units (see
// textLen).
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
	maxURL             = 3000
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

// timeLayout is how the summary shows an absolute time, always in UTC.
const timeLayout = "2006-01-02 15:04 UTC"

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

// The IDs Slack gives users (U…, W… on Enterprise Grid) and channels
// (C…, G… for old private ones): only these become mentions.
var (
	slackUserID    = regexp.MustCompile(`^[UW][A-Z0-9]+$`)
	slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]+$`)
)

// SummaryBlocks renders the pinned war-room summary (DESIGN.md §5) as
// Block Kit. Every untrusted value is escaped and every text cut to Slack's
// limits, so the result always passes ValidateBlocks. Mrkdwn texts are
// verbatim: Slack does not turn a label's "@channel" or bare URL into a
// mention or link.
func SummaryBlocks(v SummaryView) []slack.Block {
	inc := v.Incident
	if inc == nil {
		return nil
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
		rollback = EscapeMrkdwn(v.Rollback)
	}
	blocks = append(blocks, section(blockRollback, cutEscaped("*Rollback suggestion*\n"+rollback, maxSectionText)))
	if inc.LastError != "" {
		blocks = append(blocks, section(blockLastError, ":warning: *Last error*\n"+escapeCut(inc.LastError, lastErrorMax)))
	}
	if inc.State == incident.Resolved {
		end := v.Now
		if inc.ResolvedAt != nil {
			end = *inc.ResolvedAt
		}
		text := ":white_check_mark: Resolved after " + humanDuration(end.Sub(inc.OpenedAt))
		if p := peak(inc); p != nil {
			text += ", peak " + incident.FormatValue(*p)
		}
		blocks = append(blocks, slack.NewContextBlock(blockResolved, mrkdwnText(text)))
	} else {
		blocks = append(blocks, actionsBlock(inc))
	}
	return append(blocks, slack.NewContextBlock(blockUpdated, mrkdwnText("Updated "+v.Now.UTC().Format(timeLayout)+" · warroom")))
}

// headerText is "INC-7: <title>", cut to the header's limit.
func headerText(inc *incident.Incident) string {
	title := inc.Title
	if title == "" {
		title = inc.Service
	}
	return cutEscaped(EscapeMrkdwn(inc.ID+": "+inline(title)), maxHeaderText)
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
	value := valueVsThreshold(inc)
	if inc.PeakValue != nil {
		value += " (peak " + incident.FormatValue(*inc.PeakValue) + ")"
	}
	started := inc.OpenedAt.UTC().Format(timeLayout)
	if !v.Now.IsZero() {
		started += "\n" + humanDuration(v.Now.Sub(inc.OpenedAt)) + " ago"
	}
	alerts := "none attached"
	if total := max(v.TotalAlerts, len(v.Alerts)); total > 0 {
		alerts = fmt.Sprintf("%d firing of %d", v.FiringAlerts, total)
	}
	if inc.TruncatedAlerts > 0 {
		alerts += fmt.Sprintf("\n:warning: %d more not sent by Alertmanager (truncated)", inc.TruncatedAlerts)
	}
	fields := []string{
		"*Service*\n" + escapeCut(where, nameInline*2),
		"*Severity*\n" + severityEmoji(inc.Severity) + " " + escapeCut(string(inc.Severity), nameInline),
		"*State*\n" + stateEmoji(inc.State) + " " + escapeCut(string(inc.State), nameInline),
		"*Value*\n" + EscapeMrkdwn(value),
		"*Started*\n" + started,
		"*Alerts*\n" + alerts,
	}
	for _, role := range []struct{ name, who string }{{"Commander", inc.Commander}, {"Comms", inc.Comms}, {"Scribe", inc.Scribe}} {
		if role.who != "" {
			fields = append(fields, "*"+role.name+"*\n"+userRef(role.who))
		}
	}
	out := make([]*slack.TextBlockObject, 0, len(fields))
	for _, f := range fields {
		out = append(out, mrkdwnText(cutEscaped(f, maxFieldText)))
	}
	return out
}

// alertsText lists the first alerts, one line each, and counts the rest.
func alertsText(v SummaryView) string {
	lines, unlisted := alertLines(v.Alerts, v.TotalAlerts, alertLine)
	if lines == nil {
		return "*Alerts*\nNo alerts attached."
	}
	return listText("*Alerts*", lines, unlisted, "alerts", maxSectionText)
}

// alertLines renders the first SummaryAlerts alerts with line and says how
// many of total are left unlisted; nil when there are none at all.
func alertLines(alerts []incident.Alert, total int, line func(incident.Alert) string) (lines []string, unlisted int) {
	listed := alerts[:min(len(alerts), SummaryAlerts)]
	total = max(total, len(alerts))
	if total == 0 {
		return nil, 0
	}
	lines = make([]string, 0, len(listed))
	for _, a := range listed {
		lines = append(lines, line(a))
	}
	return lines, total - len(listed)
}

// alertLine renders "• :red_circle: *HighErrorRate* pod=api-1, route=/pay — 3.11%".
func alertLine(a incident.Alert) string {
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
	head := "• " + status + " *" + escapeCut(inline(name), alertNameMax) + "*"
	var value string
	if a.Value != nil {
		value = " — " + incident.FormatValue(*a.Value)
	}
	// The labels give way first, so that the value always shows.
	if labels := tellingPairs(a.Labels); len(labels) > 0 {
		head += " " + cutEscaped(strings.Join(labels, ", "), alertLineMax-textLen(head)-textLen(value)-1)
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
		out = append(out, escapeCut(inline(k), labelKeyMax)+"="+escapeCut(inline(labels[k]), labelValueMax))
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
		if l.URL == "" && l.Note != "" {
			// A link withheld by the host allow-list: its title and why,
			// as plain text.
			lines = append(lines, linkEmoji(l.Kind)+" "+escapeCut(title, linkTitleMax)+" _("+escapeCut(inline(l.Note), linkTitleMax)+")_")
			continue
		}
		u, ok := linkURL(l.URL)
		if !ok {
			continue
		}
		jira = jira || l.Kind == "jira"
		lines = append(lines, linkEmoji(l.Kind)+" <"+u+"|"+escapeCut(title, linkTitleMax)+">")
	}
	if !jira && v.Incident.JiraKey != "" {
		lines = append([]string{linkEmoji("jira") + " Jira " + escapeCut(inline(v.Incident.JiraKey), linkTitleMax)}, lines...)
	}
	if len(lines) == 0 {
		return ""
	}
	return listText("*Links*", lines, 0, "links", maxSectionText)
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
	if textLen(s) > maxURL {
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
	case "war_room":
		return ":speech_balloon:"
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
	svc := inline(inc.Service)
	if svc == "" {
		svc = "the service"
	}
	svc = escapeCut(svc, nameInline)
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

// SummaryFallback is the plain text sent with the summary's blocks, the
// one line notifications show:
//
//	INC-7 payment-gateway error rate 3.11% > 0.8% (triggered)
func SummaryFallback(v SummaryView) string {
	inc := v.Incident
	if inc == nil {
		return ""
	}
	s := EscapeMrkdwn(inc.ID) + " " + escapeCut(inline(inc.Service), nameInline)
	if inc.Value != nil {
		s += " error rate " + incident.FormatValue(*inc.Value)
		if t := inc.Threshold; t != nil {
			cmp := " &gt; "
			if *inc.Value <= *t {
				cmp = " ≤ "
			}
			s += cmp + incident.FormatValue(*t)
		}
	} else if title := inline(inc.Title); title != "" {
		s += ": " + escapeCut(title, titleInline)
	}
	return s + " (" + EscapeMrkdwn(string(inc.State)) + ")"
}

// AnnounceText is the incident's line in the announce channel, with a link
// to the war room (the channel's name as text while its ID is unknown):
//
//	:red_circle: *INC-7* High error rate — *triggered* · 3.11% vs 0.8% threshold · <#C123>
func AnnounceText(inc *incident.Incident, channelID string) string {
	title := inline(inc.Title)
	if title == "" {
		title = inline(inc.Service)
	}
	room := "no war room"
	switch {
	case slackChannelID.MatchString(channelID):
		room = "<#" + channelID + ">"
	case inc.SlackChannel != "":
		room = "#" + escapeCut(inline(inc.SlackChannel), nameInline)
	}
	return fmt.Sprintf("%s *%s* %s — *%s* · %s · %s", severityEmoji(inc.Severity), EscapeMrkdwn(inc.ID),
		escapeCut(title, titleInline), escapeCut(string(inc.State), nameInline), EscapeMrkdwn(valueVsThreshold(inc)), room)
}

// ChangeText is the short thread reply that says what a timeline event
// changed (for example ":eyes: Acknowledged by <@U123>.").
func ChangeText(ev incident.Event) string {
	who := actorRef(ev.Actor)
	w, text, ok := wordEvent(ev)
	head := w.emoji + " " + w.title
	switch {
	case !ok:
		head = escapeCut(inline(string(ev.Kind)), nameInline) + " by " + who
	case w.by != "":
		head += w.by + who
	}
	if strings.TrimSpace(text) == "" {
		return head + "."
	}
	return head + ": " + escapeCut(strings.TrimSpace(text), changeTextMax)
}

// ResolutionText is the resolution message:
//
//	INC-7 resolved after 1h 23m; peak 3.11% (threshold 0.8%)
func ResolutionText(inc *incident.Incident, now time.Time) string {
	end := now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	s := inc.ID + " resolved after " + humanDuration(end.Sub(inc.OpenedAt))
	if p := peak(inc); p != nil {
		s += "; peak " + incident.FormatValue(*p)
		if inc.Threshold != nil {
			s += " (threshold " + incident.FormatValue(*inc.Threshold) + ")"
		}
	}
	return EscapeMrkdwn(s)
}

// ValidateBlocks checks blocks against the Block Kit limits that Slack
// enforces with invalid_blocks, for the block types warroom renders
// (header, section, context, actions with buttons, divider); any other
// type is an error. It returns the first violation.
func ValidateBlocks(blocks []slack.Block) error {
	if len(blocks) > maxBlocks {
		return fmt.Errorf("%d blocks, at most %d", len(blocks), maxBlocks)
	}
	ids := map[string]int{}
	for i, b := range blocks {
		if b == nil {
			return fmt.Errorf("block %d is nil", i)
		}
		if id := b.ID(); id != "" {
			if textLen(id) > maxBlockID {
				return fmt.Errorf("block %d: block_id is %d characters, at most %d", i, textLen(id), maxBlockID)
			}
			if j, dup := ids[id]; dup {
				return fmt.Errorf("block %d: block_id %q already used by block %d", i, id, j)
			}
			ids[id] = i
		}
		if err := validateBlock(b); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, b.BlockType(), err)
		}
	}
	return nil
}

func validateBlock(b slack.Block) error {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		if err := checkText(b.Text, "text", maxHeaderText); err != nil {
			return err
		}
		if b.Text.Type != slack.PlainTextType {
			return errors.New("text must be plain_text")
		}
	case *slack.SectionBlock:
		if b.Text == nil && len(b.Fields) == 0 {
			return errors.New("neither text nor fields")
		}
		if b.Text != nil {
			if err := checkText(b.Text, "text", maxSectionText); err != nil {
				return err
			}
		}
		if len(b.Fields) > maxSectionFields {
			return fmt.Errorf("%d fields, at most %d", len(b.Fields), maxSectionFields)
		}
		for i, f := range b.Fields {
			if err := checkText(f, fmt.Sprintf("field %d", i), maxFieldText); err != nil {
				return err
			}
		}
		if b.Accessory != nil {
			return errors.New("accessory not supported")
		}
	case *slack.ContextBlock:
		els := b.ContextElements.Elements
		if len(els) == 0 || len(els) > maxContextElements {
			return fmt.Errorf("%d elements, want 1 to %d", len(els), maxContextElements)
		}
		for i, e := range els {
			t, ok := e.(*slack.TextBlockObject)
			if !ok {
				return fmt.Errorf("element %d: %T not supported", i, e)
			}
			if err := checkText(t, fmt.Sprintf("element %d", i), maxContextText); err != nil {
				return err
			}
		}
	case *slack.ActionBlock:
		if b.Elements == nil || len(b.Elements.ElementSet) == 0 || len(b.Elements.ElementSet) > maxActionElements {
			n := 0
			if b.Elements != nil {
				n = len(b.Elements.ElementSet)
			}
			return fmt.Errorf("%d elements, want 1 to %d", n, maxActionElements)
		}
		for i, e := range b.Elements.ElementSet {
			btn, ok := e.(*slack.ButtonBlockElement)
			if !ok {
				return fmt.Errorf("element %d: %T not supported", i, e)
			}
			if err := checkButton(btn); err != nil {
				return fmt.Errorf("button %d: %w", i, err)
			}
		}
	case *slack.DividerBlock:
	default:
		return fmt.Errorf("block type %T not supported", b)
	}
	return nil
}

func checkButton(b *slack.ButtonBlockElement) error {
	if err := checkText(b.Text, "text", maxButtonText); err != nil {
		return err
	}
	if b.Text.Type != slack.PlainTextType {
		return errors.New("text must be plain_text")
	}
	if n := textLen(b.ActionID); n > maxActionID {
		return fmt.Errorf("action_id is %d characters, at most %d", n, maxActionID)
	}
	if n := textLen(b.Value); n > maxButtonValue {
		return fmt.Errorf("value is %d characters, at most %d", n, maxButtonValue)
	}
	if n := textLen(b.URL); n > maxURL {
		return fmt.Errorf("url is %d characters, at most %d", n, maxURL)
	}
	if c := b.Confirm; c != nil {
		for _, p := range []struct {
			name string
			t    *slack.TextBlockObject
			max  int
		}{{"confirm title", c.Title, maxConfirmTitle}, {"confirm text", c.Text, maxConfirmText}, {"confirm button", c.Confirm, maxConfirmButton}} {
			if err := checkText(p.t, p.name, p.max); err != nil {
				return err
			}
		}
		if c.Deny != nil {
			if err := checkText(c.Deny, "deny button", maxConfirmButton); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText checks a text object: a known type, not empty, at most limit
// characters.
func checkText(t *slack.TextBlockObject, name string, limit int) error {
	if t == nil {
		return fmt.Errorf("%s missing", name)
	}
	if t.Type != slack.PlainTextType && t.Type != slack.MarkdownType {
		return fmt.Errorf("%s: type %q, want plain_text or mrkdwn", name, t.Type)
	}
	n := textLen(t.Text)
	if n == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	if n > limit {
		return fmt.Errorf("%s is %d characters, at most %d", name, n, limit)
	}
	return nil
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

// listText joins head and lines, one a line, in at most limit characters:
// the lines that do not fit are counted with the unlisted ones in a last
// line "…and N more <noun>". Lines are dropped whole, never cut.
func listText(head string, lines []string, unlisted int, noun string, limit int) string {
	more := func(n int) string { return fmt.Sprintf("\n…and %d more %s", n, noun) }
	reserve := textLen(more(len(lines) + unlisted))
	var b strings.Builder
	b.WriteString(head)
	n, shown := textLen(head), 0
	for _, l := range lines {
		need := n + 1 + textLen(l)
		if len(lines)-shown-1+unlisted > 0 {
			need += reserve
		}
		if need > limit {
			break
		}
		b.WriteString("\n")
		b.WriteString(l)
		n += 1 + textLen(l)
		shown++
	}
	if left := len(lines) - shown + unlisted; left > 0 {
		b.WriteString(more(left))
	}
	return b.String()
}

// userRef mentions a Slack user by ID; anything else (cli:alice, api) is
// shown as escaped text.
func userRef(s string) string {
	if slackUserID.MatchString(s) {
		return "<@" + s + ">"
	}
	return escapeCut(inline(s), nameInline)
}

// actorRef names who did something on the timeline.
func actorRef(actor string) string {
	switch actor {
	case incident.ActorAlert:
		return "an alert"
	case incident.ActorSystem:
		return "warroom"
	case "":
		return "someone"
	}
	return userRef(actor)
}

func severityEmoji(s incident.Severity) string {
	switch s {
	case incident.Critical:
		return ":red_circle:"
	case incident.Warning:
		return ":large_orange_circle:"
	case incident.Info:
		return ":large_blue_circle:"
	}
	return ":white_circle:"
}

func stateEmoji(s incident.State) string {
	switch s {
	case incident.Triggered:
		return ":rotating_light:"
	case incident.Acknowledged:
		return ":eyes:"
	case incident.Mitigated:
		return ":adhesive_bandage:"
	case incident.Resolved:
		return ":white_check_mark:"
	}
	return ":grey_question:"
}

// peak is the highest value seen, or the current one when no peak is kept.
func peak(inc *incident.Incident) *float64 {
	if inc.PeakValue != nil {
		return inc.PeakValue
	}
	return inc.Value
}

// humanDuration renders d for people: 45s, 23m, 1h 23m, 2d 3h.
func humanDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		if m := int(d/time.Minute) % 60; m > 0 {
			return fmt.Sprintf("%dh %dm", int(d/time.Hour), m)
		}
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	if h := int(d/time.Hour) % 24; h > 0 {
		return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), h)
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// inline folds every run of whitespace, newlines included, to one space.
func inline(s string) string { return strings.Join(strings.Fields(s), " ") }

// escapeCut escapes an untrusted value and cuts it to limit characters.
func escapeCut(s string, limit int) string { return cutEscaped(EscapeMrkdwn(s), limit) }

// cutEscaped cuts escaped mrkdwn to at most limit characters, "…"
// included, on a rune boundary and never inside an entity: every '&' of
// escaped text starts one (&amp; &lt; &gt;), so a cut after an '&' with
// no ';' since backs up to it.
func cutEscaped(s string, limit int) string {
	if textLen(s) <= limit {
		return s
	}
	n, cut := 0, len(s)
	for i, r := range s {
		if n+runeLen(r) > limit-1 {
			cut = i
			break
		}
		n += runeLen(r)
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut] + "…"
}

// textLen is the length Slack's limits are checked against. Counting
// UTF-16 code units, as Slack's JavaScript clients do, is never less than
// the rune count, so a text within it is within either reading.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += runeLen(r)
	}
	return n
}

func runeLen(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
