package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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

// Validate reports every problem of the configuration at once, joined with
// errors.Join. It does not look at the machine: missing secrets are
// Problems of Load, not errors.
func (c *Config) Validate() error { return errors.Join(c.validate()...) }

// addrReason is why net.SplitHostPort refused an address, without the
// address, which the message quotes already (net's error repeats it raw,
// newlines and all).
func addrReason(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// validate checks every section, each where it is declared, in the order
// of the file.
func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port: %s", c.Listen, addrReason(err))
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("listen: %q: port %q is not a number from 0 to 65535", c.Listen, port)
	}
	if c.PublicListen != "" {
		if _, port, err := net.SplitHostPort(c.PublicListen); err != nil {
			bad("public_listen: %q is not host:port: %s", c.PublicListen, addrReason(err))
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad("public_listen: %q: port %q is not a number from 0 to 65535", c.PublicListen, port)
		} else if c.PublicListen == c.Listen && port != "0" {
			bad("public_listen: %q is listen's address too; give it its own port", c.PublicListen)
		}
	}
	checkURL(bad, "public_url", c.PublicURL)
	c.Storage.validate(bad)
	if !c.src.resolved {
		for _, s := range c.secretRefs() {
			if *s.value != "" && *s.file != "" {
				bad("%s and %s_file are both set; use one", s.key, s.key)
			}
		}
	}
	c.Webhook.validate(bad, c.src.resolved)
	c.Slack.validate(bad)
	c.Jira.validate(bad)
	errs = append(errs, c.Limits.validate()...)
	checkURL(bad, "grafana.url", c.Grafana.URL)
	checkURL(bad, "jaeger.url", c.Jaeger.URL)
	checkURL(bad, "prometheus.url", c.Prometheus.URL)
	checkURL(bad, "alertmanager.url", c.Alertmanager.URL)
	errs = append(errs, c.Links.validate()...)
	for _, q := range c.Prometheus.AllowedQueries {
		if strings.TrimSpace(q) == "" {
			bad("prometheus.allowed_queries: an entry is empty")
		}
	}
	c.Deploys.validate(bad)
	c.Jobs.validate(bad)
	c.PagerDuty.validate(bad, c.src.resolved)
	c.Reminders.validate(bad)
	c.Storm.validate(bad)
	c.IncidentPage.validate(bad, c.src.resolved, c.PublicURL)
	if c.CorrelationBudget < 0 {
		bad("correlation_budget: %v is negative", c.CorrelationBudget)
	}
	if c.ReopenWindow < 0 {
		bad("reopen_window: %v is negative", c.ReopenWindow)
	}
	if c.DryRunLog == "" {
		bad("dry_run_log: required")
	}
	return append(errs, c.validateRules()...)
}

// checkURL reports s, the value of key, unless it is empty or an http(s)
// URL with a host.
func checkURL(bad func(string, ...any), key, s string) {
	if s == "" {
		return
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("%s: %q is not an http(s) URL", key, s)
	}
}

// validateRules compiles the rules and puts each error at its rule's line.
func (c *Config) validateRules() []error {
	if len(c.Rules) > 0 && c.RulesFile != "" && c.src.rulesFile == "" {
		return []error{errors.New("rules and rules_file are both set; use one")}
	}
	_, err := rules.New(c.Rules)
	if err == nil {
		return nil
	}
	file := c.src.file
	if c.src.rulesFile != "" {
		file = c.src.rulesFile
	}
	var errs []error
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
	return errs
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
