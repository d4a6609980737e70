package slackroom

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
)

// update brings the war room up to date: the summary in place, the
// announce line, and one message saying what changed since the last one.
func (x *Executor) update(ctx context.Context, inc *incident.Incident) error {
	if !inc.WarRoom {
		return nil
	}
	if inc.SlackChannelID == "" || inc.SummaryTS == "" {
		// The summary, when posted, renders the incident as it is then;
		// an update that comes first waits for it.
		return x.waitForRoom(ctx, inc)
	}
	v, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	m, err := x.render(inc, v)
	if err != nil {
		return err
	}
	if err := x.client.Update(ctx, inc.SlackChannelID, inc.SummaryTS, m); err != nil {
		return err
	}
	if err := x.syncBookmarks(ctx, inc, v.Links); err != nil {
		return err
	}
	if inc.AnnounceTS != "" {
		if err := x.client.Update(ctx, inc.AnnounceChannelID, inc.AnnounceTS,
			islack.Message{Text: slackmsg.AnnounceText(inc, inc.SlackChannelID), Kind: metaAnnounce, Key: inc.ID}); err != nil {
			return err
		}
	}
	return x.reportChanges(ctx, inc)
}

// waitForRoom is the answer of an update that comes before the war room
// is set up: wait while the steps that set it up may still succeed, give
// up quietly once they cannot (their failure is on the timeline already).
func (x *Executor) waitForRoom(ctx context.Context, inc *incident.Incident) error {
	return steps.AwaitNeed(ctx, x.d, incident.JobSlackUpdate, inc, false)
}

// maxChangesTold bounds the events one change message names.
const maxChangesTold = 5

// quiet events are shown by the summary itself, not told as changes.
var quiet = map[incident.EventKind]bool{incident.EventStep: true, incident.EventOpened: true, incident.EventRecorded: true}

// reportChanges posts one message for the events since the last one told,
// keyed by the last of them, so that a repeat finds it instead of posting
// it again.
func (x *Executor) reportChanges(ctx context.Context, inc *incident.Incident) error {
	tl, err := x.d.Store.Timeline(ctx, inc.ID)
	if err != nil {
		return err
	}
	var lines []string
	var last int64
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
			line = slackmsg.ResolutionText(inc, x.d.Now())
		}
		lines = append(lines, line)
	}
	if last == 0 {
		return nil
	}
	if len(lines) > 0 {
		if n := len(lines); n > maxChangesTold {
			lines = append(lines[:maxChangesTold-1], fmt.Sprintf("… and %d more changes (`/warroom timeline`)", n-maxChangesTold+1))
		}
		key := fmt.Sprintf("%s:%d", inc.ID, last)
		_, found, err := x.client.FindMessage(ctx, inc.SlackChannelID, metaChange, key)
		if err != nil {
			return err
		}
		if !found {
			m := islack.Message{Text: strings.Join(lines, "\n"), Kind: metaChange, Key: key}
			if _, _, err := x.client.Post(ctx, inc.SlackChannelID, m); err != nil {
				return err
			}
		}
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		if last > inc.ReportedEvent {
			inc.ReportedEvent = last
		}
		return "", nil
	})
	return err
}

func (x *Executor) archive(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	var args incident.JobArgs
	if err := json.Unmarshal(j.Args, &args); err != nil {
		return incident.Permanent(err)
	}
	due, err := steps.ArchiveDue(ctx, x.d.Store, inc, args.EventID)
	if err != nil || !due || inc.SlackChannelID == "" {
		return err // reopened since: a later resolve schedules its own
	}
	if err := x.client.Archive(ctx, inc.SlackChannelID); err != nil {
		return err
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) {
		return "war room #" + inc.SlackChannel + " archived", nil
	})
	return err
}
