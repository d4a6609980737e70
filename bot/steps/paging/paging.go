// Package paging runs the paging steps through PagerDuty's Events API v2:
// the trigger of a rule that pages (and of the unacknowledged reminder),
// and the acknowledge and resolve that follow the incident's. The calls
// are the steps' plans (steps.Planner), sent exactly as planned. Every
// event carries the incident's ID as its dedup_key, so that PagerDuty
// folds a repeated run into the one alert.
package paging

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/pagerduty"
)

// Executor sends the paging steps' events.
type Executor struct {
	d      steps.Deps
	p      steps.Planner
	client *pagerduty.Client
}

var _ incident.Executor = (*Executor)(nil)

// Kinds are the steps the paging executor runs.
func Kinds() []incident.JobKind {
	return []incident.JobKind{incident.JobPageTrigger, incident.JobPageAcknowledge, incident.JobPageResolve}
}

// New returns the paging executor sending through client.
func New(client *pagerduty.Client, d steps.Deps) *Executor {
	return &Executor{d: d, p: steps.Planner{Deps: d}, client: client}
}

// LinkWait is how long after its war room opened a page waits for the
// channel and the ticket, so that its links lead to them; past it, it
// pages with the links it has.
const LinkWait = 10 * time.Second

// linkRecheck bounds one snooze of a page waiting for its links.
const linkRecheck = time.Second

// Execute implements incident.Executor.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return err
	}
	switch j.Kind {
	case incident.JobPageTrigger:
		now := x.d.Now()
		deadline := inc.OpenedAt.Add(LinkWait)
		if (inc.SlackChannelID == "" || inc.JiraKey == "" && x.d.Sites.JiraURL != "") && now.Before(deadline) && inc.State == incident.Triggered {
			return &incident.SnoozeError{Wait: min(deadline.Sub(now), linkRecheck), Err: errors.New("waiting for the war room and the ticket to link")}
		}
	case incident.JobPageAcknowledge, incident.JobPageResolve:
		if err := steps.Paged(ctx, x.d, j.Kind, inc); errors.Is(err, steps.ErrNotPaged) {
			return nil
		} else if err != nil {
			return err
		}
	default:
		return incident.Permanent(fmt.Errorf("no paging step %s", j.Kind))
	}
	calls, err := x.p.Plan(j, inc, steps.Facts{}, steps.Known{})
	if err != nil {
		return err
	}
	for _, c := range calls {
		if err := x.send(ctx, c); err != nil {
			return err
		}
	}
	if j.Kind == incident.JobPageTrigger && len(calls) > 0 {
		_, err := x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) {
			return "paged through PagerDuty (dedup_key " + inc.ID + ")", nil
		})
		return err
	}
	return nil
}

// send makes one planned call: a 400 is for good (the event is invalid,
// or the routing key is); a 429 past the client's own retries waits for
// Retry-After; anything else is retried by the worker.
func (x *Executor) send(ctx context.Context, c steps.Call) error {
	a, ok := c.Args.(steps.PagerDutyEvent)
	if !ok {
		return incident.Permanent(fmt.Errorf("paging: cannot send %s %T", c.Method, c.Args))
	}
	_, err := x.client.Send(ctx, a.Event())
	var pe *pagerduty.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.Status == http.StatusTooManyRequests:
		return &incident.SnoozeError{Wait: max(pe.RetryAfter, 30*time.Second), Err: err}
	case pagerduty.Retryable(err):
		return err
	}
	return incident.Permanent(err)
}
