// Package steps runs the side effects of a war room (docs/ARCHITECTURE.md, the steps): one
// executor per outside system in the packages below it (slackroom,
// jiraticket, evidence, actions, and dryrun, which logs the calls instead
// of making them), chosen by the kind of step through the one Table the
// composition root builds and checks at start. This package holds that
// table and what every executor shares: the one description of each
// step (Planner, whose plans of Calls the executors send, the dry run
// logs and simulate prints), its dependencies, the settings of Slack and
// Jira, and the helpers that load a step's incident, wait for its
// evidence and list its links. Steps import no HTTP or Slack surface and
// no configuration: the composition root hands them what they need.
package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// Deps are what every executor takes from the composition root.
type Deps struct {
	Store   incident.Store
	Service *incident.Service
	Rules   *rules.Set
	// Hosts are the hosts the links shown may point at.
	Hosts render.Hosts
	// Sites are the outside systems a war room links to.
	Sites Sites
	// EvidenceBudget is correlation_budget: how long the first summary and
	// the ticket wait for the first evidence.
	EvidenceBudget time.Duration
	Log            *slog.Logger
	Now            func() time.Time
	// PageLink is the signed link to an incident's read-only page, ""
	// when links are not signed (no incident_page.signing_key); nil: none.
	PageLink func(incidentID string) string
}

// Sites locate the outside systems a war room's links point at; empty
// means not configured.
type Sites struct {
	JiraURL, AlertmanagerURL string
}

// SlackOptions are the settings of the Slack steps (slack.* in the
// config), for the real executor and the dry run alike.
type SlackOptions struct {
	PrivateChannels bool
	// AnnounceChannel gets one line per war room (name or ID); a rule may
	// name its own.
	AnnounceChannel string
	// Responders are invited to every war room: user IDs, @user-groups,
	// emails.
	Responders []string
}

// JiraOptions are the settings of the Jira steps (jira.* in the config),
// for the real executor and the dry run alike.
type JiraOptions struct {
	Project, IssueType string
	// Priorities maps a severity to a Jira priority name.
	Priorities                          map[string]string
	ResolveTransition, ReopenTransition string
	Labels, Components                  []string
	Fields                              map[string]any
	// IndexLag is how long a create whose outcome is unknown waits before
	// it searches for the ticket again.
	IndexLag time.Duration
	// FollowupIssueType is the issue type of follow-ups;
	// "" is DefaultFollowupIssueType.
	FollowupIssueType string
}

// WaitForEvidence holds the first summary and the ticket until the first
// evidence is in (a storm's gathers none of its own), so that what correlation finds within its budget
// (correlation_budget) is in them; past the budget (and a margin) they go
// without it and are updated when it comes.
//
// The wait is a snooze that frees the worker, and that the evidence step
// ends when it records what it found (incident.SnoozeError.Awaits): a step
// that held its slot while it waited would keep the evidence step itself
// from running once every slot held a waiter. The snooze lasts at most
// evidenceRecheck, in case the evidence came between this step's read and
// its snooze.
func WaitForEvidence(inc *incident.Incident, budget time.Duration, now time.Time) error {
	deadline := inc.OpenedAt.Add(budget + evidenceMargin)
	if inc.Evidence != nil || inc.IsStorm() || !now.Before(deadline) {
		return nil
	}
	return &incident.SnoozeError{Wait: min(deadline.Sub(now), evidenceRecheck), Awaits: incident.JobCorrelateGather,
		Err: errors.New("waiting for the first evidence")}
}

// evidenceRecheck bounds one snooze of a step waiting for the evidence.
const evidenceRecheck = 500 * time.Millisecond

// evidenceMargin is how long past the budget a summary waits for the
// evidence step to store what it found.
const evidenceMargin = time.Second

// Incident loads a step's incident: one that does not exist stops the
// step for good; a store that does not answer is worth a retry.
func Incident(ctx context.Context, store incident.Store, j incident.Job) (*incident.Incident, error) {
	inc, err := store.Incident(ctx, j.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, incident.Permanent(err)
	}
	return inc, err
}

// WarRoomLinks are the links known for an incident: the Jira ticket, the
// rule's meeting bridge, the alerts in Alertmanager, the query that
// fired, and the rule's runbook. Grafana and Jaeger links come with
// correlation.
func (d Deps) WarRoomLinks(inc *incident.Incident, alerts []incident.Alert) []render.Link {
	set, log := d.Rules, d.Log
	var links []render.Link
	if inc.JiraKey != "" && d.Sites.JiraURL != "" {
		links = append(links, render.Link{Kind: "jira", Title: "Jira " + inc.JiraKey, URL: strings.TrimSuffix(d.Sites.JiraURL, "/") + "/browse/" + inc.JiraKey})
	}
	if l, ok := d.bridge(inc, alerts); ok {
		links = append(links, l)
	}
	if am := strings.TrimSuffix(d.Sites.AlertmanagerURL, "/"); am != "" && inc.Service != "" && !inc.IsStorm() {
		filter := fmt.Sprintf("{service=%q}", inc.Service)
		if inc.Env != "" {
			filter = fmt.Sprintf("{service=%q,env=%q}", inc.Service, inc.Env)
		}
		links = append(links, render.Link{Kind: "alertmanager", Title: "Alertmanager", URL: am + "/#/alerts?filter=" + url.QueryEscape(filter)})
	}
	if len(alerts) > 0 && (strings.HasPrefix(alerts[0].GeneratorURL, "https://") || strings.HasPrefix(alerts[0].GeneratorURL, "http://")) {
		links = append(links, render.Link{Kind: "prometheus", Title: "Alert query", URL: alerts[0].GeneratorURL})
	}
	if r, ok := set.Lookup(inc.Rule); ok && r.Runbook != "" && len(alerts) > 0 {
		a := alerts[0]
		url, err := rules.Render(r.Runbook, rules.TemplateData{Labels: a.Labels, Annotations: a.Annotations,
			Service: inc.Service, Env: inc.Env, Rule: inc.Rule, Severity: string(inc.Severity), IncidentID: inc.ID, StartsAt: a.StartsAt})
		switch {
		case err != nil:
			log.Warn("runbook template", "rule", inc.Rule, "err", err)
		case strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://"):
			links = append(links, render.Link{Kind: "runbook", Title: "Runbook", URL: url})
		}
	}
	if d.PageLink != nil {
		if u := d.PageLink(inc.ID); u != "" {
			links = append(links, render.Link{Kind: render.KindPage, Title: "Incident page", URL: u})
		}
	}
	return links
}

// bridge is the link of the meeting bridge of inc's rule (links.bridge),
// rendered with the rule's template data (of the first alert, if any):
// false when the rule has none, or it renders nothing. Its URL is not
// checked here: like every link, it passes the host allow-list
// (Hosts.Links), which withholds one that is not http(s) or goes to a
// host not allowed, saying why.
func (d Deps) bridge(inc *incident.Incident, alerts []incident.Alert) (render.Link, bool) {
	r, ok := d.Rules.Lookup(inc.Rule)
	if !ok || r.Links.Bridge == "" {
		return render.Link{}, false
	}
	data := rules.TemplateData{Service: inc.Service, Env: inc.Env, Rule: inc.Rule, Severity: string(inc.Severity), IncidentID: inc.ID}
	if len(alerts) > 0 {
		a := alerts[0]
		data.Labels, data.Annotations, data.StartsAt = a.Labels, a.Annotations, a.StartsAt
	}
	u, err := rules.Render(r.Links.Bridge, data)
	if err != nil {
		d.Log.Warn("bridge template", "rule", inc.Rule, "err", err)
		return render.Link{}, false
	}
	if u = strings.TrimSpace(u); u == "" {
		return render.Link{}, false // e.g. an annotation the alert lacks
	}
	return render.Link{Kind: render.KindBridge, Title: render.BridgeTitle, URL: u}, true
}

// AwaitNeed is the answer of a step of kind whose incident lacks what the
// step it needs makes (the channel, the ticket), from the incident's jobs
// (incident.AwaitNeed): a snooze or retry while that may still come; once
// it cannot, nothing (the step gives up quietly) or, with fail, a
// permanent failure of its own.
func AwaitNeed(ctx context.Context, d Deps, kind incident.JobKind, inc *incident.Incident, fail bool) error {
	jobs, err := d.Store.Jobs(ctx, inc.ID)
	if err != nil {
		return err
	}
	err = incident.AwaitNeed(kind, jobs, d.Now())
	switch {
	case !errors.Is(err, incident.ErrNeedGone):
		return err
	case fail:
		return incident.Permanent(fmt.Errorf("%s: %w", inc.ID, err))
	}
	return nil
}
