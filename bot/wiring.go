package bot

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/bot/steps/evidence"
	"github.com/warroom/warroom/bot/steps/jiraticket"
	"github.com/warroom/warroom/bot/steps/slackroom"
	"github.com/warroom/warroom/bot/telemetry"
	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager"
	ijira "github.com/warroom/warroom/integrations/jira"
	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/rules"
)

// steps builds the executors of the side effects and the one table that
// chooses among them by the kind of step, checked here, at start: Slack
// for real when a bot token is configured (slackClient), Jira when a URL
// is (and dry_run is not asked for); the rest in dry run.
func (s *Server) steps(slackClient *islack.Client) (*steps.Table, error) {
	cfg := s.cfg
	p := planner(cfg, s.rules, s.log, s.now)
	d := p.Deps
	d.Store, d.Service = s.store, s.svc
	slackOpts, jiraOpts := p.Slack, p.Jira

	var err error
	if s.dryRun, err = dryrun.New(cfg.DryRunLog, d, slackOpts, jiraOpts); err != nil {
		return nil, err
	}
	var silences *alertmanager.SilenceClient // nil without alertmanager.url
	if u := cfg.Alertmanager.URL; u != "" {
		silences = alertmanager.NewSilenceClient(u, s.httpClient(telemetry.APIAlertmanager, alertmanager.DefaultTimeout))
	}
	s.actions = actions.New(d, silences, string(cfg.Rollback.WebhookSecret), s.transport(telemetry.APIRollback))
	g, err := s.gatherer()
	if err != nil {
		return nil, err
	}
	s.evidence = evidence.New(g, d)
	var slackSteps, jiraSteps incident.Executor = s.dryRun, s.dryRun
	if slackClient != nil {
		slackSteps = slackroom.New(slackClient, d, slackOpts)
	}
	if !cfg.Jira.DryRun {
		jc, err := newJiraClient(cfg, s.transport(telemetry.APIJira))
		if err != nil {
			return nil, err
		}
		jiraSteps = jiraticket.New(jc, d, jiraOpts)
	}
	return steps.NewTable(incident.JobKinds(),
		steps.Route{Kinds: slackroom.Kinds(), Exec: slackSteps},
		steps.Route{Kinds: jiraticket.Kinds(), Exec: jiraSteps},
		steps.Route{Kinds: evidence.Kinds(), Exec: s.evidence},
		steps.Route{Kinds: actions.Kinds(), Exec: s.actions},
	)
}

// planner is the description of the steps under cfg: what simulate
// prints, and what the executors send and the dry run logs once the store
// is added to its dependencies.
func planner(cfg *config.Config, set *rules.Set, log *slog.Logger, now func() time.Time) steps.Planner {
	return steps.Planner{
		Deps: steps.Deps{Rules: set, Hosts: linkHosts(cfg),
			Sites:          steps.Sites{JiraURL: cfg.Jira.URL, AlertmanagerURL: cfg.Alertmanager.URL},
			EvidenceBudget: cfg.CorrelationBudget.Duration(), Log: log, Now: now},
		Slack: steps.SlackOptions{PrivateChannels: cfg.Slack.PrivateChannels, AnnounceChannel: cfg.Slack.AnnounceChannel,
			Responders: cfg.Slack.Responders},
		Jira: steps.JiraOptions{Project: cfg.Jira.Project, IssueType: cfg.Jira.IssueType, Priorities: cfg.Jira.Priorities,
			ResolveTransition: cfg.Jira.ResolveTransition, ReopenTransition: cfg.Jira.ReopenTransition,
			Labels: cfg.Jira.Labels, Components: cfg.Jira.Components, Fields: cfg.Jira.Fields,
			IndexLag: cmp.Or(cfg.Jira.IndexLag.Duration(), config.DefaultJiraIndexLag)},
	}
}

// gatherer builds the correlation from the config: the store's deploys
// always, the other sources when configured.
func (s *Server) gatherer() (*correlate.Gatherer, error) {
	cfg := s.cfg
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
