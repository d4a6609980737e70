package bot

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/page"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/slackbot"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/bot/steps/evidence"
	"github.com/warroom/warroom/bot/steps/jiraticket"
	"github.com/warroom/warroom/bot/steps/paging"
	"github.com/warroom/warroom/bot/steps/slackroom"
	"github.com/warroom/warroom/bot/telemetry"
	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager"
	ijira "github.com/warroom/warroom/integrations/jira"
	"github.com/warroom/warroom/integrations/pagerduty"
	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/rules"
)

// build makes the part of the server that a reload replaces from cfg:
// the rules, the link hosts, the executors of the side effects and the
// one table that chooses among them by the kind of step (checked here),
// and the Slack surface's settings. Slack runs for real unless the
// configuration the server started with put it in dry run, Jira the same;
// a reload cannot change which (it needs a restart). prev is the live part
// being replaced, nil at start: its Slack and Jira clients are kept when
// their settings did not change, and with them Slack's pacing.
func (s *Server) build(cfg *config.Config, prev *live) (*live, error) {
	set, err := cfg.RuleSet()
	if err != nil {
		return nil, err
	}
	l := &live{cfg: cfg, rules: set, hosts: linkHosts(cfg), signer: pageSigner(cfg)}
	p := planner(cfg, set, s.log, s.now)
	d := p.Deps
	l.links = d.WarRoomLinks
	d.Store, d.Service = s.store, s.svc
	slackOpts, jiraOpts := p.Slack, p.Jira

	if s.dryRun == nil {
		if s.dryRun, err = dryrun.New(cfg.DryRunLog, d, slackOpts, jiraOpts); err != nil {
			return nil, err
		}
	}
	dry := s.dryRun.With(d, slackOpts, jiraOpts)
	var silences *alertmanager.SilenceClient // nil without alertmanager.url
	if u := cfg.Alertmanager.URL; u != "" {
		silences = alertmanager.NewSilenceClient(u, s.httpClient(telemetry.APIAlertmanager, alertmanager.DefaultTimeout))
	}
	acts := actions.New(d, silences, string(cfg.Rollback.WebhookSecret), s.transport(telemetry.APIRollback))
	g, err := s.gatherer(cfg)
	if err != nil {
		return nil, err
	}
	ev := evidence.New(g, d)
	l.slack = &slackbot.Settings{Rules: set, Hosts: l.hosts, Permissions: cfg.Slack.Permissions, Silencer: acts, ValueNow: ev.ValueNow}

	var slackSteps, jiraSteps incident.Executor = dry, dry
	if !s.cfg.SlackDryRun() {
		l.slackClient, l.slackKey = prev.keptSlack(cfg)
		if l.slackClient == nil {
			l.slackKey = slackKey(cfg)
			l.slackClient = islack.New(string(cfg.Slack.BotToken), cfg.Slack.APIURL, s.httpClient(telemetry.APISlack, islack.DefaultTimeout))
		}
		slackSteps = slackroom.New(l.slackClient, d, slackOpts)
		l.slack.Directory = l.slackClient
	}
	if !s.cfg.JiraDryRun() {
		l.jiraClient, l.jiraKey = prev.keptJira(cfg)
		if l.jiraClient == nil {
			l.jiraKey = jiraKey(cfg)
			if l.jiraClient, err = newJiraClient(cfg, s.transport(telemetry.APIJira)); err != nil {
				return nil, err
			}
		}
		jiraSteps = jiraticket.New(l.jiraClient, d, jiraOpts)
	}
	var pageSteps incident.Executor = dry
	if !s.cfg.PagerDutyDryRun() {
		pageSteps = paging.New(pagerduty.New(pagerduty.Options{URL: cfg.PagerDuty.URL, RoutingKey: string(cfg.PagerDuty.RoutingKey),
			HTTP: s.httpClient(telemetry.APIPagerDuty, 10*time.Second)}), d)
	}
	if l.table, err = steps.NewTable(incident.JobKinds(),
		steps.Route{Kinds: slackroom.Kinds(), Exec: slackSteps},
		steps.Route{Kinds: jiraticket.Kinds(), Exec: jiraSteps},
		steps.Route{Kinds: evidence.Kinds(), Exec: ev},
		steps.Route{Kinds: actions.Kinds(), Exec: acts},
		steps.Route{Kinds: paging.Kinds(), Exec: pageSteps},
		steps.Route{Kinds: incident.ReminderKinds(), Exec: s.svc.Reminders()},
		steps.Route{Kinds: incident.StormKinds(), Exec: s.svc.Storms()},
	); err != nil {
		return nil, err
	}
	return l, nil
}

// planner is the description of the steps under cfg: what simulate
// prints, and what the executors send and the dry run logs once the store
// is added to its dependencies.
func planner(cfg *config.Config, set *rules.Set, log *slog.Logger, now func() time.Time) steps.Planner {
	var pageLink func(string) string
	if signer := pageSigner(cfg); signer != nil {
		pageLink = func(id string) string { return signer.Link(id, now()) }
	}
	return steps.Planner{
		Deps: steps.Deps{Rules: set, Hosts: linkHosts(cfg),
			Sites:          steps.Sites{JiraURL: cfg.Jira.URL, AlertmanagerURL: cfg.Alertmanager.URL},
			EvidenceBudget: cfg.CorrelationBudget.Duration(), Log: log, Now: now, PageLink: pageLink},
		Slack: steps.SlackOptions{PrivateChannels: cfg.Slack.PrivateChannels, AnnounceChannel: cfg.Slack.AnnounceChannel,
			Responders: cfg.Slack.Responders},
		Jira: steps.JiraOptions{Project: cfg.Jira.Project, IssueType: cfg.Jira.IssueType, Priorities: cfg.Jira.Priorities,
			ResolveTransition: cfg.Jira.ResolveTransition, ReopenTransition: cfg.Jira.ReopenTransition,
			Labels: cfg.Jira.Labels, Components: cfg.Jira.Components, Fields: cfg.Jira.Fields,
			IndexLag:          cmp.Or(cfg.Jira.IndexLag.Duration(), config.DefaultJiraIndexLag),
			FollowupIssueType: cfg.Jira.FollowupIssueType},
	}
}

// gatherer builds the correlation from cfg: the store's deploys always,
// the other sources when configured.
func (s *Server) gatherer(cfg *config.Config) (*correlate.Gatherer, error) {
	o := evidence.SourceOptions{GrafanaURL: cfg.Grafana.URL, GrafanaToken: string(cfg.Grafana.Token),
		JaegerURL: cfg.Jaeger.URL, PrometheusURL: cfg.Prometheus.URL, Transport: s.transport}
	if g := cfg.Deploys.Git; g != nil {
		o.Git = &evidence.GitOptions{URL: g.URL, Branch: g.Branch, Path: g.Path, Env: g.Env, Token: string(g.Token)}
	}
	src, err := evidence.NewSources(s.store, o)
	if err != nil {
		return nil, err
	}
	return correlate.New(src, correlate.Options{
		Budget: cfg.CorrelationBudget.Duration(), Lookback: cfg.Deploys.Lookback.Duration(),
		Upstreams: cfg.Deploys.Upstreams, CompareURL: cfg.Deploys.CompareURL, Now: s.now,
		AllowedQueries: cfg.Prometheus.AllowedQueries,
	}), nil
}

// newJiraClient builds the client of the jira section; rt carries its
// calls (nil: http.DefaultTransport).
func newJiraClient(cfg *config.Config, rt http.RoundTripper) (*ijira.Client, error) {
	return ijira.New(ijira.Options{URL: cfg.Jira.URL, Deployment: cfg.Jira.Deployment, Email: cfg.Jira.Auth.Email,
		APIToken: string(cfg.Jira.Auth.APIToken), PAT: string(cfg.Jira.Auth.PersonalAccessToken), Transport: rt})
}

// linkHosts are the hosts links may point at: links.allowed_hosts and
// the systems the config names.
func linkHosts(cfg *config.Config) render.Hosts {
	return render.NewHosts(cfg.Links.AllowedHosts, cfg.TrustedURLs()...)
}

// pageSigner signs the links to the incident page under cfg; nil without
// incident_page.signing_key.
func pageSigner(cfg *config.Config) *page.Signer {
	return page.NewSigner(string(cfg.IncidentPage.SigningKey), cfg.IncidentPage.LinkTTLOr(), cfg.PublicURL)
}
