package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
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

// Format implements fmt.Formatter. Without it, a verb that does not fit a
// pointer (%s, %d) on a struct holding a *BasicAuth makes fmt print the
// fields with their methods turned off, and so the password.
func (b BasicAuth) Format(f fmt.State, verb rune) {
	type basicAuth BasicAuth // without this method; Password keeps its own
	fmt.Fprintf(f, fmt.FormatString(f, verb), basicAuth(b))
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

// Secret is a credential. It renders as "<secret>" (or "" when empty)
// in fmt, JSON, YAML and slog, so that printing or logging a Config never
// shows one; string(s) is the value.
type Secret string

const redactedSecret = "<secret>"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redactedSecret
}

// Format implements fmt.Formatter so that no verb, %#v and %d included,
// shows the value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Duration is a time.Duration written as "90s", "2h", "1h30m" in YAML and
// JSON.
type Duration time.Duration

// JobsConfig tunes the worker that runs the side-effect steps. Zero values
// take the defaults of incident.WorkerOptions.
type JobsConfig struct {
	// Lease is how long a claimed job stays this replica's without a
	// heartbeat; a job held by a replica that died runs elsewhere within
	// about Lease + Lease/3. Default 15s.
	Lease Duration `yaml:"lease" json:"lease"`
	// Heartbeat is how often running jobs renew their leases; default
	// Lease/3.
	Heartbeat Duration `yaml:"heartbeat" json:"heartbeat"`
	// ShutdownGrace is how long running jobs may go on after SIGTERM
	// before they are cancelled and their leases released; default 5s.
	ShutdownGrace Duration `yaml:"shutdown_grace" json:"shutdown_grace"`
	// Concurrency is how many jobs run at once; default 8.
	Concurrency int `yaml:"concurrency" json:"concurrency"`
}

func (c JobsConfig) validate(bad func(string, ...any)) {
	if c.Lease < 0 || c.Heartbeat < 0 || c.ShutdownGrace < 0 || c.Concurrency < 0 {
		bad("jobs: lease, heartbeat, shutdown_grace and concurrency must not be negative")
	}
	if c.Lease > 0 && c.Lease.Duration() < 3*time.Second {
		bad("jobs.lease: %v is too short (at least 3s: a heartbeat must reach the store in time)", c.Lease)
	}
	lease := c.Lease.Duration()
	if lease == 0 {
		lease = incident.DefaultLease
	}
	if c.Heartbeat > 0 && c.Heartbeat.Duration() >= lease {
		bad("jobs.heartbeat: %v must be shorter than the lease (%v)", c.Heartbeat, lease)
	}
}

func (d Duration) String() string { return time.Duration(d).String() }

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// MarshalText implements encoding.TextMarshaler, for YAML and JSON.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reports a bad duration with its line and lets the decoder
// go on, so that one run shows every problem of the file.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration like 90s or 2h", n.Line)}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (want e.g. 90s, 2h, 1h30m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

type storageConfig StorageConfig // without the methods, for Format and the marshalers

// Format implements fmt.Formatter: the DSN's password is redacted.
func (s StorageConfig) Format(f fmt.State, verb rune) {
	s.DSN = redactDSN(s.DSN)
	fmt.Fprintf(f, fmt.FormatString(f, verb), storageConfig(s))
}

// MarshalJSON writes the storage config with the DSN's password redacted.
func (s StorageConfig) MarshalJSON() ([]byte, error) {
	s.DSN = redactDSN(s.DSN)
	return json.Marshal(storageConfig(s))
}

// MarshalYAML writes the storage config with the DSN's password redacted.
func (s StorageConfig) MarshalYAML() (any, error) {
	s.DSN = redactDSN(s.DSN)
	return storageConfig(s), nil
}

var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// redactDSN hides the password of a postgres URL or key=value DSN.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			dsn = u.Redacted()
		}
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}"+redactedSecret)
}

// Problem is something this machine lacks for the configuration to work —
// a missing environment variable, an unreadable secret file — as opposed to
// a configuration that is wrong. check-config reports problems; whether
// serve may start with them is the caller's choice. A Problem never
// contains a secret.
type Problem struct {
	// Key is the config key concerned, e.g. "slack.bot_token".
	Key string
	// Env is the environment variable that is missing, if that is the
	// problem.
	Env string
	// File is the file that cannot be read, if that is the problem.
	File    string
	Message string
}

func (p Problem) String() string { return p.Key + ": " + p.Message }

// Error makes a Problem usable as an error.
func (p Problem) Error() string { return p.String() }

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

// PermissionActions returns the /warroom actions slack.permissions may
// restrict.
func PermissionActions() []string {
	return []string{
		"ack", "assign", "declare", "deploys", "help", "list", "mitigate", "note",
		"reopen", "resolve", "rollback", "silence", "status", "timeline",
	}
}

var channelPrefixSyntax = regexp.MustCompile(`^[a-z0-9_-]{1,20}$`)

// Validate reports every problem of the configuration at once, joined with
// errors.Join. It does not look at the machine: missing secrets are
// Problems of Load, not errors.
func (c *Config) Validate() error { return errors.Join(c.validate()...) }

func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port: %v", c.Listen, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("listen: %q: port %q is not a number from 0 to 65535", c.Listen, port)
	}
	checkURL := func(key, s string) {
		if s == "" {
			return
		}
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s: %q is not an http(s) URL", key, s)
		}
	}
	checkURL("public_url", c.PublicURL)

	switch c.Storage.Driver {
	case "sqlite", "postgres":
	default:
		bad("storage.driver: unknown driver %q (valid: sqlite, postgres)", c.Storage.Driver)
	}
	if c.Storage.DSN == "" {
		bad("storage.dsn: required for %s", c.Storage.Driver)
	}
	if c.Storage.Timeout < 0 {
		bad("storage.timeout: %s is negative", c.Storage.Timeout)
	}
	if c.Storage.WALLimitBytes < 0 {
		bad("storage.wal_limit_bytes: %d is negative", c.Storage.WALLimitBytes)
	}

	if !c.src.resolved {
		for _, s := range c.secretRefs() {
			if *s.value != "" && *s.file != "" {
				bad("%s and %s_file are both set; use one", s.key, s.key)
			}
		}
	}
	if c.Webhook.MaxBodyBytes < 0 {
		bad("webhook.max_body_bytes: %d is negative", c.Webhook.MaxBodyBytes)
	}
	if c.Webhook.MaxInFlightBytes < c.Webhook.MaxBodyBytes {
		bad("webhook.max_in_flight_bytes: %d is less than max_body_bytes (%d): the largest webhook would never fit", c.Webhook.MaxInFlightBytes, c.Webhook.MaxBodyBytes)
	}
	if b := c.Webhook.BasicAuth; b != nil {
		if b.Username == "" {
			bad("webhook.basic_auth.username: required")
		}
		// An empty password would let anyone who knows the user in.
		if b.Password == "" && (b.PasswordFile == "" || c.src.resolved) {
			bad("webhook.basic_auth.password: required (or password_file)")
		}
	}

	checkURL("slack.api_url", c.Slack.APIURL)
	if !channelPrefixSyntax.MatchString(c.Slack.ChannelPrefix) {
		bad("slack.channel_prefix: %q must be 1 to 20 lowercase letters, digits, - or _", c.Slack.ChannelPrefix)
	}
	if c.Slack.ArchiveAfter != nil && *c.Slack.ArchiveAfter < 0 {
		bad("slack.archive_after: %v is negative (0 means never)", *c.Slack.ArchiveAfter)
	}
	actions := PermissionActions()
	for _, a := range configKeys(c.Slack.Permissions) {
		if !slices.Contains(actions, a) {
			bad("slack.permissions: unknown action %q (valid: %s)", a, strings.Join(actions, ", "))
		}
	}

	checkURL("jira.url", c.Jira.URL)
	switch c.Jira.Deployment {
	case "cloud", "datacenter":
	default:
		bad("jira.deployment: %q is not cloud or datacenter", c.Jira.Deployment)
	}
	a := c.Jira.Auth
	apiToken := a.APIToken != "" || a.APITokenFile != ""
	pat := a.PersonalAccessToken != "" || a.PersonalAccessTokenFile != ""
	switch {
	case apiToken && pat:
		bad("jira.auth: api_token and personal_access_token are both set; use one")
	case c.Jira.Deployment == "cloud" && pat:
		bad("jira.auth.personal_access_token: Jira Cloud takes email and api_token")
	case c.Jira.Deployment == "cloud" && apiToken && a.Email == "":
		bad("jira.auth.email: required with api_token on Jira Cloud")
	}
	for _, l := range c.Jira.Labels {
		if l == "" || strings.ContainsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
			bad("jira.labels: %q: Jira labels cannot be empty or contain spaces", l)
		}
	}

	errs = append(errs, c.Limits.validate()...)
	checkURL("grafana.url", c.Grafana.URL)
	checkURL("jaeger.url", c.Jaeger.URL)
	checkURL("prometheus.url", c.Prometheus.URL)
	checkURL("alertmanager.url", c.Alertmanager.URL)

	errs = append(errs, c.Links.validate()...)
	for _, q := range c.Prometheus.AllowedQueries {
		if strings.TrimSpace(q) == "" {
			bad("prometheus.allowed_queries: an entry is empty")
		}
	}

	if c.Deploys.Lookback < 0 {
		bad("deploys.lookback: %v is negative", c.Deploys.Lookback)
	}
	if c.Deploys.CompareURL != "" {
		if err := rules.CheckTemplate(c.Deploys.CompareURL); err != nil {
			bad("deploys.compare_url: bad template: %v", err)
		}
	}
	c.Jobs.validate(bad)
	if c.CorrelationBudget < 0 {
		bad("correlation_budget: %v is negative", c.CorrelationBudget)
	}
	if c.ReopenWindow < 0 {
		bad("reopen_window: %v is negative", c.ReopenWindow)
	}
	if c.DryRunLog == "" {
		bad("dry_run_log: required")
	}

	if len(c.Rules) > 0 && c.RulesFile != "" && c.src.rulesFile == "" {
		bad("rules and rules_file are both set; use one")
	} else if _, err := rules.New(c.Rules); err != nil {
		file := c.src.file
		if c.src.rulesFile != "" {
			file = c.src.rulesFile
		}
		for _, err := range splitJoined(err) {
			pe := &posError{file: file, err: err}
			var re *rules.Error
			if errors.As(err, &re) && re.Index < len(c.src.ruleNodes) {
				pe.line = lineOf(c.src.ruleNodes[re.Index], re.Field)
			}
			if pe.file == "" {
				errs = append(errs, err)
			} else {
				errs = append(errs, pe)
			}
		}
	}
	return errs
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// secretRef ties a secret to its _file twin.
type secretRef struct {
	key   string // the secret's config key, e.g. "slack.bot_token"
	value *Secret
	file  *string
}

func (c *Config) secretRefs() []secretRef {
	refs := []secretRef{
		{"webhook.bearer_token", &c.Webhook.BearerToken, &c.Webhook.BearerTokenFile},
		{"slack.bot_token", &c.Slack.BotToken, &c.Slack.BotTokenFile},
		{"slack.signing_secret", &c.Slack.SigningSecret, &c.Slack.SigningSecretFile},
		{"slack.app_token", &c.Slack.AppToken, &c.Slack.AppTokenFile},
		{"jira.auth.api_token", &c.Jira.Auth.APIToken, &c.Jira.Auth.APITokenFile},
		{"jira.auth.personal_access_token", &c.Jira.Auth.PersonalAccessToken, &c.Jira.Auth.PersonalAccessTokenFile},
		{"grafana.token", &c.Grafana.Token, &c.Grafana.TokenFile},
	}
	if b := c.Webhook.BasicAuth; b != nil {
		refs = append(refs, secretRef{"webhook.basic_auth.password", &b.Password, &b.PasswordFile})
	}
	refs = append(refs, secretRef{"rollback.webhook_secret", &c.Rollback.WebhookSecret, &c.Rollback.WebhookSecretFile})
	if g := c.Deploys.Git; g != nil {
		refs = append(refs, secretRef{"deploys.git.token", &g.Token, &g.TokenFile})
	}
	refs = append(refs,
		secretRef{"api.bearer_token", &c.API.BearerToken, &c.API.BearerTokenFile},
		secretRef{"deploys.bearer_token", &c.Deploys.BearerToken, &c.Deploys.BearerTokenFile})
	return refs
}

var secretEnvRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ResolveSecrets fills every secret from its _file twin (a path relative
// to dir, content trimmed) or expands the ${VAR} references in its value
// with lookupEnv. A secret that cannot be resolved is left empty and
// reported as a Problem naming the variable or the file, never a value.
// Load calls it; call it yourself only on a Config from Parse.
func (c *Config) ResolveSecrets(dir string, lookupEnv func(string) (string, bool)) []Problem {
	var problems []Problem
	for _, s := range c.secretRefs() {
		if *s.file != "" {
			path := *s.file
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				problems = append(problems, Problem{Key: s.key + "_file", File: path, Message: fmt.Sprintf("cannot read secret file: %v", err)})
				*s.value = ""
				c.src.unresolved = append(c.src.unresolved, s.key)
				continue
			}
			*s.value = Secret(strings.TrimSpace(string(data)))
			continue
		}
		var missing bool
		v := secretEnvRef.ReplaceAllStringFunc(string(*s.value), func(ref string) string {
			name := ref[2 : len(ref)-1]
			val, ok := lookupEnv(name)
			switch {
			case !ok:
				problems = append(problems, Problem{Key: s.key, Env: name, Message: "environment variable " + name + " is not set"})
				missing = true
			case val == "":
				problems = append(problems, Problem{Key: s.key, Env: name, Message: "environment variable " + name + " is empty"})
				missing = true
			}
			return val
		})
		if missing {
			v = ""
			c.src.unresolved = append(c.src.unresolved, s.key)
		}
		*s.value = Secret(v)
	}
	c.src.resolved = true
	return problems
}

// posError is an error at a place in a file; line 0 means the whole file.
type posError struct {
	file string
	line int
	err  error
}

func (e *posError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err)
	}
	return fmt.Sprintf("%s: %v", e.file, e.err)
}

func (e *posError) Unwrap() error { return e.err }

// yamlLine finds the line yaml puts at the front of its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

func yamlError(file, msg string) error {
	msg = flatLine(msg)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &posError{file: file, line: line, err: errors.New(msg[len(m[0]):])}
	}
	return &posError{file: file, err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
}

// flatLine makes a YAML error one line of valid UTF-8: the yaml package
// quotes up to ten bytes of the offending value, which may hold a line
// break or half a character.
func flatLine(msg string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(msg, "\uFFFD") {
		if r < ' ' || r == 0x7f {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decodeStrict decodes data into out. It returns every unknown key (with
// the valid ones) as keyErrs, and every syntax or type error joined as err,
// each at its file and line.
func decodeStrict(data []byte, file string, out any) (root *yaml.Node, keyErrs []error, err error) {
	root = new(yaml.Node)
	if err := yaml.Unmarshal(data, root); err != nil {
		return nil, nil, yamlError(file, err.Error())
	}
	checkKeys(root, reflect.TypeOf(out).Elem(), "", func(line int, msg string) {
		keyErrs = append(keyErrs, &posError{file: file, line: line, err: errors.New(msg)})
	})

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, errors.Join(append(keyErrs, yamlError(file, err.Error()))...)
		}
		var errs []error
		for _, msg := range te.Errors {
			// checkKeys has reported the unknown fields better.
			if len(keyErrs) > 0 && strings.Contains(msg, " not found in type ") {
				continue
			}
			errs = append(errs, yamlError(file, msg))
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(append(keyErrs, errs...)...)
		}
	}
	return root, keyErrs, nil
}

// ruleNodes returns the entries of the top-level rules list.
func ruleNodes(root *yaml.Node) []*yaml.Node {
	if root == nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "rules" {
			continue
		}
		if seq := top.Content[i+1]; seq.Kind == yaml.SequenceNode {
			return seq.Content
		}
		return nil
	}
	return nil
}

// lineOf returns the line of the key at path ("a.b[1].c") under n, or of
// the deepest part of it that exists.
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
	for part := range strings.SplitSeq(strings.ReplaceAll(path, "[", ".["), ".") {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch {
		case part == "":
			continue
		case part[0] == '[' && n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		case n.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == part {
					next = n.Content[j+1]
					line = n.Content[j].Line
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

var yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkKeys walks the YAML tree along the Go type t and reports every
// mapping key that names no field. Shapes that do not fit t are left to
// the decoder, which reports them as type errors.
func checkKeys(n *yaml.Node, t reflect.Type, path string, report func(line int, msg string)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkKeys(c, t, path, report)
		}
		return
	case yaml.AliasNode:
		if n.Alias != nil {
			checkKeys(n.Alias, t, path, report)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(yamlUnmarshalerType) || reflect.PointerTo(t).Implements(yamlUnmarshalerType) {
		return // it checks its own keys
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				checkMerge(v, t, path, report)
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				where := "at the top level"
				if path != "" {
					where = "in " + path
				}
				report(k.Line, fmt.Sprintf("unknown key %q %s (valid: %s)", k.Value, where, strings.Join(configKeys(fields), ", ")))
				continue
			}
			checkKeys(v, f, keyPath(path, k.Value), report)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), keyPath(path, n.Content[i].Value), report)
		}
	}
}

func checkMerge(v *yaml.Node, t reflect.Type, path string, report func(int, string)) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			checkKeys(c, t, path, report)
		}
		return
	}
	checkKeys(v, t, path, report)
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of struct type t to the field types, as
// yaml.v3 names them (including inlined structs).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					fields[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func configKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
