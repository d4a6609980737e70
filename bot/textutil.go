package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

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
