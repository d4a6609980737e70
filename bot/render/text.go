// Package render holds what the Slack and the Jira renderings share: the
// links of a war room and which hosts they may point at, the wording of
// timeline events, and text measures and phrasings that are neither mrkdwn
// nor wiki markup. Like the two renderers below it, it is pure: it imports
// only incident.
package render

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/incident"
)

// ListText joins head and lines, one a line, in at most limit characters:
// the lines that do not fit are counted with the unlisted ones in a last
// line "…and N more <noun>". Lines are dropped whole, never cut.
func ListText(head string, lines []string, unlisted int, noun string, limit int) string {
	more := func(n int) string { return fmt.Sprintf("\n…and %d more %s", n, noun) }
	reserve := TextLen(more(len(lines) + unlisted))
	var b strings.Builder
	b.WriteString(head)
	n, shown := TextLen(head), 0
	for _, l := range lines {
		need := n + 1 + TextLen(l)
		if len(lines)-shown-1+unlisted > 0 {
			need += reserve
		}
		if need > limit {
			break
		}
		b.WriteString("\n")
		b.WriteString(l)
		n += 1 + TextLen(l)
		shown++
	}
	if left := len(lines) - shown + unlisted; left > 0 {
		b.WriteString(more(left))
	}
	return b.String()
}

// Peak is the highest value seen, or the current one when no Peak is kept.
func Peak(inc *incident.Incident) *float64 {
	if inc.PeakValue != nil {
		return inc.PeakValue
	}
	return inc.Value
}

// HumanDuration renders d for people: 45s, 23m, 1h 23m, 2d 3h.
func HumanDuration(d time.Duration) string {
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

// TextLen is the length Slack's limits are checked against. Counting
// UTF-16 code units, as Slack's JavaScript clients do, is never less than
// the rune count, so a text within it is within either reading.
func TextLen(s string) int {
	n := 0
	for _, r := range s {
		n += RuneLen(r)
	}
	return n
}

// RuneLen is the length of r as TextLen counts it: 2 past the Basic
// Multilingual Plane, else 1.
func RuneLen(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// MaxURL bounds a URL that is made a link, in characters (TextLen): Slack
// refuses a longer one in Block Kit
// (https://docs.slack.dev/reference/block-kit/block-elements/button-element),
// and the ticket keeps the same bound so that both show the same links.
const MaxURL = 3000

// slackUser matches the IDs Slack gives users (U…, W… on Enterprise Grid).
var slackUser = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

// IsSlackUser reports whether s is a Slack user ID: only these become
// mentions in Slack, and Jira names them as Slack users.
func IsSlackUser(s string) bool { return slackUser.MatchString(s) }

// TimeLayout is how the summary shows an absolute time, always in UTC.
const TimeLayout = "2006-01-02 15:04 UTC"

// AlertLines renders the first SummaryAlerts alerts with line and says how
// many of total are left unlisted; nil when there are none at all.
func AlertLines(alerts []incident.Alert, total int, line func(incident.Alert) string) (lines []string, unlisted int) {
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

// Slug lowercases s and maps everything outside [a-z0-9_-] to '-',
// collapsing runs and trimming the ends.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

// OneLine folds whitespace to single spaces and cuts s to n bytes on a rune
// boundary.
func OneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ValueVsThreshold renders "3.11% vs 0.8% threshold", in the incident's
// unit with what it measures ("P99 latency 1.8 s vs 500 ms threshold",
// "63 auth failures in 10 min vs 50 threshold"), or what is known.
func ValueVsThreshold(inc *incident.Incident) string {
	switch {
	case inc.IsStorm():
		return "many services breaching at once"
	case inc.Value != nil && inc.Threshold != nil:
		return inc.Unit.Measure(*inc.Value) + " vs " + inc.Unit.Limit(*inc.Threshold) + " threshold"
	case inc.Value != nil:
		return inc.Unit.Measure(*inc.Value)
	}
	return "value unknown"
}

// NowAndPeak renders "now 3.11% (peak 3.5%) vs 0.8% threshold": the value
// of the worst alert firing now, the worst seen, and the threshold.
func NowAndPeak(inc *incident.Incident) string {
	if inc.Value == nil {
		return ValueVsThreshold(inc)
	}
	s := "now " + inc.Unit.Format(*inc.Value)
	if p := Peak(inc); p != nil {
		s += " (peak " + inc.Unit.Format(*p) + ")"
	}
	if inc.Threshold != nil {
		s += " vs " + inc.Unit.Format(*inc.Threshold) + " threshold"
	}
	return s
}

// ValueHeadline renders the value for a one-line title: " P99 latency
// 1.8 s" or " 63 auth failures in 10 min" for a unit that names what it
// measures or a count's window, else " error rate 3.11%" for a ratio and
// " at 750 ms" for the other units.
func ValueHeadline(inc *incident.Incident, v float64) string {
	switch u := inc.Unit; {
	case u.Name() != "" || u.Window() > 0:
		return " " + u.Measure(v)
	case u.Kind() == incident.UnitRatio:
		return " error rate " + u.Format(v)
	default:
		return " at " + u.Format(v)
	}
}

// Headline renders the value and the threshold for a one-line title:
// " P99 latency 1.8 s vs 500 ms", " 63 auth failures in 10 min vs 50",
// " error rate 3.11% vs 0.8%"; "" when the value is unknown.
func Headline(inc *incident.Incident) string {
	if inc.Value == nil {
		return ""
	}
	s := ValueHeadline(inc, *inc.Value)
	if inc.Threshold != nil {
		s += " vs " + inc.Unit.Limit(*inc.Threshold)
	}
	return s
}

// SummaryAlerts is how many alerts a summary lists; the rest are counted.
const SummaryAlerts = 10

// AlertStart is when an incident's trouble began: its earliest alert, else
// its opening.
func AlertStart(inc *incident.Incident, alerts []incident.Alert) time.Time {
	start := inc.OpenedAt
	for _, a := range alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(start) {
			start = a.StartsAt
		}
	}
	return start
}

// Relative says how long before (or after) the alert a time is.
func Relative(t, start time.Time) string {
	if d := start.Sub(t); d >= 0 {
		return HumanDuration(d) + " before the alert"
	}
	return HumanDuration(t.Sub(start)) + " after the alert"
}
