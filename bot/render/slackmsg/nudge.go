package slackmsg

import (
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// NudgeText is a reminder's nudge in the war room:
//
//	:alarm_clock: *INC-7* is not acknowledged 5m after the war room opened: `/warroom ack` or the Acknowledge button.
//	:memo: <@U123> *INC-7*: no status update for 30m. Post a note (`/warroom note …`) or change the state.
func NudgeText(inc *incident.Incident, ev incident.Event) string {
	if ev.Kind == incident.EventNudgedAck {
		return ":alarm_clock: *" + Escape(inc.ID) + "* is not acknowledged " + render.HumanDuration(ev.At.Sub(inc.OpenedAt)) +
			" after the war room opened: `/warroom ack` or the Acknowledge button."
	}
	who := "No commander is assigned (`/warroom assign commander @someone`);"
	if inc.Commander != "" {
		who = userRef(inc.Commander)
	}
	return ":memo: " + who + " *" + Escape(inc.ID) + "*: " + EscapeCut(inline(ev.Text), changeTextMax) +
		". Post a note (`/warroom note …`) or change the state."
}

// NudgeAnnounceText is the unacknowledged nudge in the announce channel,
// with a link to the war room:
//
//	:alarm_clock: *INC-7* High error rate is not acknowledged after 5m · <#C123>
func NudgeAnnounceText(inc *incident.Incident, ev incident.Event) string {
	title := inline(inc.Title)
	if title == "" {
		title = inline(inc.Service)
	}
	room := "#" + EscapeCut(inline(inc.SlackChannel), nameInline)
	if slackChannelID.MatchString(inc.SlackChannelID) {
		room = "<#" + inc.SlackChannelID + ">"
	}
	return ":alarm_clock: *" + Escape(inc.ID) + "* " + EscapeCut(title, titleInline) + " is not acknowledged after " +
		render.HumanDuration(ev.At.Sub(inc.OpenedAt)) + " · " + room
}
