package bot

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/warroom/warroom/rules"
)

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
