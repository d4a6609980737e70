package incident

import (
	"strings"
	"time"
)

// The timeline events of follow-ups: work a responder asks for during an
// incident, filed as a Jira issue linked to the incident's ticket.
const (
	// EventFollowup is a responder's request; its text is the follow-up.
	EventFollowup EventKind = "followup"
	// EventFollowupFiled says the follow-up's issue was filed; its text is
	// FollowupFiledText's.
	EventFollowupFiled EventKind = "followup_filed"
)

// Followup is one follow-up of an incident.
type Followup struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Text  string    `json:"text"`
	// Key is the Jira issue filed for it, "" until it is.
	Key string `json:"key,omitempty"`
}

// FollowupFiledText is the text of the EventFollowupFiled event of the
// follow-up text filed as the issue key.
func FollowupFiledText(key, text string) string { return "follow-up " + key + " filed: " + text }

// Followups returns an incident's follow-ups from its timeline, in the
// order they were asked for, each with the key of its issue once filed:
// a filed event goes to the earliest request of the same text not yet
// filed.
func Followups(tl []Event) []Followup {
	var out []Followup
	for _, e := range tl {
		switch e.Kind {
		case EventFollowup:
			out = append(out, Followup{At: e.At, Actor: e.Actor, Text: e.Text})
		case EventFollowupFiled:
			rest, ok := strings.CutPrefix(e.Text, "follow-up ")
			key, text, found := strings.Cut(rest, " filed: ")
			if !ok || !found {
				continue
			}
			for i := range out {
				if out[i].Key == "" && out[i].Text == text {
					out[i].Key = key
					break
				}
			}
		}
	}
	return out
}
