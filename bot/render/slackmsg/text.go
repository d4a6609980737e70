package slackmsg

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// userRef mentions a Slack user by ID; anything else (cli:alice, api) is
// shown as escaped text.
func userRef(s string) string {
	if render.IsSlackUser(s) {
		return "<@" + s + ">"
	}
	return EscapeCut(inline(s), nameInline)
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
	case incident.Warning, incident.Major:
		return ":large_orange_circle:"
	case incident.Info, incident.Minor:
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

// inline folds every run of whitespace, newlines included, to one space.
func inline(s string) string { return strings.Join(strings.Fields(s), " ") }

// EscapeCut escapes an untrusted value and cuts it to limit characters.
func EscapeCut(s string, limit int) string { return cutEscaped(Escape(s), limit) }

// cutEscaped cuts escaped mrkdwn to at most limit characters, "…"
// included, on a rune boundary and never inside an entity: every '&' of
// escaped text starts one (&amp; &lt; &gt;), so a cut after an '&' with
// no ';' since backs up to it.
func cutEscaped(s string, limit int) string {
	if render.TextLen(s) <= limit {
		return s
	}
	n, cut := 0, len(s)
	for i, r := range s {
		if n+render.RuneLen(r) > limit-1 {
			cut = i
			break
		}
		n += render.RuneLen(r)
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut] + "…"
}

// Slack's channel-name rules: lowercase letters, digits, '-' and '_', at
// most 80 characters (https://api.slack.com/methods/conversations.create).
const maxChannelName = 80

// ChannelName builds a war room's channel name, inc-<yyyymmdd>-<service>-<n>,
// reduced to Slack's rules. It is never empty and never over 80 characters:
// the service part is cut first so the date and number always survive.
func ChannelName(prefix string, opened time.Time, service string, n int64) string {
	if prefix = render.Slug(prefix); prefix == "" {
		prefix = "inc"
	}
	svc := render.Slug(service)
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

// Escape makes an untrusted value inert in Slack mrkdwn: with &, <
// and > escaped, no label can produce <!channel>, a mention or a link.
func Escape(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Topic renders the war room's channel topic.
func Topic(inc *incident.Incident) string {
	return render.OneLine(fmt.Sprintf("%s %s | %s | %s | %s", inc.ID, inc.Service, inc.Severity, inc.State, render.ValueVsThreshold(inc)), 250)
}
