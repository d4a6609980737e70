package bot

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/page"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/slackbot"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	ijira "github.com/warroom/warroom/integrations/jira"
	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/rules"
)

// live is the part of a running server that a reload of the configuration
// replaces (docs/DECISIONS.md, D12): built whole from one configuration by
// build, never changed after, and read through the one atomic pointer
// Server.cur. A delivery is judged by the rules of the live it loaded, a
// job runs with the executors of the live its run loaded, and a Slack
// command keeps the settings it started with; a reload swaps the pointer
// and leaves them to finish.
type live struct {
	cfg   *config.Config
	rules *rules.Set
	hosts render.Hosts
	table *steps.Table
	slack *slackbot.Settings
	// signer signs and checks the incident page's links (nil without
	// incident_page.signing_key), links lists a war room's links as its
	// summary does: the page shows them.
	signer *page.Signer
	links  func(inc *incident.Incident, alerts []incident.Alert) []render.Link
	// The clients of Slack and Jira (nil in dry run), and the settings
	// they were made with, so that a reload that leaves those alone keeps
	// them.
	slackClient       *islack.Client
	jiraClient        *ijira.Client
	slackKey, jiraKey string
}

// liveRules is the incident service's Evaluator: the rules in force.
type liveRules struct{ cur *atomic.Pointer[live] }

func (r liveRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	return r.cur.Load().rules.Evaluate(alerts)
}

// liveTable is the worker's Executor: the step table in force when a run
// starts.
type liveTable struct{ cur *atomic.Pointer[live] }

func (t liveTable) Execute(ctx context.Context, j incident.Job) error {
	return t.cur.Load().table.Execute(ctx, j)
}

// keptSlack returns l's Slack client when cfg would make the same one, or
// when cfg would put Slack in dry run (which needs a restart: until then
// the running client stays); nil otherwise.
func (l *live) keptSlack(cfg *config.Config) (*islack.Client, string) {
	if l == nil || l.slackClient == nil || slackKey(cfg) != l.slackKey && !cfg.SlackDryRun() {
		return nil, ""
	}
	return l.slackClient, l.slackKey
}

// keptJira is keptSlack for Jira.
func (l *live) keptJira(cfg *config.Config) (*ijira.Client, string) {
	if l == nil || l.jiraClient == nil || jiraKey(cfg) != l.jiraKey && !cfg.JiraDryRun() {
		return nil, ""
	}
	return l.jiraClient, l.jiraKey
}

// slackKey and jiraKey are the settings a client is made with, compared
// (never shown) to decide whether a reload needs a new one.
func slackKey(cfg *config.Config) string {
	return strings.Join([]string{string(cfg.Slack.BotToken), cfg.Slack.APIURL}, "\x00")
}

func jiraKey(cfg *config.Config) string {
	a := cfg.Jira.Auth
	return strings.Join([]string{cfg.Jira.URL, cfg.Jira.Deployment, a.Email, string(a.APIToken), string(a.PersonalAccessToken)}, "\x00")
}

// errNoReload is Reload's answer when the server was not given a way to
// read its configuration again.
var errNoReload = errors.New("no configuration to reload")

// Reload reads the configuration again (SIGHUP, POST /-/reload) and puts
// what may change while running in force: rules, responders, permissions,
// links, the outside systems' URLs and credentials. The settings that need
// a restart (RestartNeeded) keep their running values and are named in a
// warning. A configuration that cannot be used changes nothing: the error
// is logged and returned, and warroom_config_last_reload_successful is 0
// until a reload succeeds.
func (s *Server) Reload(_ context.Context) (httpapi.Reloaded, error) {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	if s.load == nil {
		return httpapi.Reloaded{}, errNoReload
	}
	cfg, err := s.load()
	var l *live
	if err == nil {
		l, err = s.build(cfg, s.cur.Load())
	}
	if err != nil {
		s.metrics.ConfigLoaded(false, s.now())
		s.log.Error("configuration not reloaded: the running one stays in force", "err", err)
		return httpapi.Reloaded{}, err
	}
	s.cur.Store(l)
	s.metrics.ConfigLoaded(true, s.now())
	restart := RestartNeeded(s.cfg, cfg)
	if len(restart) > 0 {
		s.log.Warn("configuration reloaded, but these settings changed and need a restart: they keep their running values",
			"settings", strings.Join(restart, ", "))
	}
	s.log.Info("configuration reloaded", "rules", len(l.rules.Rules()))
	return httpapi.Reloaded{RestartNeeded: restart}, nil
}

// RestartNeeded names the settings that differ between running, the
// configuration a server started with, and next, and that a reload cannot
// change: the listeners, the store, the credentials of the HTTP surface,
// the job worker, the limits, the dry run and what Slack's surface and
// Socket Mode were started with.
func RestartNeeded(running, next *config.Config) []string {
	type setting struct {
		key  string
		a, b any
	}
	archive := func(c *config.Config) any { return archiveAfter(c) }
	settings := []setting{
		{"listen", running.Listen, next.Listen},
		{"public_listen", running.PublicListen, next.PublicListen},
		{"storage", running.Storage, next.Storage},
		{"webhook", running.Webhook, next.Webhook},
		{"api", running.API, next.API},
		{"deploys.bearer_token", []any{running.Deploys.BearerToken, running.Deploys.BearerTokenFile},
			[]any{next.Deploys.BearerToken, next.Deploys.BearerTokenFile}},
		{"jobs", running.Jobs, next.Jobs},
		{"limits", running.Limits, next.Limits},
		{"reopen_window", running.ReopenWindow, next.ReopenWindow},
		{"reminders", running.Reminders, next.Reminders},
		{"storm", running.Storm, next.Storm},
		{"dry_run", [3]bool{running.SlackDryRun(), running.JiraDryRun(), running.PagerDutyDryRun()},
			[3]bool{next.SlackDryRun(), next.JiraDryRun(), next.PagerDutyDryRun()}},
		{"dry_run_log", running.DryRunLog, next.DryRunLog},
		{"slack.signing_secret", running.Slack.SigningSecret, next.Slack.SigningSecret},
		{"slack.app_token", running.Slack.AppToken, next.Slack.AppToken},
		{"slack.channel_prefix", running.Slack.ChannelPrefix, next.Slack.ChannelPrefix},
		{"slack.archive_after", archive(running), archive(next)},
	}
	var keys []string
	for _, st := range settings {
		if !reflect.DeepEqual(st.a, st.b) {
			keys = append(keys, st.key)
		}
	}
	return keys
}

// dryRunSystems names the systems cfg puts in dry run, each with why.
func dryRunSystems(cfg *config.Config) []string {
	var sys []string
	why := func(asked bool, missing string) string {
		if asked {
			return "dry_run"
		}
		return missing
	}
	if cfg.SlackDryRun() {
		sys = append(sys, "slack ("+why(cfg.DryRun || cfg.Slack.BotToken != "" || cfg.Slack.BotTokenFile != "", "no slack.bot_token")+")")
	}
	if cfg.JiraDryRun() {
		sys = append(sys, "jira ("+why(cfg.DryRun || cfg.Jira.URL != "", "no jira.url")+")")
	}
	return sys
}
