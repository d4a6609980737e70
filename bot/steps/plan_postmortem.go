package steps

import (
	"context"

	"github.com/warroom/warroom/bot/render/postmortem"
	"github.com/warroom/warroom/incident"
)

// SlackUploadFile is a file shared in a channel. Slack takes a file in
// three calls (files.upload is retired): files.getUploadURLExternal with
// the filename and its length in bytes, the upload of the content to the
// URL that answers, and files.completeUploadExternal with the file's ID
// and title, the channel and the message that shares it. The second and
// third take what the first answers, so the plan holds the three as one
// call, by the name slack-go gives them, files.uploadV2.
type SlackUploadFile struct {
	ChannelID      string `json:"channel_id"`
	Filename       string `json:"filename"`
	Title          string `json:"title"`
	InitialComment string `json:"initial_comment"`
	Length         int    `json:"length"`
	Content        string `json:"content"`
}

func (SlackUploadFile) call() (string, string) { return SystemSlack, "files.uploadV2" }

// JiraAttach is POST /rest/api/2/issue/{key}/attachments of one file, the
// multipart form's "file".
type JiraAttach struct {
	Key      string `json:"key"`
	Filename string `json:"filename"`
	Content  string `json:"content"`
}

func (JiraAttach) call() (string, string) {
	return SystemJira, "POST /rest/api/2/issue/{key}/attachments"
}

// PostmortemFacts are what the postmortem's draft is made of: all the
// incident's alerts (the first started it) and its whole timeline.
func (d Deps) PostmortemFacts(ctx context.Context, inc *incident.Incident) (Facts, error) {
	alerts, err := d.Store.Alerts(ctx, inc.ID, 0)
	if err != nil {
		return Facts{}, err
	}
	tl, err := d.Store.Timeline(ctx, inc.ID)
	if err != nil {
		return Facts{}, err
	}
	return Facts{Alerts: alerts, Total: len(alerts), Timeline: tl}, nil
}

// FactsFor reads the facts step j renders: the postmortem's (PostmortemFacts)
// for the steps that post it, else those after Since(j).
func (d Deps) FactsFor(ctx context.Context, inc *incident.Incident, j *incident.Job) (Facts, error) {
	switch j.Kind {
	case incident.JobSlackPostmortem, incident.JobJiraPostmortem:
		return d.PostmortemFacts(ctx, inc)
	}
	return d.Facts(ctx, inc, Since(j))
}

// Postmortem renders the draft of inc's postmortem for the resolve event
// resolvedBy: its timeline up to that resolve, its links only to allowed
// hosts.
func (d Deps) Postmortem(inc *incident.Incident, f Facts, resolvedBy int64) string {
	tl := f.Timeline
	for i, e := range tl {
		if e.ID > resolvedBy && resolvedBy > 0 {
			tl = tl[:i]
			break
		}
	}
	return postmortem.Render(postmortem.View{Incident: inc, Alerts: f.Alerts, TotalAlerts: f.Total, Timeline: tl, Hosts: d.Hosts})
}

// PostmortemDue reports whether the draft for the resolve event
// resolvedBy is still to post: the incident is resolved, by that very
// event (one that reopened since gets its draft at its next resolve).
func PostmortemDue(inc *incident.Incident, tl []incident.Event, resolvedBy int64) bool {
	return inc.WarRoom && ArchiveDue(inc, tl, resolvedBy)
}

// PostPostmortem shares the draft in the war room, as a file named for
// the resolve (postmortem.FileName), by which a repeat finds it.
func (p Planner) PostPostmortem(inc *incident.Incident, f Facts, resolvedBy int64) Call {
	md := p.Postmortem(inc, f, resolvedBy)
	return NewCall(SlackUploadFile{ChannelID: Room(inc), Filename: postmortem.FileName(inc.ID, resolvedBy), Title: postmortem.Title(inc),
		InitialComment: "The postmortem's draft for " + inc.ID + ", from its timeline: the root cause, what went well and what to change are yours to write.",
		Length:         len(md), Content: md})
}

// AttachPostmortem attaches the draft to the ticket, under the same
// name, by which a repeat finds it.
func (p Planner) AttachPostmortem(inc *incident.Incident, f Facts, resolvedBy int64) Call {
	return NewCall(JiraAttach{Key: inc.JiraKey, Filename: postmortem.FileName(inc.ID, resolvedBy), Content: p.Postmortem(inc, f, resolvedBy)})
}
