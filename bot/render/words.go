package render

import (
	"strings"

	"github.com/warroom/warroom/incident"
)

// Wording is how the war room and the ticket word a timeline event:
// the title, who did it, and the start of the event's text that the title
// already says.
type Wording struct {
	Emoji, Title string
	// By joins the actor to the title (" by ", " from "); "" names none.
	By string
	// verb starts the text when the service wrote it ("reopened: …",
	// "resolved by U1: …"): cut, since the title says it.
	verb string
	// noText: the title says all there is.
	noText bool
}

var eventWords = map[incident.EventKind]Wording{
	incident.EventAcknowledged:      {":eyes:", "Acknowledged", " by ", "", true},
	incident.EventMitigated:         {":adhesive_bandage:", "Mitigated", " by ", "", true},
	incident.EventResolved:          {":white_check_mark:", "Resolved", " by ", "resolved", false},
	incident.EventReopened:          {":rotating_light:", "Reopened", " by ", "reopened", false},
	incident.EventDeclared:          {":mega:", "Declared", " by ", "declared", false},
	incident.EventNote:              {":memo:", "Note", " from ", "", false},
	incident.EventAssigned:          {":bust_in_silhouette:", "Roles changed", " by ", "", false},
	incident.EventRollbackRequested: {":rewind:", "Rollback requested", " by ", "rollback requested", false},
	incident.EventSilenceRequested:  {":no_bell:", "Silence requested", " by ", "silence requested", false},
	incident.EventSeverityChanged:   {":level_slider:", "Severity changed", " by ", "", false},
	incident.EventEscalated:         {":rotating_light:", "Escalated", "", "", false},
	incident.EventOpened:            {":new:", "Opened", "", "", false},
	incident.EventRecorded:          {":file_folder:", "Recorded", "", "", false},
	incident.EventAlertAttached:     {":heavy_plus_sign:", "Alerts", "", "", false},
	incident.EventAlertResolved:     {":large_green_circle:", "Alert resolved", "", "alert resolved", false},
	incident.EventAlertRefired:      {":red_circle:", "Alert firing again", "", "alert firing again", false},
	incident.EventStep:              {":gear:", "Done", "", "", false},
	incident.EventStepFailed:        {":warning:", "Step failed", "", "", false},
	incident.EventWithheld:          {":no_entry:", "War room withheld", "", "war room withheld", false},
	incident.EventNudgedAck:         {":alarm_clock:", "Reminder: acknowledge", "", "", false},
	incident.EventNudgedUpdate:      {":alarm_clock:", "Reminder: post an update", "", "", false},
	incident.EventJoinedStorm:       {":thunder_cloud_and_rain:", "Joined the storm", "", "", false},
	incident.EventLeftStorm:         {":sun_small_cloud:", "Left the storm", "", "", false},
	incident.EventFollowup:          {":pushpin:", "Follow-up", " from ", "", false},
	incident.EventFollowupFiled:     {":ticket:", "Follow-up filed", "", "", false},
}

// WordEvent returns the wording of ev (ok false for a kind it does not
// know) and the part of its text the title does not already say.
func WordEvent(ev incident.Event) (w Wording, text string, ok bool) {
	w, ok = eventWords[ev.Kind]
	text = ev.Text
	switch {
	case !ok:
		return w, text, false
	case w.noText:
		return w, "", true
	case w.verb != "":
		text = trimVerb(text, w.verb, ev.Actor)
	case ev.Kind == incident.EventFollowupFiled:
		// "follow-up OPS-9 filed: add a canary" reads "OPS-9: add a canary"
		// after its title.
		if rest, ok := strings.CutPrefix(text, "follow-up "); ok {
			if key, what, found := strings.Cut(rest, " filed: "); found {
				text = key + ": " + what
			}
		}
	}
	return w, text, true
}

// trimVerb cuts "<verb>: ", "<verb> by <actor>: " or a bare
// "<verb> by <actor>" from the start of text.
func trimVerb(text, verb, actor string) string {
	if rest, ok := strings.CutPrefix(text, verb+": "); ok {
		return rest
	}
	rest, ok := strings.CutPrefix(text, verb+" by "+actor)
	if !ok {
		return text
	}
	if r, ok := strings.CutPrefix(rest, ": "); ok {
		return r
	}
	if rest == "" {
		return ""
	}
	return text
}
