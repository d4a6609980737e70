package jirawiki

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// Comment renders a timeline event as a ticket comment, e.g.
//
//	2025-03-04 10:23 UTC · *Acknowledged* by Slack user U024BE7LH.
//
// followed by marker on a line of its own (Marker(ev.ID), appended as
// given); the marker is how a retry finds the comment already posted.
func Comment(ev incident.Event, marker string) string {
	who := jiraActor(ev.Actor)
	w, text, ok := render.WordEvent(ev)
	head := "*" + w.Title + "*"
	switch {
	case !ok:
		kind := wikiInline(string(ev.Kind), wikiNameMax)
		if kind == "" {
			kind = "Event"
		}
		head = "*" + kind + "* by " + who
	case w.By != "":
		head += w.By + who
	}

	s := head
	if !ev.At.IsZero() {
		s = ev.At.UTC().Format(jiraTimeLayout) + " · " + head
	}
	if text = strings.TrimSpace(text); text != "" {
		s += ": " + escapeWiki(text, wikiEventTextMax)
	} else {
		s += "."
	}
	if marker != "" {
		s += "\n" + marker
	}
	return boundWiki(s, jiraTextMax)
}

// jiraActor names who did something on the timeline. Jira cannot mention
// a Slack user, so a Slack ID is shown as one.
func jiraActor(actor string) string {
	switch actor {
	case incident.ActorAlert:
		return "an alert"
	case incident.ActorSystem:
		return "warroom"
	case "":
		return "someone"
	}
	if render.IsSlackUser(actor) {
		return "Slack user " + actor
	}
	return wikiInline(actor, wikiNameMax)
}

// ClosingComment is the comment posted when the incident resolves:
// how long it lasted and how bad it got.
//
//	*INC\-7 resolved after 1h 18m* (opened 2025-03-04 09:00 UTC, resolved 2025-03-04 10:18 UTC); peak 4.2% vs 0.8% threshold.
func ClosingComment(inc *incident.Incident, now time.Time) string {
	end := now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	s := "*" + wikiInline(inc.ID, wikiNameMax) + " resolved after " + render.HumanDuration(end.Sub(inc.OpenedAt)) + "* (opened " +
		inc.OpenedAt.UTC().Format(jiraTimeLayout) + ", resolved " + end.UTC().Format(jiraTimeLayout) + ")"
	if p := render.Peak(inc); p != nil {
		s += "; peak " + inc.Unit.Format(*p)
		if inc.Threshold != nil {
			s += " vs " + inc.Unit.Format(*inc.Threshold) + " threshold"
		}
	}
	return s + "."
}

// Marker is the idempotency marker of a timeline event's comment,
// "warroom-event:<id>" in white ({color:#ffffff}), so that it does not
// show on Jira's light theme. Its text is letters, digits, "-" and ":",
// which Jira Cloud's conversion of wiki markup to its own document format
// and back leaves as they are (Data Center stores the text as sent). It
// cannot be forged by escaped text, as Escape never leaves a "{"
// unescaped, and the closing {color} keeps the marker of event 4 from
// matching that of event 42.
func Marker(eventID int64) string {
	return fmt.Sprintf("{color:#ffffff}warroom-event:%d{color}", eventID)
}
