package slackbot

import (
	"regexp"
	"strings"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// cmdMention matches a Slack user mention as a slash command receives it:
// <@U123|name> or <@U123>.
var cmdMention = regexp.MustCompile(`^<@([UW][A-Z0-9]{1,31})(?:\|[^>]*)?>$`)

// parseMention returns the user ID of a mention, or of a bare user ID.
func parseMention(s string) (string, bool) {
	if m := cmdMention.FindStringSubmatch(s); m != nil {
		return m[1], true
	}
	if cmdUserID.MatchString(s) {
		return s, true
	}
	return "", false
}

// cmdUserRef renders a stored actor or role holder: a Slack user ID as a
// mention, anything else escaped, "—" for nobody.
func cmdUserRef(s string) string {
	switch {
	case s == "":
		return "—"
	case cmdUserID.MatchString(s):
		return "<@" + s + ">"
	}
	return slackmsg.Escape(s)
}

// cmdChannelRef renders a war room's channel: a link once it exists, its
// reserved name before.
func cmdChannelRef(inc *incident.Incident) string {
	switch {
	case inc.SlackChannelID != "":
		return "<#" + inc.SlackChannelID + ">"
	case inc.SlackChannel != "":
		return "#" + slackmsg.Escape(inc.SlackChannel)
	}
	return "(no channel)"
}

// slackControl matches Slack's control sequences in received text:
// <@U123|name>, <#C123|name>, <!here>, <https://x|label>.
var slackControl = regexp.MustCompile(`<([^<>]*)>`)

// slackPlain turns text as Slack sends it (mentions and links in <…>,
// &, < and > escaped) into plain text for the timeline and Jira:
// <@U123|alice> → @alice, <@U123> → @U123, <#C1|ops> → #ops, <!here> →
// @here, <https://x|label> → label (https://x).
func slackPlain(s string) string {
	s = slackControl.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
			if hasLabel && label != "" {
				return target[:1] + label
			}
			return target
		case strings.HasPrefix(target, "!"): // <!here>, <!subteam^S1|@sre>
			if hasLabel && label != "" {
				return label
			}
			name, _, _ := strings.Cut(target[1:], "^")
			return "@" + name
		case hasLabel && label != "" && label != target:
			return label + " (" + target + ")"
		}
		return target
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
