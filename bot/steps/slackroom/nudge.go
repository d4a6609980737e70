package slackroom

import (
	"context"
	"encoding/json"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// nudge posts a reminder's nudge in the war room (and the announce
// channel for the unacknowledged one). A run that may be a repeat looks
// for each message by its metadata first.
func (x *Executor) nudge(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	if !inc.WarRoom {
		return nil
	}
	if inc.SlackChannelID == "" {
		return steps.AwaitNeed(ctx, x.d, j.Kind, inc, false)
	}
	var args incident.JobArgs
	_ = json.Unmarshal(j.Args, &args) // written by NewJob
	tl, err := x.d.Store.TimelineSince(ctx, inc.ID, args.EventID-1)
	if err != nil {
		return err
	}
	ev, err := steps.Event(inc, tl, args.EventID)
	if err != nil {
		return err
	}
	announce := ""
	if ev.Kind == incident.EventNudgedAck {
		if announce, err = x.announceChannel(ctx, inc); err != nil {
			return err
		}
	}
	for _, c := range x.p.Nudge(inc, ev, announce, j.Key) {
		if !j.FirstRun() {
			a, _ := c.Args.(steps.SlackPost)
			if _, found, err := x.client.FindMessage(ctx, a.Channel, steps.MetaNudge, j.Key); err != nil {
				return err
			} else if found {
				continue
			}
		}
		if _, err := x.send(ctx, c); err != nil {
			return err
		}
	}
	return nil
}
