package slackmsg

import (
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// The one-line texts beside the summary: its notification fallback, the
// announce line, the change and resolution messages.

// SummaryFallback is the plain text sent with the summary's blocks, the
// one line notifications show:
//
//	INC-7 payment-gateway error rate 3.11% > 0.8% (triggered)
func SummaryFallback(v SummaryView) string {
	inc := v.Incident
	if inc == nil {
		return ""
	}
	s := Escape(inc.ID) + " " + EscapeCut(inline(inc.Service), nameInline)
	if inc.Value != nil {
		s += Escape(render.ValueHeadline(inc, *inc.Value))
		if t := inc.Threshold; t != nil {
			cmp := " &gt; "
			if *inc.Value <= *t {
				cmp = " ≤ "
			}
			s += cmp + Escape(inc.Unit.Limit(*t))
		}
	} else if title := inline(inc.Title); title != "" {
		s += ": " + EscapeCut(title, titleInline)
	}
	return s + " (" + Escape(string(inc.State)) + ")"
}

// AnnounceText is the incident's line in the announce channel, with a link
// to the war room (the channel's name as text while its ID is unknown):
//
//	:red_circle: *INC-7* High error rate — *triggered* · 3.11% vs 0.8% threshold · <#C123>
func AnnounceText(inc *incident.Incident, channelID string) string {
	title := inline(inc.Title)
	if title == "" {
		title = inline(inc.Service)
	}
	room := "no war room"
	switch {
	case slackChannelID.MatchString(channelID):
		room = "<#" + channelID + ">"
	case inc.SlackChannel != "":
		room = "#" + EscapeCut(inline(inc.SlackChannel), nameInline)
	}
	return fmt.Sprintf("%s *%s* %s — *%s* · %s · %s", severityEmoji(inc.Severity), Escape(inc.ID),
		EscapeCut(title, titleInline), EscapeCut(string(inc.State), nameInline), Escape(render.ValueVsThreshold(inc)), room)
}

// ChangeText is the short thread reply that says what a timeline event
// changed (for example ":eyes: Acknowledged by <@U123>.").
func ChangeText(ev incident.Event) string {
	who := actorRef(ev.Actor)
	w, text, ok := render.WordEvent(ev)
	head := w.Emoji + " " + w.Title
	switch {
	case !ok:
		head = EscapeCut(inline(string(ev.Kind)), nameInline) + " by " + who
	case w.By != "":
		head += w.By + who
	}
	if strings.TrimSpace(text) == "" {
		return head + "."
	}
	return head + ": " + EscapeCut(strings.TrimSpace(text), changeTextMax)
}

// ResolutionText is the resolution message:
//
//	INC-7 resolved after 1h 23m; peak 3.11% (threshold 0.8%)
func ResolutionText(inc *incident.Incident, now time.Time) string {
	end := now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	s := inc.ID + " resolved after " + render.HumanDuration(end.Sub(inc.OpenedAt))
	if p := render.Peak(inc); p != nil {
		s += "; peak " + inc.Unit.Format(*p)
		if inc.Threshold != nil {
			s += " (threshold " + inc.Unit.Format(*inc.Threshold) + ")"
		}
	}
	return Escape(s)
}
