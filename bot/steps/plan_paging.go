package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/pagerduty"
)

// SystemPagerDuty is PagerDuty's Events API v2.
const SystemPagerDuty = "pagerduty"

// PagerDutyEvent is POST /v2/enqueue of the Events API v2, by its fields,
// without the routing key: the client adds it, so that neither the dry
// run nor simulate shows it.
type PagerDutyEvent struct {
	Action   string             `json:"event_action"`
	DedupKey string             `json:"dedup_key"`
	Payload  *pagerduty.Payload `json:"payload,omitempty"`
	Client   string             `json:"client,omitempty"`
	Links    []pagerduty.Link   `json:"links,omitempty"`
}

func (PagerDutyEvent) call() (string, string) { return SystemPagerDuty, "POST /v2/enqueue" }

// Event returns the event a client sends.
func (a PagerDutyEvent) Event() pagerduty.Event {
	return pagerduty.Event{Action: a.Action, DedupKey: a.DedupKey, Payload: a.Payload, Client: a.Client, Links: a.Links}
}

// PageTrigger pages for inc: its ID is the dedup_key, so that a second
// trigger (the unacknowledged reminder's, a repeated run) is the same
// alert in PagerDuty; the links are the war room and the ticket, those
// known now.
func (p Planner) PageTrigger(inc *incident.Incident) Call {
	summary := inc.ID + ": " + inc.Title
	if r := []rune(summary); len(r) > pagerduty.MaxSummary {
		summary = string(r[:pagerduty.MaxSummary-1]) + "…"
	}
	source := inc.Service
	if inc.Env != "" {
		source += "/" + inc.Env
	}
	details := map[string]string{"incident": inc.ID, "rule": inc.Rule, "war_room": "#" + inc.SlackChannel}
	if inc.JiraKey != "" {
		details["ticket"] = inc.JiraKey
	}
	return NewCall(PagerDutyEvent{Action: pagerduty.Trigger, DedupKey: inc.ID, Client: "warroom", Links: p.PageLinks(inc),
		Payload: &pagerduty.Payload{Summary: summary, Source: cmp.Or(source, "warroom"), Severity: pageSeverity(inc.Severity),
			Timestamp: inc.OpenedAt.UTC().Format("2006-01-02T15:04:05Z"), Component: inc.Service, Group: inc.Env, Class: inc.Rule,
			CustomDetails: details}})
}

// PageAcknowledge acknowledges inc's page.
func (p Planner) PageAcknowledge(inc *incident.Incident) Call {
	return NewCall(PagerDutyEvent{Action: pagerduty.Acknowledge, DedupKey: inc.ID})
}

// PageResolve resolves inc's page.
func (p Planner) PageResolve(inc *incident.Incident) Call {
	return NewCall(PagerDutyEvent{Action: pagerduty.Resolve, DedupKey: inc.ID})
}

// PageLinks are the links of a page: the war room, once its channel
// exists, the ticket, once filed, and the incident's read-only page when
// its links are signed. All are warroom's own; no alert content chooses
// them.
func (p Planner) PageLinks(inc *incident.Incident) []pagerduty.Link {
	var links []pagerduty.Link
	if inc.SlackChannelID != "" {
		links = append(links, pagerduty.Link{Href: "https://slack.com/app_redirect?channel=" + url.QueryEscape(inc.SlackChannelID),
			Text: "War room #" + inc.SlackChannel})
	}
	if inc.JiraKey != "" && p.Sites.JiraURL != "" {
		links = append(links, pagerduty.Link{Href: strings.TrimSuffix(p.Sites.JiraURL, "/") + "/browse/" + url.PathEscape(inc.JiraKey),
			Text: "Jira " + inc.JiraKey})
	}
	if p.PageLink != nil {
		if u := p.PageLink(inc.ID); u != "" { // signed, on public_url
			links = append(links, pagerduty.Link{Href: u, Text: "Incident page " + inc.ID})
		}
	}
	return links
}

// planPage is the plan of a paging step, the incident's state checked
// as it is now: a trigger only while nobody has acknowledged, a resolve
// only while resolved (not reopened since). Whether the incident was
// paged at all is a lookup (Paged), made before.
func (p Planner) planPage(kind incident.JobKind, inc *incident.Incident) []Call {
	switch kind {
	case incident.JobPageTrigger:
		if inc.State != incident.Triggered || !inc.WarRoom {
			return nil
		}
		return []Call{p.PageTrigger(inc)}
	case incident.JobPageAcknowledge:
		if !inc.State.Open() {
			return nil // resolved since: the resolve says more
		}
		return []Call{p.PageAcknowledge(inc)}
	case incident.JobPageResolve:
		if inc.State != incident.Resolved {
			return nil // reopened since
		}
		return []Call{p.PageResolve(inc)}
	}
	return nil
}

// Paged is the lookup of an acknowledge or resolve of the page: nil when
// a trigger of the incident's page has been sent, so the step goes on; a
// snooze while one may still be; ErrNotPaged when none was or will be
// (the rule does not page, or the trigger failed for good), and the step
// has nothing to do. The real executor and the dry run both ask it.
func Paged(ctx context.Context, d Deps, kind incident.JobKind, inc *incident.Incident) error {
	jobs, err := d.Store.Jobs(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Kind == incident.JobPageTrigger && j.State == incident.JobDone {
			return nil
		}
	}
	err = incident.AwaitNeed(kind, jobs, d.Now())
	if errors.Is(err, incident.ErrNeedGone) {
		return fmt.Errorf("%s: %w", inc.ID, ErrNotPaged)
	}
	return err
}

// ErrNotPaged says that an incident was never paged.
var ErrNotPaged = errors.New("not paged")

// pageSeverity is PagerDuty's severity of an incident's: a responder's
// major is PagerDuty's error, minor its warning.
func pageSeverity(s incident.Severity) string {
	switch s {
	case incident.Critical:
		return pagerduty.Critical
	case incident.Major:
		return pagerduty.Err
	case incident.Warning, incident.Minor:
		return pagerduty.Warning
	case incident.Info:
		return pagerduty.Info
	}
	return pagerduty.Err
}
