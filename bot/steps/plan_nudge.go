package steps

import (
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// Nudge posts a reminder's nudge (the timeline event ev) in the war room
// and, for the unacknowledged one, in announce (a channel ID, or "#name"
// in a plan without lookups; "" for none). key marks the messages, so
// that a second run finds them.
func (p Planner) Nudge(inc *incident.Incident, ev incident.Event, announce, key string) []Call {
	calls := []Call{NewCall(SlackPost{Channel: Room(inc), Text: slackmsg.NudgeText(inc, ev), Metadata: Metadata(MetaNudge, key)})}
	if ev.Kind == incident.EventNudgedAck && announce != "" {
		calls = append(calls, NewCall(SlackPost{Channel: announce, Text: slackmsg.NudgeAnnounceText(inc, ev), Metadata: Metadata(MetaNudge, key)}))
	}
	return calls
}
