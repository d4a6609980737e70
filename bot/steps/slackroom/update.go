package slackroom

import (
	"context"
	"encoding/json"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
)

// update brings the war room up to date: the summary in place, the
// bookmarks it lacks, the announce line, and one message saying what
// changed since the last one.
func (x *Executor) update(ctx context.Context, inc *incident.Incident) error {
	if !inc.WarRoom {
		return nil
	}
	if inc.SlackChannelID == "" || inc.SummaryTS == "" {
		// The summary, when posted, renders the incident as it is then;
		// an update that comes first waits for it.
		return x.waitForRoom(ctx, inc)
	}
	v, f, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	have, sig, err := x.bookmarked(ctx, inc, v.Links)
	if err != nil {
		return err
	}
	// The change message is keyed by the last event it tells, so that a
	// repeat finds it instead of posting it again.
	posted := false
	if text, last := steps.Changes(inc, f.Timeline, x.d.Now()); text != "" {
		if _, posted, err = x.client.FindMessage(ctx, inc.SlackChannelID, steps.MetaChange, steps.ChangeKey(inc, last)); err != nil {
			return err
		}
	}
	calls, last, err := x.p.Update(inc, v, f.Timeline, have, posted)
	if err != nil {
		return err
	}
	if err := x.sendAll(ctx, calls); err != nil {
		if inc.State == incident.Resolved && archivedRoom(err) {
			// A resolved war room archived (archive_after), then a
			// follow-up or a note: there is nothing left to update. An
			// open one archived by hand still fails, for people to see.
			return nil
		}
		return err
	}
	x.mark(inc, sig)
	if last == 0 {
		return nil
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		if last > inc.ReportedEvent {
			inc.ReportedEvent = last
		}
		return "", nil
	})
	return err
}

// archivedRoom reports Slack's answer for a channel that is archived:
// chat.update's is_inactive, chat.postMessage's is_archived.
func archivedRoom(err error) bool {
	switch islack.ErrorCode(err) {
	case "is_inactive", "is_archived":
		return true
	}
	return false
}

// waitForRoom is the answer of an update that comes before the war room
// is set up: wait while the steps that set it up may still succeed, give
// up quietly once they cannot (their failure is on the timeline already).
func (x *Executor) waitForRoom(ctx context.Context, inc *incident.Incident) error {
	return steps.AwaitNeed(ctx, x.d, incident.JobSlackUpdate, inc, false)
}

func (x *Executor) archive(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	var args incident.JobArgs
	if err := json.Unmarshal(j.Args, &args); err != nil {
		return incident.Permanent(err)
	}
	tl, err := x.d.Store.TimelineSince(ctx, inc.ID, args.EventID-1)
	if err != nil {
		return err
	}
	if !steps.ArchiveDue(inc, tl, args.EventID) || inc.SlackChannelID == "" {
		return nil // reopened since: a later resolve schedules its own
	}
	if _, err := x.send(ctx, x.p.Archive(inc)); err != nil {
		return err
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) {
		return "war room #" + inc.SlackChannel + " archived", nil
	})
	return err
}
