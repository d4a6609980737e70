// Package config is warroom's configuration: its types, one file per
// section; the strict YAML decoding that reports every unknown key with its
// line; the secrets, which never show and come from a value, ${ENV} or a
// _file twin; and the validation of each section where it is declared. It
// is the leaf of the bot's rooms: it imports only rules and incident (for
// their defaults), and no room but the composition root hands it on.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/rules"
)

// Defaults of the configuration (README, Configuration).
const (
	DefaultListen        = "127.0.0.1:9095"
	DefaultStorageDriver = "sqlite"
	DefaultSQLiteDSN     = "warroom.db"
	DefaultMaxBodyBytes  = 4 << 20
	// DefaultMaxInFlightBytes bounds the webhook bodies in hand at once:
	// a stalled store must not let abandoned requests pile up in memory.
	DefaultMaxInFlightBytes = 64 << 20
	// DefaultStorageTimeout bounds a store operation: well under
	// Alertmanager's webhook timeout, so that a stalled store answers 503.
	DefaultStorageTimeout    = 5 * time.Second
	DefaultChannelPrefix     = "inc"
	DefaultArchiveAfter      = 24 * time.Hour
	DefaultJiraDeployment    = "cloud"
	DefaultDeployLookback    = 2 * time.Hour
	DefaultCorrelationBudget = 3 * time.Second
	// DefaultJiraIndexLag is how far Jira Cloud's search may lag behind a
	// create: a create whose outcome is unknown waits this long before the
	// search that decides whether to file again.
	DefaultJiraIndexLag = 30 * time.Second
	DefaultReopenWindow = time.Hour
	DefaultDryRunLog    = "warroom-dryrun.jsonl"
)

// Config is warroom's configuration. examples/warroom.yaml (a copy of the team's shared reference) is the
// reference of its keys. Secrets (the Secret fields) may be written as the
// value itself, as "${ENV}" references, or through their _file twin; Load
// resolves them.
type Config struct {
	// Listen is the HTTP address, default 127.0.0.1:9095: the webhooks,
	// the API, health, metrics and reload (and Slack's endpoints).
	Listen string `yaml:"listen" json:"listen"`
	// PublicListen, when set, is a second HTTP address that serves only
	// Slack's endpoints (/slack/*), for an Ingress that should expose
	// those and nothing else.
	PublicListen string `yaml:"public_listen" json:"public_listen"`
	// PublicURL is where people and Slack reach the bot, for links back.
	PublicURL    string       `yaml:"public_url" json:"public_url"`
	Storage      Storage      `yaml:"storage" json:"storage"`
	Webhook      Webhook      `yaml:"webhook" json:"webhook"`
	API          API          `yaml:"api" json:"api"`
	Slack        Slack        `yaml:"slack" json:"slack"`
	Jira         Jira         `yaml:"jira" json:"jira"`
	Grafana      Grafana      `yaml:"grafana" json:"grafana"`
	Jaeger       Jaeger       `yaml:"jaeger" json:"jaeger"`
	Prometheus   Prometheus   `yaml:"prometheus" json:"prometheus"`
	Alertmanager Alertmanager `yaml:"alertmanager" json:"alertmanager"`
	Deploys      Deploys      `yaml:"deploys" json:"deploys"`
	Rollback     Rollback     `yaml:"rollback" json:"rollback"`
	PagerDuty    PagerDuty    `yaml:"pagerduty" json:"pagerduty"`
	Reminders    Reminders    `yaml:"reminders" json:"reminders"`
	Storm        Storm        `yaml:"storm" json:"storm"`
	Limits       Limits       `yaml:"limits" json:"limits"`
	Links        Links        `yaml:"links" json:"links"`
	// IncidentPage signs the links to the read-only incident page.
	IncidentPage IncidentPage `yaml:"incident_page" json:"incident_page"`
	// CorrelationBudget bounds the evidence that goes into the first
	// summary; later evidence arrives as an update. Default 3s.
	CorrelationBudget Duration `yaml:"correlation_budget" json:"correlation_budget"`
	// ReopenWindow: an incident whose key fires again within this time
	// after it resolved reopens; later, a new one opens. Default 1h.
	ReopenWindow Duration `yaml:"reopen_window" json:"reopen_window"`
	// DryRun puts Slack and Jira in dry run: their calls are written to
	// DryRunLog instead of made. A system that is not configured at all
	// (no slack.bot_token, no jira.url) is in dry run anyway.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
	// DryRunLog is the file the dry-run executor appends its JSON lines to.
	DryRunLog string `yaml:"dry_run_log" json:"dry_run_log"`
	// Jobs tunes the durable job queue's worker.
	Jobs Jobs `yaml:"jobs" json:"jobs"`
	// Rules decide what happens to alerts; none means rules.Default.
	Rules []rules.Rule `yaml:"rules" json:"rules"`
	// RulesFile is a YAML file with a top-level rules list, relative to the
	// config file; Load reads it into Rules. It excludes rules.
	RulesFile string `yaml:"rules_file" json:"rules_file"`

	src configSource
}

// configSource remembers where a Config came from, for error positions.
type configSource struct {
	file      string       // the config file
	rulesFile string       // the file Rules were read from, if not the config file
	ruleNodes []*yaml.Node // each rule's YAML, for the lines of its errors
	root      *yaml.Node   // the config file's top mapping, for the lines of its keys
	rulesLine int          // the line of the rules list in the file it is in
	// resolved is set once ResolveSecrets filled secrets from their _file
	// twins, after which both being set is expected.
	resolved bool
	// unresolved are the keys of the secrets that were set but could not
	// be resolved (and so are empty): a credential that was meant to be
	// there must not count as one that was left out.
	unresolved []string
}

// Default returns the configuration used without a config file: SQLite in
// the working directory, loopback only, Slack and Jira in dry-run, the
// built-in rule.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Storage.Driver == "" {
		c.Storage.Driver = DefaultStorageDriver
	}
	if c.Storage.DSN == "" && c.Storage.Driver == DefaultStorageDriver {
		c.Storage.DSN = DefaultSQLiteDSN
	}
	if c.Webhook.MaxBodyBytes == 0 {
		c.Webhook.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Webhook.MaxInFlightBytes == 0 {
		c.Webhook.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if c.Storage.Timeout == 0 {
		c.Storage.Timeout = Duration(DefaultStorageTimeout)
	}
	if c.Slack.ChannelPrefix == "" {
		c.Slack.ChannelPrefix = DefaultChannelPrefix
	}
	if c.Slack.ArchiveAfter == nil {
		d := Duration(DefaultArchiveAfter)
		c.Slack.ArchiveAfter = &d
	}
	if c.DryRun || c.Slack.BotToken == "" && c.Slack.BotTokenFile == "" {
		c.Slack.DryRun = true
	}
	if c.Jira.Deployment == "" {
		c.Jira.Deployment = DefaultJiraDeployment
	}
	// Severities a config does not map keep the default mapping.
	// major and minor are the levels a responder sets (/warroom severity).
	for sev, prio := range map[string]string{"critical": "Highest", "warning": "High", "info": "Medium", "major": "High", "minor": "Medium"} {
		if _, ok := c.Jira.Priorities[sev]; !ok {
			if c.Jira.Priorities == nil {
				c.Jira.Priorities = map[string]string{}
			}
			c.Jira.Priorities[sev] = prio
		}
	}
	if c.Jira.ResolveTransition == "" {
		c.Jira.ResolveTransition = "Done"
	}
	if c.Jira.ReopenTransition == "" {
		c.Jira.ReopenTransition = "Reopen"
	}
	if c.DryRun || c.Jira.URL == "" {
		c.Jira.DryRun = true
	}
	if c.Deploys.Lookback == 0 {
		c.Deploys.Lookback = Duration(DefaultDeployLookback)
	}
	if c.CorrelationBudget == 0 {
		c.CorrelationBudget = Duration(DefaultCorrelationBudget)
	}
	if c.ReopenWindow == 0 {
		c.ReopenWindow = Duration(DefaultReopenWindow)
	}
	if c.DryRunLog == "" {
		c.DryRunLog = DefaultDryRunLog
	}
	if c.PagerDuty.URL == "" {
		c.PagerDuty.URL = DefaultPagerDutyURL
	}
	c.Limits.applyDefaults()
}

// Load reads the config file at path, and the rules_file it names, strictly;
// applies the defaults; validates; and resolves the secrets. An empty path
// means Default. The error reports a config that cannot be used, every
// problem at once, each with its file and line where known; problems report
// what this machine lacks (see Problem).
func Load(path string) (*Config, []Problem, error) {
	return loadConfig(path, os.LookupEnv, os.ReadFile)
}

// loadConfig is Load with the environment and the secret files read
// through lookupEnv and readSecret, so that a test states them instead of
// depending on the machine's.
func loadConfig(path string, lookupEnv func(string) (string, bool), readSecret func(string) ([]byte, error)) (*Config, []Problem, error) {
	if path == "" {
		return Default(), nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	c, keyErrs, err := parseConfig(data, path)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Dir(path)
	if c.RulesFile != "" && len(c.Rules) == 0 {
		rf := c.RulesFile
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(dir, rf)
		}
		data, err := os.ReadFile(rf)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: rules_file: %w", path, err)
		}
		var f struct {
			Rules []rules.Rule `yaml:"rules"`
		}
		root, errs, err := decodeStrict(data, rf, &f)
		if err != nil {
			return nil, nil, errors.Join(append(keyErrs, err)...)
		}
		keyErrs = append(keyErrs, errs...)
		c.Rules = f.Rules
		c.src.rulesFile, c.src.ruleNodes = rf, ruleNodes(root)
		if top := topMapping(root); top != nil {
			c.src.rulesLine = lineOf(top, "rules")
		}
	}
	if err := c.check(keyErrs); err != nil {
		return nil, nil, err
	}
	return c, c.resolveSecrets(dir, lookupEnv, readSecret), nil
}

// LoadStrict is Load for serve and its reloads: a secret that is
// configured but cannot be resolved (a variable unset or empty, a _file
// unreadable) is an error naming its key and the cause, on one line,
// rather than a Problem. A system whose credential is missing would
// otherwise run in a mode nobody asked for.
func LoadStrict(path string) (*Config, error) {
	c, problems, err := Load(path)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return c, nil
}

// Parse decodes a config strictly, applies the defaults and validates it;
// name is the file name used in errors. It does no I/O: rules_file is not
// read and secrets are not resolved.
func Parse(data []byte, name string) (*Config, error) {
	c, keyErrs, err := parseConfig(data, name)
	if err != nil {
		return nil, err
	}
	if err := c.check(keyErrs); err != nil {
		return nil, err
	}
	return c, nil
}

// parseConfig decodes data. Unknown keys come back as keyErrs, so that
// validation can still run and one pass shows every mistake; syntax and
// type errors are err.
func parseConfig(data []byte, name string) (c *Config, keyErrs []error, err error) {
	c = &Config{}
	root, keyErrs, err := decodeStrict(data, name, c)
	if err != nil {
		return nil, nil, err
	}
	c.src.file = name
	c.src.ruleNodes = ruleNodes(root)
	c.src.root = topMapping(root)
	c.src.rulesLine = c.keyLine("rules")
	c.applyDefaults()
	return c, keyErrs, nil
}

// check joins the unknown-key errors and those of validate, putting every
// error that lacks a position in the config file.
func (c *Config) check(keyErrs []error) error {
	errs := c.validate()
	for i, err := range errs {
		var pe *posError
		if !errors.As(err, &pe) {
			errs[i] = &posError{file: c.src.file, line: c.keyLine(leadingKey(err.Error())), err: err}
		}
	}
	return errors.Join(append(keyErrs, errs...)...)
}

// UnresolvedSecrets are the keys of the secrets that were configured but
// could not be resolved (see Unresolved).
func (c *Config) UnresolvedSecrets() []string { return slices.Clone(c.src.unresolved) }

// SlackDryRun reports whether Slack runs in dry run: asked for (dry_run,
// slack.dry_run) or not configured (no bot token).
func (c *Config) SlackDryRun() bool {
	return c.DryRun || c.Slack.DryRun || c.Slack.BotToken == "" && c.Slack.BotTokenFile == ""
}

// JiraDryRun reports whether Jira runs in dry run: asked for (dry_run,
// jira.dry_run) or not configured (no url).
func (c *Config) JiraDryRun() bool { return c.DryRun || c.Jira.DryRun || c.Jira.URL == "" }

// PagerDutyDryRun reports whether paging runs in dry run: asked for
// (dry_run) or not configured (no pagerduty.routing_key).
func (c *Config) PagerDutyDryRun() bool { return c.DryRun || !c.PagerDuty.Configured() }

// Unresolved reports whether the secret at key (e.g. "api.bearer_token")
// was configured but could not be resolved, and so is empty: a credential
// that was meant to be there must not count as one that was left out.
func (c *Config) Unresolved(key string) bool { return slices.Contains(c.src.unresolved, key) }

// RuleSet compiles the rules; with none, the built-in default.
func (c *Config) RuleSet() (*rules.Set, error) { return rules.New(c.Rules) }
