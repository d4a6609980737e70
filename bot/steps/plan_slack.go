package steps

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// Metadata kinds of the messages warroom posts: a repeat of a step looks
// for its kind and key in the channel before posting again.
const (
	MetaSummary  = "warroom_summary"
	MetaAnnounce = "warroom_announce"
	// MetaNudge marks a reminder's nudge, keyed by the nudge's step.
	MetaNudge  = "warroom_nudge"
	MetaChange = "warroom_change"
)

// Room names the war room in a Slack call: its ID once the channel
// exists, else its reserved name (always, in a dry run, which makes no
// channel).
func Room(inc *incident.Incident) string {
	if inc.SlackChannelID != "" {
		return inc.SlackChannelID
	}
	return "#" + inc.SlackChannel
}

// channelID matches Slack conversation IDs.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// IsChannelID reports whether s is a Slack conversation ID rather than a
// channel name.
func IsChannelID(s string) bool { return channelID.MatchString(s) }

// userID matches Slack user IDs as responders are configured.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// IsUserID reports whether s is a Slack user ID.
func IsUserID(s string) bool { return userID.MatchString(s) }

// CreateChannel creates the war room under its reserved name.
func (p Planner) CreateChannel(inc *incident.Incident) Call {
	return NewCall(SlackCreateChannel{Name: inc.SlackChannel, IsPrivate: p.Slack.PrivateChannels})
}

// Topic sets the war room's topic and purpose.
func (p Planner) Topic(inc *incident.Incident) []Call {
	room := Room(inc)
	return []Call{
		NewCall(SlackSetTopic{Channel: room, Topic: slackmsg.Topic(inc)}),
		NewCall(SlackSetPurpose{Channel: room, Purpose: render.OneLine("War room for "+inc.ID+": "+inc.Title, 250)}),
	}
}

// UpdateTopic sets the war room's topic again, as the incident is now
// (its purpose does not change).
func (p Planner) UpdateTopic(inc *incident.Incident) Call {
	return NewCall(SlackSetTopic{Channel: Room(inc), Topic: slackmsg.Topic(inc)})
}

// Responders are who a war room invites, as configured: the slack
// section's, the rule's and the commander (user IDs, @user-groups and
// emails; the executor looks the last two up).
func (p Planner) Responders(inc *incident.Incident) []string {
	var out []string
	for _, e := range p.Slack.Responders {
		out = append(out, strings.TrimSpace(e))
	}
	if r, ok := p.Rules.Lookup(inc.Rule); ok {
		for _, e := range r.Responders {
			out = append(out, strings.TrimSpace(e))
		}
	}
	if inc.Commander != "" && IsUserID(inc.Commander) {
		out = append(out, inc.Commander)
	}
	return dedupe(out)
}

// Invite invites users, each on its own.
func (p Planner) Invite(inc *incident.Incident, users []string) []Call {
	calls := make([]Call, 0, len(users))
	for _, u := range users {
		calls = append(calls, NewCall(SlackInvite{Channel: Room(inc), Users: u}))
	}
	return calls
}

// summary renders the summary message of a view; blocks Slack would
// refuse fail the step for good.
func (p Planner) summary(inc *incident.Incident, v slackmsg.SummaryView) (SlackPost, error) {
	blocks := slackmsg.SummaryBlocks(v)
	if err := slackmsg.ValidateBlocks(blocks); err != nil {
		return SlackPost{}, incident.Permanent(fmt.Errorf("summary of %s: %w", inc.ID, err))
	}
	return SlackPost{Channel: Room(inc), Text: slackmsg.SummaryFallback(v), Blocks: blocks, Metadata: Metadata(MetaSummary, inc.ID)}, nil
}

// PostSummary posts the war room's summary.
func (p Planner) PostSummary(inc *incident.Incident, v slackmsg.SummaryView) (Call, error) {
	m, err := p.summary(inc, v)
	return NewCall(m), err
}

// Pin pins the summary.
func (p Planner) Pin(inc *incident.Incident) Call {
	return NewCall(SlackPin{Channel: Room(inc), Timestamp: inc.SummaryTS})
}

// bookmarked are the kinds of links a war room bookmarks (README, Connect to Slack),
// the first of each: the rest are in the summary.
var bookmarked = []string{"jira", render.KindBridge, "grafana", "jaeger", "runbook"}

// BookmarkLinks are the links among links that the war room bookmarks.
func BookmarkLinks(links []render.Link) []render.Link {
	var out []render.Link
	for _, kind := range bookmarked {
		for _, l := range links {
			if l.Kind == kind && l.URL != "" {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// Bookmarks bookmarks the war room's links that have no bookmark yet
// (have: the links bookmarked, by URL).
func (p Planner) Bookmarks(inc *incident.Incident, links []render.Link, have map[string]bool) []Call {
	var calls []Call
	for _, l := range BookmarkLinks(links) {
		if !have[l.URL] {
			calls = append(calls, NewCall(SlackBookmark{ChannelID: Room(inc), Title: l.Title, Type: "link", Link: l.URL}))
		}
	}
	return calls
}

// AnnounceChannel is the announce channel of an incident as configured
// (name or ID, without "#"): its rule's, else the slack section's; ""
// when there is none.
func (p Planner) AnnounceChannel(inc *incident.Incident) string {
	name := p.Slack.AnnounceChannel
	if r, ok := p.Rules.Lookup(inc.Rule); ok && r.AnnounceChannel != "" {
		name = r.AnnounceChannel
	}
	return trimChannel(name)
}

// Announce posts the incident's line in the announce channel.
func (p Planner) Announce(inc *incident.Incident, channel string) Call {
	return NewCall(SlackPost{Channel: channel, Text: slackmsg.AnnounceText(inc, inc.SlackChannelID), Metadata: Metadata(MetaAnnounce, inc.ID)})
}

// maxChangesTold bounds the events one change message names.
const maxChangesTold = 5

// quiet events are shown by the summary itself, not told as changes.
var quiet = map[incident.EventKind]bool{incident.EventStep: true, incident.EventOpened: true, incident.EventRecorded: true}

// Changes is the message that tells the events of the timeline since the
// last one told (ReportedEvent), "" when none of them is worth telling,
// and the last of them (0: none since).
func Changes(inc *incident.Incident, tl []incident.Event, now time.Time) (text string, last int64) {
	var lines []string
	for _, e := range tl {
		if e.ID <= inc.ReportedEvent {
			continue
		}
		last = e.ID
		if quiet[e.Kind] {
			continue
		}
		line := slackmsg.ChangeText(e)
		if e.Kind == incident.EventResolved {
			line = slackmsg.ResolutionText(inc, now)
		}
		lines = append(lines, line)
	}
	if n := len(lines); n > maxChangesTold {
		lines = append(lines[:maxChangesTold-1], fmt.Sprintf("… and %d more changes (`/warroom timeline`)", n-maxChangesTold+1))
	}
	return strings.Join(lines, "\n"), last
}

// ChangeKey is the metadata key of the change message that ends with
// event last.
func ChangeKey(inc *incident.Incident, last int64) string { return fmt.Sprintf("%s:%d", inc.ID, last) }

// Update brings the war room up to date: the summary in place, the
// bookmarks it lacks (have: those it has), the announce line, and one
// message saying what changed since the last one (unless posted: an
// earlier run posted it). It returns the last event told.
func (p Planner) Update(inc *incident.Incident, v slackmsg.SummaryView, tl []incident.Event, have map[string]bool, posted bool) ([]Call, int64, error) {
	m, err := p.summary(inc, v)
	if err != nil {
		return nil, 0, err
	}
	calls := []Call{NewCall(SlackUpdate{Channel: m.Channel, TS: inc.SummaryTS, Text: m.Text, Blocks: m.Blocks, Metadata: m.Metadata})}
	calls = append(calls, p.Bookmarks(inc, v.Links, have)...)
	if inc.AnnounceTS != "" {
		calls = append(calls, NewCall(SlackUpdate{Channel: inc.AnnounceChannelID, TS: inc.AnnounceTS,
			Text: slackmsg.AnnounceText(inc, inc.SlackChannelID), Metadata: Metadata(MetaAnnounce, inc.ID)}))
	}
	text, last := Changes(inc, tl, p.Now())
	if text != "" && !posted {
		calls = append(calls, NewCall(SlackPost{Channel: Room(inc), Text: text, Metadata: Metadata(MetaChange, ChangeKey(inc, last))}))
	}
	return calls, last, nil
}

// Archive archives the war room.
func (p Planner) Archive(inc *incident.Incident) Call {
	return NewCall(SlackArchive{Channel: Room(inc)})
}
