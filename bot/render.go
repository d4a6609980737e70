package bot

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/incident"
)

// Slack's channel-name rules: lowercase letters, digits, '-' and '_', at
// most 80 characters (https://api.slack.com/methods/conversations.create).
const maxChannelName = 80

// ChannelName builds a war room's channel name, inc-<yyyymmdd>-<service>-<n>,
// reduced to Slack's rules. It is never empty and never over 80 characters:
// the service part is cut first so the date and number always survive.
func ChannelName(prefix string, opened time.Time, service string, n int64) string {
	if prefix = slug(prefix); prefix == "" {
		prefix = "inc"
	}
	svc := slug(service)
	if svc == "" {
		svc = "unknown"
	}
	head := prefix + "-" + opened.UTC().Format("20060102") + "-"
	tail := fmt.Sprintf("-%d", n)
	if room := maxChannelName - len(head) - len(tail); len(svc) > room {
		svc = strings.TrimRight(svc[:max(room, 1)], "-_")
	}
	return head + svc + tail
}

// slug lowercases s and maps everything outside [a-z0-9_-] to '-',
// collapsing runs and trimming the ends.
func slug(s string) string {
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

// EscapeMrkdwn makes an untrusted value inert in Slack mrkdwn: with &, <
// and > escaped, no label can produce <!channel>, a mention or a link.
func EscapeMrkdwn(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// JiraSummary renders the ticket summary: one line, at most 255 characters.
//
//	[INC-7] payment-gateway error rate 3.1% (prod)
func JiraSummary(inc *incident.Incident) string {
	s := fmt.Sprintf("[%s] %s", inc.ID, inc.Service)
	if inc.Value != nil {
		s += " error rate " + incident.FormatValue(*inc.Value)
	} else {
		s += " " + inc.Title
	}
	if inc.Env != "" {
		s += " (" + inc.Env + ")"
	}
	return oneLine(s, 255)
}

// oneLine folds whitespace to single spaces and cuts s to n bytes on a rune
// boundary.
func oneLine(s string, n int) string {
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

// valueVsThreshold renders "3.11% vs 0.8% threshold", or what is known.
func valueVsThreshold(inc *incident.Incident) string {
	switch {
	case inc.Value != nil && inc.Threshold != nil:
		return incident.FormatValue(*inc.Value) + " vs " + incident.FormatValue(*inc.Threshold) + " threshold"
	case inc.Value != nil:
		return incident.FormatValue(*inc.Value)
	}
	return "value unknown"
}

// Topic renders the war room's channel topic.
func Topic(inc *incident.Incident) string {
	return oneLine(fmt.Sprintf("%s %s | %s | %s | %s", inc.ID, inc.Service, inc.Severity, inc.State, valueVsThreshold(inc)), 250)
}

// SummaryAlerts is how many alerts a summary lists; the rest are counted.
const SummaryAlerts = 10

// SummaryText renders the summary as mrkdwn text, every alert-borne value
// escaped: alerts are the first of the incident's total alerts. The Slack
// issue replaces it with Block Kit; the dry run logs it.
func SummaryText(inc *incident.Incident, alerts []incident.Alert, total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s: %s*\n", inc.ID, EscapeMrkdwn(inc.Title))
	fmt.Fprintf(&b, "Service: %s (%s) | Severity: %s | State: %s\n", EscapeMrkdwn(inc.Service), EscapeMrkdwn(inc.Env), EscapeMrkdwn(string(inc.Severity)), inc.State)
	fmt.Fprintf(&b, "Value: %s", valueVsThreshold(inc))
	if inc.PeakValue != nil {
		fmt.Fprintf(&b, " (peak %s)", incident.FormatValue(*inc.PeakValue))
	}
	fmt.Fprintf(&b, "\nStarted: %s\n", inc.OpenedAt.UTC().Format(time.RFC3339))
	if inc.JiraKey != "" {
		fmt.Fprintf(&b, "Jira: %s\n", EscapeMrkdwn(inc.JiraKey))
	}
	for i, a := range alerts {
		if i == SummaryAlerts {
			break
		}
		fmt.Fprintf(&b, "• %s %s", EscapeMrkdwn(a.Labels["alertname"]), a.Status)
		if pod := a.Labels["pod"]; pod != "" {
			fmt.Fprintf(&b, " %s", EscapeMrkdwn(pod))
		}
		if a.Value != nil {
			fmt.Fprintf(&b, " %s", incident.FormatValue(*a.Value))
		}
		b.WriteByte('\n')
	}
	if shown := min(len(alerts), SummaryAlerts); total > shown {
		fmt.Fprintf(&b, "…and %d more alerts\n", total-shown)
	}
	if inc.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, "(Alertmanager truncated %d more alerts)\n", inc.TruncatedAlerts)
	}
	return b.String()
}
