package slackroom

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// postmortem shares the postmortem's draft in the war room as a file
// named for the resolve event the step is keyed by. Slack takes a file in
// three calls, and only the last (files.completeUploadExternal) puts it
// in the channel: a run cut short before it leaves nothing there (Slack
// discards the upload), and a run that may be a repeat looks for the
// file by its name among the bot's messages before it uploads again.
func (x *Executor) postmortem(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	if !inc.WarRoom {
		return nil
	}
	if inc.SlackChannelID == "" {
		return steps.AwaitNeed(ctx, x.d, j.Kind, inc, false)
	}
	var args incident.JobArgs
	_ = json.Unmarshal(j.Args, &args) // written by NewJob
	f, err := x.d.PostmortemFacts(ctx, inc)
	if err != nil {
		return err
	}
	if !steps.PostmortemDue(inc, f.Timeline, args.EventID) {
		return nil // reopened since: its next resolve posts its own
	}
	c := x.p.PostPostmortem(inc, f, args.EventID)
	up, _ := c.Args.(steps.SlackUploadFile)
	if !j.FirstRun() {
		// Slack shares a completed upload asynchronously: a look right
		// after an earlier run's last call could miss the file it shared.
		if wait := j.LastRunAt.Add(ShareLag).Sub(x.d.Now()); !j.LastRunAt.IsZero() && wait > 0 {
			return &incident.SnoozeError{Wait: wait, Err: errors.New("an earlier run may have shared the draft: waiting for the channel to show it")}
		}
		if _, found, err := x.client.FindFile(ctx, inc.SlackChannelID, up.Filename); err != nil {
			return err
		} else if found {
			return x.postedPostmortem(ctx, inc, up.Filename, "found (posted by an earlier run)")
		}
	}
	if _, err := x.send(ctx, c); err != nil {
		return err
	}
	return x.postedPostmortem(ctx, inc, up.Filename, "posted")
}

// ShareLag is how long after an earlier run began a repeat waits before
// it trusts the channel's history to show the file that run shared:
// files.completeUploadExternal "asynchronously completes the sharing"
// (Slack's SDK maintainers, slackapi/bolt-js#2115), within seconds.
const ShareLag = 10 * time.Second

// postedPostmortem puts on the timeline that the draft is in the war room.
func (x *Executor) postedPostmortem(ctx context.Context, inc *incident.Incident, name, how string) error {
	_, err := x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) {
		return "postmortem draft " + name + " " + how + " in the war room", nil
	})
	return err
}
