package bot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/rules"
)

// Defaults of the configuration (DESIGN.md §8).
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
	// Listen is the HTTP address, default 127.0.0.1:9095.
	Listen string `yaml:"listen" json:"listen"`
	// PublicURL is where people and Slack reach the bot, for links back.
	PublicURL    string             `yaml:"public_url" json:"public_url"`
	Storage      StorageConfig      `yaml:"storage" json:"storage"`
	Webhook      WebhookConfig      `yaml:"webhook" json:"webhook"`
	API          APIConfig          `yaml:"api" json:"api"`
	Slack        SlackConfig        `yaml:"slack" json:"slack"`
	Jira         JiraConfig         `yaml:"jira" json:"jira"`
	Grafana      GrafanaConfig      `yaml:"grafana" json:"grafana"`
	Jaeger       JaegerConfig       `yaml:"jaeger" json:"jaeger"`
	Prometheus   PrometheusConfig   `yaml:"prometheus" json:"prometheus"`
	Alertmanager AlertmanagerConfig `yaml:"alertmanager" json:"alertmanager"`
	Deploys      DeploysConfig      `yaml:"deploys" json:"deploys"`
	Rollback     RollbackConfig     `yaml:"rollback" json:"rollback"`
	Limits       LimitsConfig       `yaml:"limits" json:"limits"`
	Links        LinksConfig        `yaml:"links" json:"links"`
	// CorrelationBudget bounds the evidence that goes into the first
	// summary; later evidence arrives as an update. Default 3s.
	CorrelationBudget Duration `yaml:"correlation_budget" json:"correlation_budget"`
	// ReopenWindow: an incident whose key fires again within this time
	// after it resolved reopens; later, a new one opens. Default 1h.
	ReopenWindow Duration `yaml:"reopen_window" json:"reopen_window"`
	// DryRunLog is the file the dry-run executor appends its JSON lines to.
	DryRunLog string `yaml:"dry_run_log" json:"dry_run_log"`
	// Jobs tunes the durable job queue's worker.
	Jobs JobsConfig `yaml:"jobs" json:"jobs"`
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
	// resolved is set once ResolveSecrets filled secrets from their _file
	// twins, after which both being set is expected.
	resolved bool
	// unresolved are the keys of the secrets that were set but could not
	// be resolved (and so are empty): a credential that was meant to be
	// there must not count as one that was left out.
	unresolved []string
}

// StorageConfig selects the store.
type StorageConfig struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver" json:"driver"`
	// DSN is a file path for sqlite (default warroom.db) or a postgres://
	// URL. Its password, if any, is redacted wherever the config is shown;
	// prefer PGPASSWORD or PGPASSFILE.
	DSN string `yaml:"dsn" json:"dsn"`
	// Timeout bounds every write and read of the store (and, on
	// PostgreSQL, each statement and connect): past it the request is
	// answered 503. Default 5s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// WALLimitBytes bounds SQLite's write-ahead log: past it, the log is
	// checkpointed and cut back. Default 64 MiB; keep it well under the
	// volume's free space.
	WALLimitBytes int64 `yaml:"wal_limit_bytes" json:"wal_limit_bytes"`
}

// WebhookConfig says how senders of alerts and deploys authenticate.
// With neither a bearer token nor basic auth, webhooks are not
// authenticated.
type WebhookConfig struct {
	BearerToken     Secret     `yaml:"bearer_token" json:"bearer_token"`
	BearerTokenFile string     `yaml:"bearer_token_file" json:"bearer_token_file"`
	BasicAuth       *BasicAuth `yaml:"basic_auth" json:"basic_auth"`
	// MaxBodyBytes caps a webhook body; default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// MaxInFlightBytes caps the webhook bodies being handled at once (a
	// body of unknown length counts as max_body_bytes): past it, webhooks
	// are answered 503 with Retry-After at once rather than queued behind
	// a slow store. Default 64 MiB.
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes" json:"max_in_flight_bytes"`
}

// Configured reports whether webhooks must authenticate: a bearer token or
// a basic-auth user is set (after ResolveSecrets, a secret that could not
// be resolved is empty).
func (w *WebhookConfig) Configured() bool {
	return w.BearerToken != "" || w.BasicAuth != nil && w.BasicAuth.Username != ""
}

// APIConfig is the credential of the JSON API: listing and showing
// incidents, acting on them (ack, mitigate, resolve, notes) and listing
// deploys. Without a token of its own the API takes the webhook's
// credentials, as before the API had its own; with one it takes only that
// token, so that Alertmanager's credential cannot resolve incidents.
type APIConfig struct {
	BearerToken     Secret `yaml:"bearer_token" json:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file"`
}

// BasicAuth is a username and password.
type BasicAuth struct {
	Username     string `yaml:"username" json:"username"`
	Password     Secret `yaml:"password" json:"password"`
	PasswordFile string `yaml:"password_file" json:"password_file"`
}

// SlackConfig configures the Slack side.
type SlackConfig struct {
	BotToken          Secret `yaml:"bot_token" json:"bot_token"`
	BotTokenFile      string `yaml:"bot_token_file" json:"bot_token_file"`
	SigningSecret     Secret `yaml:"signing_secret" json:"signing_secret"`
	SigningSecretFile string `yaml:"signing_secret_file" json:"signing_secret_file"`
	// AppToken (xapp-…) selects Socket Mode instead of public HTTP endpoints.
	AppToken     Secret `yaml:"app_token" json:"app_token"`
	AppTokenFile string `yaml:"app_token_file" json:"app_token_file"`
	// APIURL points the client at a test double.
	APIURL string `yaml:"api_url" json:"api_url"`
	// AnnounceChannel gets one line per war room (name or ID).
	AnnounceChannel string `yaml:"announce_channel" json:"announce_channel"`
	// ChannelPrefix starts war-room channel names; default "inc".
	ChannelPrefix   string `yaml:"channel_prefix" json:"channel_prefix"`
	PrivateChannels bool   `yaml:"private_channels" json:"private_channels"`
	// ArchiveAfter is the time from resolve to archive; an explicit 0
	// means never. Nil (unset) becomes 24h in a Config from Load, Parse or
	// Default.
	ArchiveAfter *Duration `yaml:"archive_after" json:"archive_after"`
	// Responders are invited to every war room: user IDs (U…), user-group
	// handles (@…), emails.
	Responders []string `yaml:"responders" json:"responders"`
	// Permissions maps a /warroom action (see PermissionActions) to who
	// may do it: user IDs, user-group handles, or "commander". An action
	// without an entry is open to everyone, except assign while another
	// entry lists "commander" (see permission in slackcmd.go).
	Permissions map[string][]string `yaml:"permissions" json:"permissions"`
	// DryRun logs the calls instead of making them. It is forced on when
	// no bot token is configured.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
}

// JiraConfig configures the Jira side.
type JiraConfig struct {
	URL string `yaml:"url" json:"url"`
	// Deployment is cloud (default) or datacenter.
	Deployment string   `yaml:"deployment" json:"deployment"`
	Auth       JiraAuth `yaml:"auth" json:"auth"`
	Project    string   `yaml:"project" json:"project"`
	IssueType  string   `yaml:"issue_type" json:"issue_type"`
	// Priorities maps a severity to a Jira priority name.
	Priorities        map[string]string `yaml:"priorities" json:"priorities"`
	ResolveTransition string            `yaml:"resolve_transition" json:"resolve_transition"`
	ReopenTransition  string            `yaml:"reopen_transition" json:"reopen_transition"`
	// Labels are added to every ticket; Jira labels cannot contain spaces.
	Labels []string `yaml:"labels" json:"labels"`
	// Fields are extra fields of every ticket, as the REST API takes them.
	Fields map[string]any `yaml:"fields" json:"fields"`
	// Components are set on every ticket, by name.
	Components []string `yaml:"components" json:"components"`
	// IndexLag is how long a create whose outcome is unknown waits before
	// searching for the ticket again; default 30s (Jira Cloud's index lag).
	IndexLag Duration `yaml:"index_lag" json:"index_lag"`
	// DryRun logs the calls instead of making them. It is forced on when
	// no url is configured.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
}

// JiraAuth is basic auth with an API token (Cloud) or a personal access
// token (Data Center).
type JiraAuth struct {
	Email                   string `yaml:"email" json:"email"`
	APIToken                Secret `yaml:"api_token" json:"api_token"`
	APITokenFile            string `yaml:"api_token_file" json:"api_token_file"`
	PersonalAccessToken     Secret `yaml:"personal_access_token" json:"personal_access_token"`
	PersonalAccessTokenFile string `yaml:"personal_access_token_file" json:"personal_access_token_file"`
}

// GrafanaConfig locates Grafana; the token is a service-account token.
type GrafanaConfig struct {
	URL       string `yaml:"url" json:"url"`
	Token     Secret `yaml:"token" json:"token"`
	TokenFile string `yaml:"token_file" json:"token_file"`
}

// JaegerConfig locates Jaeger's query service (UI and API).
type JaegerConfig struct {
	URL string `yaml:"url" json:"url"`
}

// PrometheusConfig locates Prometheus.
type PrometheusConfig struct {
	URL string `yaml:"url" json:"url"`
	// AllowedQueries are the alert expressions (an alert's generatorURL
	// g0.expr, its threshold comparison aside) that warroom may evaluate
	// for a rule without value.query. An alert chooses its generatorURL,
	// so no other expression from it is ever sent to Prometheus.
	AllowedQueries []string `yaml:"allowed_queries" json:"allowed_queries"`
}

// AlertmanagerConfig locates Alertmanager, for silences.
type AlertmanagerConfig struct {
	URL string `yaml:"url" json:"url"`
}

// DeploysConfig tunes the suspect-deploy search.
type DeploysConfig struct {
	// Lookback is how long before an alert a deploy is a suspect; default 2h.
	Lookback Duration `yaml:"lookback" json:"lookback"`
	// CompareURL is a template (rules.TemplateData) for the diff link, e.g.
	// "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}".
	CompareURL string `yaml:"compare_url" json:"compare_url"`
	// Upstreams lists, per service, the services whose deploys may break
	// it: their deploys are suspects too.
	Upstreams map[string][]string `yaml:"upstreams" json:"upstreams"`
	// Git reads deploys from a GitOps repository: a commit that touches a
	// service's path on the branch is a deploy of that service.
	Git *GitDeploys `yaml:"git" json:"git,omitempty"`
	// BearerToken is the credential of POST /api/v1/deploys and
	// /api/v1/deploys/argocd, whose records decide the rollback target.
	// Unset, those take the webhook's credentials.
	BearerToken     Secret `yaml:"bearer_token" json:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file"`
}

// RollbackConfig signs the calls of rules' rollback webhooks.
type RollbackConfig struct {
	// WebhookSecret is the HMAC-SHA256 key of X-Warroom-Signature.
	WebhookSecret     Secret `yaml:"webhook_secret" json:"webhook_secret"`
	WebhookSecretFile string `yaml:"webhook_secret_file" json:"webhook_secret_file"`
}

// GitDeploys locates a GitOps repository.
type GitDeploys struct {
	// URL is an https:// URL, a file:// URL or a local path.
	URL    string `yaml:"url" json:"url"`
	Branch string `yaml:"branch" json:"branch"`
	// Path is a template (rules.TemplateData: {{.Service}}) for the
	// directory or file of a service, e.g. "apps/{{.Service}}/prod".
	Path string `yaml:"path" json:"path"`
	// Env is the environment the branch and paths deploy to ("" for any).
	Env       string `yaml:"env" json:"env"`
	Token     Secret `yaml:"token" json:"token"`
	TokenFile string `yaml:"token_file" json:"token_file"`
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
	if c.Slack.BotToken == "" && c.Slack.BotTokenFile == "" {
		c.Slack.DryRun = true
	}
	if c.Jira.Deployment == "" {
		c.Jira.Deployment = DefaultJiraDeployment
	}
	// Severities a config does not map keep DESIGN.md's mapping.
	for sev, prio := range map[string]string{"critical": "Highest", "warning": "High", "info": "Medium"} {
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
	if c.Jira.URL == "" {
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
	c.Limits.applyDefaults()
}

// Load reads the config file at path, and the rules_file it names, strictly;
// applies the defaults; validates; and resolves the secrets. An empty path
// means Default. The error reports a config that cannot be used, every
// problem at once, each with its file and line where known; problems report
// what this machine lacks (see Problem).
func Load(path string) (*Config, []Problem, error) {
	return loadConfig(path, os.LookupEnv)
}

func loadConfig(path string, lookupEnv func(string) (string, bool)) (*Config, []Problem, error) {
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
	}
	if err := c.check(keyErrs); err != nil {
		return nil, nil, err
	}
	return c, c.ResolveSecrets(dir, lookupEnv), nil
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
			errs[i] = &posError{file: c.src.file, err: err}
		}
	}
	return errors.Join(append(keyErrs, errs...)...)
}

// RuleSet compiles the rules; with none, the built-in default.
func (c *Config) RuleSet() (*rules.Set, error) { return rules.New(c.Rules) }
