package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

const exampleConfig = "../../examples/warroom.yaml"

// envMap is a lookupEnv over a map, so that tests need not touch the
// process environment.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// noSecretFiles is a readSecret on a machine without the secret files,
// whatever this one has in /etc/warroom.
func noSecretFiles(name string) ([]byte, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// The example config on a machine with none of its secrets: neither its
// environment variables nor its token file.
func TestConfigExample(t *testing.T) {
	t.Parallel()
	c, problems, err := loadConfig(exampleConfig, envMap(nil), noSecretFiles)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	type what struct{ key, env, file string }
	var got []what
	for _, p := range problems {
		got = append(got, what{p.Key, p.Env, p.File})
	}
	want := []what{
		{"webhook.bearer_token_file", "", "/etc/warroom/webhook-token"},
		{"slack.bot_token", "SLACK_BOT_TOKEN", ""},
		{"slack.signing_secret", "SLACK_SIGNING_SECRET", ""},
		{"jira.auth.api_token", "JIRA_API_TOKEN", ""},
		{"grafana.token", "GRAFANA_TOKEN", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %v\nwant %v", problems, want)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:9095"},
		{"public_url", c.PublicURL, "https://warroom.example.com"},
		{"storage", [2]string{c.Storage.Driver, c.Storage.DSN}, [2]string{"sqlite", "warroom.db"}},
		{"webhook.bearer_token_file", c.Webhook.BearerTokenFile, "/etc/warroom/webhook-token"},
		{"webhook.max_body_bytes", c.Webhook.MaxBodyBytes, int64(4 << 20)},
		{"slack.announce_channel", c.Slack.AnnounceChannel, "reliability-alert"},
		{"slack.channel_prefix", c.Slack.ChannelPrefix, "inc"},
		{"slack.archive_after", c.Slack.ArchiveAfter.Duration(), 24 * time.Hour},
		{"slack.responders", c.Slack.Responders, []string{"@sre-oncall"}},
		{"slack.permissions", c.Slack.Permissions, map[string][]string{
			"ack": {"@sre-oncall", "commander"}, "assign": {"@sre-oncall", "commander"}, "mitigate": {"@sre-oncall", "commander"},
			"resolve": {"@sre-oncall", "commander"}, "rollback": {"@sre-oncall", "commander"}, "severity": {"@sre-oncall", "commander"}, "silence": {"@sre-oncall", "commander"}}},
		{"slack.dry_run", c.Slack.DryRun, false},
		{"jira.url", c.Jira.URL, "https://example.atlassian.net"},
		{"jira.deployment", c.Jira.Deployment, "cloud"},
		{"jira.auth.email", c.Jira.Auth.Email, "sre-bot@example.com"},
		{"jira.project", [2]string{c.Jira.Project, c.Jira.IssueType}, [2]string{"OPS", "Incident"}},
		{"jira.priorities", c.Jira.Priorities, map[string]string{"critical": "Highest", "major": "High", "minor": "Medium", "warning": "High", "info": "Medium"}},
		{"jira.transitions", [2]string{c.Jira.ResolveTransition, c.Jira.ReopenTransition}, [2]string{"Done", "Reopen"}},
		{"jira.labels", c.Jira.Labels, []string{"warroom"}},
		{"jira.followup_issue_type", c.Jira.FollowupIssueType, "Task"},
		{"rules[0].links.bridge", c.Rules[0].Links.Bridge, "https://example.zoom.us/j/5550100"},
		{"links.allowed_hosts", c.Links.AllowedHosts, []string{"runbooks.example.com", "ci.example.com", "example.zoom.us"}},
		{"jira.dry_run", c.Jira.DryRun, false},
		{"urls", []string{c.Grafana.URL, c.Jaeger.URL, c.Prometheus.URL, c.Alertmanager.URL}, []string{
			"https://grafana.example.com", "https://jaeger.example.com", "https://prometheus.example.com", "https://alertmanager.example.com"}},
		{"deploys.lookback", c.Deploys.Lookback.Duration(), 2 * time.Hour},
		{"deploys.compare_url", c.Deploys.CompareURL, "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"},
		{"api and deploys tokens (commented out: the webhook's)", []string{c.API.BearerTokenFile, c.Deploys.BearerTokenFile}, []string{"", ""}},
		{"correlation_budget", c.CorrelationBudget.Duration(), 3 * time.Second},
		{"reopen_window", c.ReopenWindow.Duration(), time.Hour},
		{"dry_run_log", c.DryRunLog, "warroom-dryrun.jsonl"},
		{"unresolved secrets are empty", []Secret{c.Webhook.BearerToken, c.Slack.BotToken, c.Slack.SigningSecret, c.Jira.Auth.APIToken, c.Grafana.Token}, []Secret{"", "", "", "", ""}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}

	if err := c.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
	set, err := c.RuleSet()
	if err != nil {
		t.Fatalf("RuleSet: %v", err)
	}
	var names []string
	for _, r := range set.Rules() {
		names = append(names, r.Name)
	}
	if want := []string{"api-error-rate", "api-latency", "auth-failures", "tls-handshake-failures", "everything-else"}; !slices.Equal(names, want) {
		t.Errorf("rules = %q, want %q", names, want)
	}
	// The runbook's other golden signals, each in its unit with its wording,
	// board and runbook.
	for _, tc := range []struct {
		rule      string
		value     rules.Value
		threshold float64
		board     string
	}{
		{"api-latency", rules.Value{Annotation: "latency_p99", Unit: "seconds", Name: "P99 latency"}, 0.5, "api-golden-signals"},
		{"auth-failures", rules.Value{Annotation: "auth_failures", Unit: "count", Noun: "auth failure", Window: "10m"}, 50, "auth-golden-signals"},
		{"tls-handshake-failures", rules.Value{Annotation: "tls_handshake_failures", Unit: "count", Noun: "TLS handshake failure", Window: "10m"}, 20, "tls-golden-signals"},
	} {
		r, ok := set.Lookup(tc.rule)
		if !ok {
			t.Errorf("no rule %s", tc.rule)
			continue
		}
		if r.Value != tc.value || r.Threshold.Value != tc.threshold || len(r.Grafana.Dashboards) != 1 ||
			r.Grafana.Dashboards[0].UID != tc.board || r.Runbook != "{{.Annotations.runbook_url}}" || r.Severity != incident.Critical {
			t.Errorf("%s = %+v", tc.rule, r)
		}
	}
	r, _ := set.Lookup("api-error-rate")
	if r.WhenUnknown != incident.ActionWarRoom || r.Severity != incident.Critical || r.Threshold.Value != 0.008 ||
		r.Grafana.Dashboards[0].Vars["env"] != "{{.Labels.env}}" || r.Rollback.Command != "argocd app rollback {{.Service}} {{.TargetRevision}}" {
		t.Errorf("api-error-rate = %+v", r)
	}
}

func TestConfigExampleWithEnvironment(t *testing.T) {
	t.Parallel()
	env := envMap(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-example", "SLACK_SIGNING_SECRET": "sign", "JIRA_API_TOKEN": "jira", "GRAFANA_TOKEN": "glsa",
	})
	c, problems, err := loadConfig(exampleConfig, env, noSecretFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].File != "/etc/warroom/webhook-token" {
		t.Errorf("problems = %v, want only the webhook token file", problems)
	}
	got := []string{string(c.Slack.BotToken), string(c.Slack.SigningSecret), string(c.Jira.Auth.APIToken), string(c.Grafana.Token)}
	if want := []string{"xoxb-example", "sign", "jira", "glsa"}; !slices.Equal(got, want) {
		t.Errorf("secrets = %q, want %q", got, want)
	}
}

func TestConfigBadFixtures(t *testing.T) {
	t.Parallel()
	const dir = "testdata/config/"
	tests := []struct {
		file string
		want []string // every line of the error, exactly
	}{
		{
			file: "typo-nested.yaml",
			want: []string{
				dir + `typo-nested.yaml:5: unknown key "announce_chanel" in slack (valid: announce_channel, api_url, app_token, app_token_file, archive_after, bot_token, bot_token_file, channel_prefix, dry_run, permissions, private_channels, responders, signing_secret, signing_secret_file)`,
				dir + `typo-nested.yaml:8: unknown key "emial" in jira.auth (valid: api_token, api_token_file, email, personal_access_token, personal_access_token_file)`,
				dir + `typo-nested.yaml:9: unknown key "strage" at the top level (valid: alertmanager, api, correlation_budget, deploys, dry_run, dry_run_log, grafana, incident_page, jaeger, jira, jobs, limits, links, listen, pagerduty, prometheus, public_listen, public_url, reminders, reopen_window, rollback, rules, rules_file, slack, storage, storm, webhook)`,
				dir + `typo-nested.yaml:15: unknown key "anotation" in rules[0].value (valid: annotation, grafana, name, noun, query, unit, window)`,
				dir + `typo-nested.yaml:19: unknown key "varz" in rules[0].grafana.dashboards[0] (valid: uid, vars)`,
			},
		},
		{
			file: "bad-matcher.yaml",
			want: []string{
				dir + `bad-matcher.yaml:5: rules[1] (broken): bad matcher "{alertname=~\"HighErrorRate|\", env=prod\"}": 38:40: "}: missing end ": expected a comma or close brace`,
			},
		},
		{
			file: "bad-threshold.yaml",
			want: []string{
				dir + `bad-threshold.yaml:4: bad threshold: "0.8 percent" is not a number (want a number, a percentage like "0.8%" or a duration like "500ms")`,
				dir + `bad-threshold.yaml:7: bad threshold: want exactly one of above or below, e.g. {above: "0.8%"}`,
			},
		},
		{
			file: "secret-and-file.yaml",
			want: []string{
				dir + `secret-and-file.yaml:2: slack.bot_token and slack.bot_token_file are both set; use one`,
				dir + `secret-and-file.yaml:5: grafana.token and grafana.token_file are both set; use one`,
			},
		},
		{
			file: "unknown-driver.yaml",
			want: []string{dir + `unknown-driver.yaml:2: storage.driver: unknown driver "mysql" (valid: sqlite, postgres)`},
		},
		{
			file: "type-errors.yaml",
			want: []string{
				dir + "type-errors.yaml:2: cannot unmarshal !!str `lots` into int64",
				dir + `type-errors.yaml:4: "soon" is not a duration (want e.g. 90s, 2h, 1h30m)`,
				dir + "type-errors.yaml:5: cannot unmarshal !!str `maybe` into bool",
				dir + "type-errors.yaml:6: cannot unmarshal !!str `@sre-on...` into []string",
				dir + "type-errors.yaml:7: want a duration like 90s or 2h",
			},
		},
		{
			file: "invalid-values.yaml",
			want: []string{
				dir + `invalid-values.yaml:2: listen: "localhost" is not host:port: missing port in address`,
				dir + `invalid-values.yaml:3: public_url: "warroom.example.com" is not an http(s) URL`,
				dir + `invalid-values.yaml:4: storage.dsn: required for postgres`,
				dir + `invalid-values.yaml:6: storage.timeout: -1s is negative`,
				dir + `invalid-values.yaml:7: storage.wal_limit_bytes: -1 is negative`,
				dir + `invalid-values.yaml:9: webhook.max_body_bytes: -1 is negative`,
				dir + `invalid-values.yaml:10: webhook.basic_auth.username: required`,
				dir + `invalid-values.yaml:12: slack.channel_prefix: "INC!" must be 1 to 20 lowercase letters, digits, - or _`,
				dir + `invalid-values.yaml:13: slack.archive_after: -1h0m0s is negative (0 means never)`,
				dir + `invalid-values.yaml:14: slack.permissions: unknown action "resolv" (valid: ack, assign, declare, deploys, followup, help, list, mitigate, note, reopen, resolve, rollback, severity, silence, status, timeline)`,
				dir + `invalid-values.yaml:16: jira.project: required when jira.url is set (the project key, e.g. OPS)`,
				dir + `invalid-values.yaml:16: jira.issue_type: required when jira.url is set (e.g. Incident)`,
				dir + `invalid-values.yaml:18: jira.deployment: "server" is not cloud or datacenter`,
				dir + `invalid-values.yaml:20: jira.auth: api_token and personal_access_token are both set; use one`,
				dir + `invalid-values.yaml:19: jira.labels: "on call": Jira labels cannot be empty or contain spaces`,
				dir + `invalid-values.yaml:26: links.allowed_hosts: "https://evil.example" is not a host name or *.domain (no scheme, port or path)`,
				dir + `invalid-values.yaml:26: links.allowed_hosts: "a*.example.com" is not a host name or *.domain (no scheme, port or path)`,
				dir + `invalid-values.yaml:24: prometheus.allowed_queries: an entry is empty`,
				dir + `invalid-values.yaml:28: deploys.lookback: -2h0m0s is negative`,
				dir + `invalid-values.yaml:29: deploys.compare_url: bad template: template: check:1: bad character U+007D '}'`,
				dir + `invalid-values.yaml:30: correlation_budget: -3s is negative`,
				dir + `invalid-values.yaml:31: reopen_window: -1h0m0s is negative`,
			},
		},
		{
			file: "rules-and-rules-file.yaml",
			want: []string{dir + `rules-and-rules-file.yaml:2: rules and rules_file are both set; use one`},
		},
		{
			// Unknown keys do not stop validation: one run shows everything.
			file: "with-bad-rules-file.yaml",
			want: []string{
				dir + `bad-rules.yaml:4: unknown key "when_unkown" in rules[0] (valid: announce_channel, decision, grafana, incident_key, jira, links, match, name, page, responders, rollback, runbook, severity, threshold, value, when_unknown)`,
				dir + `bad-rules.yaml:5: rules[1] (api-error-rate): name "api-error-rate" is also the name of rules[0]`,
				dir + `bad-rules.yaml:7: rules[1] (api-error-rate): unknown decision "page" (valid: war_room, record, ignore)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			c, problems, err := loadConfig(dir+tt.file, envMap(nil), noSecretFiles)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if c != nil || problems != nil {
				t.Errorf("Load returned a config or problems with its error")
			}
			if got := errLines(err); !slices.Equal(got, tt.want) {
				t.Errorf("error:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}

			// Parse reports the same without reading anything (it does not
			// follow rules_file).
			if tt.file == "with-bad-rules-file.yaml" {
				return
			}
			data, rerr := os.ReadFile(dir + tt.file)
			if rerr != nil {
				t.Fatal(rerr)
			}
			_, perr := Parse(data, dir+tt.file)
			if got := errLines(perr); !slices.Equal(got, tt.want) {
				t.Errorf("Parse error:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestConfigParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"syntax", "slack:\n  bot_token: [\n", []string{"inline.yaml:2: did not find expected node content"}},
		{"tab indentation", "slack:\n\tbot_token: x\n", []string{"inline.yaml:2: found character that cannot start any token"}},
		{"top level is a list", "- a\n- b\n", []string{"inline.yaml:1: cannot unmarshal !!seq into config.Config"}},
		{"section is a string", "slack: yes\n", []string{"inline.yaml:1: cannot unmarshal !!str `yes` into config.Slack"}},
		{"duplicate key", "listen: a:1\nlisten: b:2\n", []string{`inline.yaml:2: mapping key "listen" already defined at line 1`}},
		{"unknown key and type error", "slak: {}\nlisten: [1]\n", []string{
			`inline.yaml:1: unknown key "slak" at the top level (valid: alertmanager, api, correlation_budget, deploys, dry_run, dry_run_log, grafana, incident_page, jaeger, jira, jobs, limits, links, listen, pagerduty, prometheus, public_listen, public_url, reminders, reopen_window, rollback, rules, rules_file, slack, storage, storm, webhook)`,
			"inline.yaml:2: cannot unmarshal !!seq into string",
		}},
		{"wrong shape in a map of lists", "slack:\n  permissions:\n    resolve: {a: b}\n", []string{
			"inline.yaml:3: cannot unmarshal !!map into []string",
		}},
		{"anchor on an unknown key", "x: &base {listen: a}\n", []string{
			`inline.yaml:1: unknown key "x" at the top level (valid: alertmanager, api, correlation_budget, deploys, dry_run, dry_run_log, grafana, incident_page, jaeger, jira, jobs, limits, links, listen, pagerduty, prometheus, public_listen, public_url, reminders, reopen_window, rollback, rules, rules_file, slack, storage, storm, webhook)`,
		}},
		{"unknown key in an alias", "jaeger: &j {url: 'http://j', urll: 'x'}\nprometheus: *j\n", []string{
			`inline.yaml:1: unknown key "urll" in jaeger (valid: url)`,
			`inline.yaml:1: unknown key "urll" in prometheus (valid: allowed_queries, url)`,
		}},
		{"threshold map with unknown key", "rules:\n- name: a\n  match: '{}'\n  threshold: {over: 1}\n", []string{
			`inline.yaml:4: bad threshold: unknown key "over" (valid: above, below)`,
		}},
		{"rule errors point at the key", "rules:\n- name: a\n  match: '{}'\n  runbook: '{{.Annotation.runbook_url}}'\n  grafana:\n    dashboards:\n    - uid: x\n      vars: {s: '{{.Labels.s'}\n", []string{
			`inline.yaml:4: rules[0] (a): runbook: bad template: template: check:1:13: executing "check" at <.Annotation.runbook_url>: can't evaluate field Annotation in type rules.TemplateData`,
			`inline.yaml:8: rules[0] (a): grafana.dashboards[0].vars.s: bad template: template: check:1: unclosed action`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in), "inline.yaml")
			if got := errLines(err); !slices.Equal(got, tt.want) {
				t.Errorf("error:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}

	// A merge key brings valid keys from elsewhere.
	c, err := Parse([]byte("base: &b {url: 'https://j.example.com'}\n"), "merge.yaml")
	if err == nil {
		t.Errorf("unknown top-level anchor key accepted: %+v", c)
	}
	c, err = Parse([]byte("jaeger: {<<: {url: 'https://j.example.com'}}\n"), "merge.yaml")
	if err != nil || c.Jaeger.URL != "https://j.example.com" {
		t.Errorf("merge: %v, %+v", err, c)
	}
	if _, err := Parse([]byte("jaeger: {<<: {urll: 'https://j.example.com'}}\n"), "merge.yaml"); err == nil ||
		!strings.Contains(err.Error(), `unknown key "urll" in jaeger`) {
		t.Errorf("merge with unknown key: %v", err)
	}
}

func TestConfigDefault(t *testing.T) {
	t.Parallel()
	archive := Duration(24 * time.Hour)
	want := &Config{
		Listen:  "127.0.0.1:9095",
		Storage: Storage{Driver: "sqlite", DSN: "warroom.db", Timeout: Duration(5 * time.Second)},
		Webhook: Webhook{MaxBodyBytes: 4 << 20, MaxInFlightBytes: 64 << 20},
		Slack:   Slack{ChannelPrefix: "inc", ArchiveAfter: &archive, DryRun: true},
		Jira: Jira{Deployment: "cloud", DryRun: true, ResolveTransition: "Done", ReopenTransition: "Reopen",
			Priorities: map[string]string{"critical": "Highest", "major": "High", "minor": "Medium", "warning": "High", "info": "Medium"}},
		Deploys:           Deploys{Lookback: Duration(2 * time.Hour)},
		CorrelationBudget: Duration(3 * time.Second),
		ReopenWindow:      Duration(time.Hour),
		DryRunLog:         "warroom-dryrun.jsonl",
		Limits:            Limits{MaxNewWarRoomsPerDelivery: 10, MaxNewWarRoomsPerMinute: 20},
		PagerDuty:         PagerDuty{URL: "https://events.pagerduty.com"},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v\nwant %+v", got, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate(): %v", err)
	}

	c, problems, err := Load("")
	if err != nil || problems != nil || !reflect.DeepEqual(c, want) {
		t.Errorf(`Load("") = %+v, %v, %v`, c, problems, err)
	}

	for _, in := range []string{"", "# nothing\n", "{}\n"} {
		c, err := Parse([]byte(in), "empty.yaml")
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		c.src = configSource{}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("Parse(%q) = %+v\nwant %+v", in, c, want)
		}
	}

	set, err := Default().RuleSet()
	if err != nil {
		t.Fatal(err)
	}
	if rs := set.Rules(); len(rs) != 1 || rs[0].Name != rules.DefaultRuleName {
		t.Errorf("default rules = %+v", rs)
	}
}

func TestConfigDefaultsAndOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *Config)
	}{
		{"archive_after unset is 24h", "slack: {}\n", func(t *testing.T, c *Config) {
			if c.Slack.ArchiveAfter.Duration() != 24*time.Hour {
				t.Errorf("archive_after = %v", c.Slack.ArchiveAfter)
			}
		}},
		{"archive_after 0 is never", "slack: {archive_after: 0}\n", func(t *testing.T, c *Config) {
			if c.Slack.ArchiveAfter == nil || *c.Slack.ArchiveAfter != 0 {
				t.Errorf("archive_after = %v, want explicit 0", c.Slack.ArchiveAfter)
			}
		}},
		{"archive_after 0s is never", "slack: {archive_after: 0s}\n", func(t *testing.T, c *Config) {
			if c.Slack.ArchiveAfter == nil || *c.Slack.ArchiveAfter != 0 {
				t.Errorf("archive_after = %v, want explicit 0", c.Slack.ArchiveAfter)
			}
		}},
		{"durations", "correlation_budget: 1500ms\nreopen_window: 1h30m\ndeploys: {lookback: 45m}\nslack: {archive_after: 72h}\n", func(t *testing.T, c *Config) {
			got := []time.Duration{c.CorrelationBudget.Duration(), c.ReopenWindow.Duration(), c.Deploys.Lookback.Duration(), c.Slack.ArchiveAfter.Duration()}
			if want := []time.Duration{1500 * time.Millisecond, 90 * time.Minute, 45 * time.Minute, 72 * time.Hour}; !slices.Equal(got, want) {
				t.Errorf("durations = %v, want %v", got, want)
			}
		}},
		{"postgres has no default dsn", "storage: {driver: postgres, dsn: 'postgres://warroom@db:5432/warroom'}\n", func(t *testing.T, c *Config) {
			if c.Storage.DSN != "postgres://warroom@db:5432/warroom" {
				t.Errorf("dsn = %q", c.Storage.DSN)
			}
		}},
		{"a bot token turns slack dry-run off", "slack: {bot_token: xoxb-1}\n", func(t *testing.T, c *Config) {
			if c.Slack.DryRun || !c.Jira.DryRun {
				t.Errorf("slack dry_run %v, jira dry_run %v", c.Slack.DryRun, c.Jira.DryRun)
			}
		}},
		{"a bot token file too", "slack: {bot_token_file: /run/secrets/slack}\n", func(t *testing.T, c *Config) {
			if c.Slack.DryRun {
				t.Error("slack dry_run with a bot_token_file")
			}
		}},
		{"dry_run can be asked for", "slack: {bot_token: xoxb-1, dry_run: true}\njira: {url: 'https://j.example.com', project: OPS, issue_type: Incident, dry_run: true}\n", func(t *testing.T, c *Config) {
			if !c.Slack.DryRun || !c.Jira.DryRun {
				t.Error("dry_run: true ignored")
			}
		}},
		{"the top-level dry_run puts both in dry run", "dry_run: true\nslack: {bot_token: xoxb-1}\njira: {url: 'https://j.example.com', project: OPS, issue_type: Incident, deployment: datacenter, auth: {personal_access_token: pat}}\n", func(t *testing.T, c *Config) {
			if !c.SlackDryRun() || !c.JiraDryRun() || !c.Slack.DryRun || !c.Jira.DryRun {
				t.Errorf("dry_run: true: slack %v, jira %v", c.SlackDryRun(), c.JiraDryRun())
			}
		}},
		{"configured systems are not in dry run", "slack: {bot_token: xoxb-1}\njira: {url: 'https://j.example.com', project: OPS, issue_type: Incident, deployment: datacenter, auth: {personal_access_token: pat}}\n", func(t *testing.T, c *Config) {
			if c.SlackDryRun() || c.JiraDryRun() {
				t.Errorf("slack %v, jira %v in dry run", c.SlackDryRun(), c.JiraDryRun())
			}
		}},
		{"public_listen", "listen: 0.0.0.0:9095\npublic_listen: 0.0.0.0:9096\n", func(t *testing.T, c *Config) {
			if c.PublicListen != "0.0.0.0:9096" {
				t.Errorf("public_listen = %q", c.PublicListen)
			}
		}},
		{"a jira url turns jira dry-run off", "jira: {url: 'https://j.example.com', project: OPS, issue_type: Incident, deployment: datacenter, auth: {personal_access_token: pat}}\n", func(t *testing.T, c *Config) {
			if c.Jira.DryRun || c.Jira.Deployment != "datacenter" {
				t.Errorf("jira = %+v", c.Jira)
			}
		}},
		{"jira fields keep their shapes", "jira:\n  fields:\n    customfield_10010: 42\n    components: [{name: api}]\n", func(t *testing.T, c *Config) {
			want := map[string]any{"customfield_10010": 42, "components": []any{map[string]any{"name": "api"}}}
			if !reflect.DeepEqual(c.Jira.Fields, want) {
				t.Errorf("fields = %#v", c.Jira.Fields)
			}
		}},
		{"basic auth", "webhook: {basic_auth: {username: am, password: pw}, max_body_bytes: 1024}\n", func(t *testing.T, c *Config) {
			if b := c.Webhook.BasicAuth; b == nil || b.Username != "am" || b.Password != "pw" || c.Webhook.MaxBodyBytes != 1024 || !c.Webhook.Configured() {
				t.Errorf("webhook = %+v", c.Webhook)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.in), "t.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestConfigEnvExpansion(t *testing.T) {
	t.Parallel()
	in := `
slack:
  bot_token: "${BOT}"
  signing_secret: "pre-${A}-${B}-post"
  app_token: "xapp-$literal-${A"
  announce_channel: "${BOT}"
grafana:
  token: "${MISSING}"
jira:
  auth:
    email: "${BOT}"
    api_token: "${EMPTY}${A}"
webhook:
  bearer_token: plain-token
  basic_auth: {username: am, password: "${MISSING}"}
`
	c, err := Parse([]byte(in), "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	problems := c.ResolveSecrets(".", envMap(map[string]string{"BOT": "xoxb-1", "A": "a", "B": "b", "EMPTY": ""}))

	got := map[string]Secret{
		"bot_token": c.Slack.BotToken, "signing_secret": c.Slack.SigningSecret, "app_token": c.Slack.AppToken,
		"grafana": c.Grafana.Token, "api_token": c.Jira.Auth.APIToken, "bearer": c.Webhook.BearerToken,
		"password": c.Webhook.BasicAuth.Password,
	}
	want := map[string]Secret{
		"bot_token": "xoxb-1", "signing_secret": "pre-a-b-post", "app_token": "xapp-$literal-${A",
		"grafana": "", "api_token": "", "bearer": "plain-token", "password": "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secrets = %q\nwant %q", got, want)
	}
	// Only secrets are expanded.
	if c.Slack.AnnounceChannel != "${BOT}" || c.Jira.Auth.Email != "${BOT}" {
		t.Errorf("non-secret fields expanded: %q %q", c.Slack.AnnounceChannel, c.Jira.Auth.Email)
	}
	wantProblems := []Problem{
		{Key: "webhook.basic_auth.password", Env: "MISSING", Message: "environment variable MISSING is not set"},
		{Key: "jira.auth.api_token", Env: "EMPTY", Message: "environment variable EMPTY is empty"},
		{Key: "grafana.token", Env: "MISSING", Message: "environment variable MISSING is not set"},
	}
	slices.SortFunc(problems, func(a, b Problem) int { return strings.Compare(b.Key, a.Key) })
	if !reflect.DeepEqual(problems, wantProblems) {
		t.Errorf("problems = %#v\nwant %#v", problems, wantProblems)
	}
	if s := problems[0].String(); s != "webhook.basic_auth.password: environment variable MISSING is not set" {
		t.Errorf("String() = %q", s)
	}
	// An unresolved basic-auth password must not leave an open door.
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "webhook.basic_auth.password: required") {
		t.Errorf("Validate with an empty basic-auth password: %v", err)
	}
}

func TestConfigSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs := filepath.Join(dir, "abs-token")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "slack-token"), "  xoxb-from-file\n\n")
	write(abs, "glsa-from-file")
	write(filepath.Join(dir, "pw"), "hunter2\n")
	write(filepath.Join(dir, "rules.yaml"), "rules:\n- name: only\n  match: '{}'\n  decision: record\n")
	cfg := filepath.Join(dir, "warroom.yaml")
	write(cfg, fmt.Sprintf(`
slack:
  bot_token_file: slack-token
  signing_secret_file: missing-secret
grafana:
  token_file: %q
webhook:
  basic_auth: {username: am, password_file: pw}
rules_file: rules.yaml
`, abs))

	c, problems, err := loadConfig(cfg, envMap(nil), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.BotToken != "xoxb-from-file" || c.Grafana.Token != "glsa-from-file" || c.Webhook.BasicAuth.Password != "hunter2" {
		t.Errorf("secrets from files: %q %q %q", string(c.Slack.BotToken), string(c.Grafana.Token), string(c.Webhook.BasicAuth.Password))
	}
	missing := filepath.Join(dir, "missing-secret")
	if len(problems) != 1 || problems[0].Key != "slack.signing_secret_file" || problems[0].File != missing ||
		!strings.Contains(problems[0].Message, missing) {
		t.Errorf("problems = %v", problems)
	}
	// Having read the files, both twins are set: that is not an error.
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
	set, err := c.RuleSet()
	if err != nil || len(set.Rules()) != 1 || set.Rules()[0].Name != "only" {
		t.Errorf("rules_file relative to the config: %v", err)
	}

	write(cfg, "rules_file: nope.yaml\n")
	if _, _, err := loadConfig(cfg, envMap(nil), os.ReadFile); err == nil || !strings.Contains(err.Error(), "rules_file") {
		t.Errorf("missing rules_file: %v", err)
	}
	if _, _, err := loadConfig(filepath.Join(dir, "none.yaml"), envMap(nil), os.ReadFile); err == nil {
		t.Error("missing config file: no error")
	}
}

func TestConfigRulesFile(t *testing.T) {
	t.Parallel()
	c, problems, err := loadConfig("testdata/config/with-rules-file.yaml", envMap(nil), os.ReadFile)
	if err != nil || len(problems) > 0 {
		t.Fatalf("Load: %v %v", err, problems)
	}
	set, err := c.RuleSet()
	if err != nil {
		t.Fatal(err)
	}
	decisions := set.Evaluate([]incident.Alert{
		{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "HighErrorRate", "service": "s", "env": "prod"}, Annotations: map[string]string{"error_rate": "0.009"}},
		{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "HighErrorRate", "service": "s", "env": "prod"}, Annotations: map[string]string{"error_rate": "0.011"}},
		{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "Other"}},
	})
	var got []string
	for _, d := range decisions {
		got = append(got, string(d.Action)+" "+d.Rule+" "+d.Reason)
	}
	want := []string{
		"record api-error-rate 0.9% not above 1%",
		"war_room api-error-rate 1.1% above 1%",
		"record everything-else rule everything-else records",
	}
	if !slices.Equal(got, want) {
		t.Errorf("decisions = %q\nwant %q", got, want)
	}
	if c.RulesFile != "rules.yaml" {
		t.Errorf("rules_file = %q", c.RulesFile)
	}
}

func TestConfigValidateInCode(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Listen = "127.0.0.1:http"
	c.Storage.Driver = ""
	c.Slack.Permissions = map[string][]string{"resolve": {"@sre"}, "nuke": {"@sre"}}
	c.Jira.Auth = JiraAuth{APIToken: "t"}
	c.Rules = []rules.Rule{{Name: "x", Match: "{foo}"}, {Name: "x", Match: "{}"}}
	err := c.Validate()
	want := []string{
		`listen: "127.0.0.1:http": port "http" is not a number from 0 to 65535`,
		`storage.driver: unknown driver "" (valid: sqlite, postgres)`,
		`slack.permissions: unknown action "nuke" (valid: ack, assign, declare, deploys, followup, help, list, mitigate, note, reopen, resolve, rollback, severity, silence, status, timeline)`,
		`jira.auth.email: required with api_token on Jira Cloud`,
		`rules[0] (x): bad matcher "{foo}": 4:5: unexpected }: expected an operator such as '=', '!=', '=~' or '!~'`,
		`rules[1] (x): name "x" is also the name of rules[0]`,
	}
	if got := errLines(err); !slices.Equal(got, want) {
		t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var re *rules.Error
	if !errors.As(err, &re) || re.Index != 0 {
		t.Errorf("rule errors are not *rules.Error: %v", err)
	}

	for in, want := range map[string]string{
		"0.0.0.0":        `public_listen: "0.0.0.0" is not host:port: missing port in address`,
		"0.0.0.0:https":  `public_listen: "0.0.0.0:https": port "https" is not a number from 0 to 65535`,
		"127.0.0.1:9095": `public_listen: "127.0.0.1:9095" is listen's address too; give it its own port`,
	} {
		c = Default()
		c.PublicListen = in
		if err := c.Validate(); err == nil || err.Error() != want {
			t.Errorf("public_listen %q: %v; want %s", in, err, want)
		}
	}

	c = Default()
	c.Jira.Deployment = "cloud"
	c.Jira.Auth = JiraAuth{PersonalAccessTokenFile: "/run/pat"}
	if err := c.Validate(); err == nil || err.Error() != "jira.auth.personal_access_token: Jira Cloud takes email and api_token" {
		t.Errorf("PAT on cloud: %v", err)
	}
}

// secretConfig has every secret set to a value that must never be shown.
func secretConfig(t *testing.T) (*Config, []string) {
	t.Helper()
	in := `
storage: {driver: postgres, dsn: "postgres://warroom:pg-SECRET-1@db:5432/warroom?sslmode=disable"}
webhook:
  bearer_token: bearer-SECRET-2
  basic_auth: {username: am, password: basic-SECRET-3}
slack:
  bot_token: xoxb-SECRET-4
  signing_secret: signing-SECRET-5
  app_token: xapp-SECRET-6
jira:
  url: https://example.atlassian.net
  project: OPS
  issue_type: Incident
  deployment: datacenter
  auth: {personal_access_token: pat-SECRET-7}
grafana: {token: glsa-SECRET-8}
pagerduty: {routing_key: pdSECRET10xxxxxxxxxxxxxxxxxxxxxx}
`
	c, err := Parse([]byte(in), "secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Jira.Auth.APIToken = "api-SECRET-9" // both set: the error must not show either
	return c, []string{"SECRET"}
}

func TestSecretNeverShown(t *testing.T) {
	t.Parallel()
	c, secrets := secretConfig(t)

	var outputs []struct{ how, out string }
	add := func(how, out string) { outputs = append(outputs, struct{ how, out string }{how, out}) }
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x"} {
		add("fmt "+verb+" *Config", fmt.Sprintf(verb, c))
		add("fmt "+verb+" Config", fmt.Sprintf(verb, *c))
		add("fmt "+verb+" Slack", fmt.Sprintf(verb, c.Slack))
		add("fmt "+verb+" Storage", fmt.Sprintf(verb, c.Storage))
		add("fmt "+verb+" Secret", fmt.Sprintf(verb, c.Slack.BotToken))
		add("fmt "+verb+" BasicAuth", fmt.Sprintf(verb, *c.Webhook.BasicAuth))
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	add("json", string(js))
	ys, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	add("yaml", string(ys))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(h(&b))
		log.Info("config", "config", c, "token", c.Slack.BotToken, "slack", c.Slack, "storage", c.Storage)
		log.Info("group", slog.Group("jira", "auth", c.Jira.Auth))
		add("slog", b.String())
	}
	verr := c.Validate()
	if verr == nil {
		t.Fatal("Validate: want the both-set error")
	}
	add("Validate", verr.Error())

	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o.out, s) || strings.Contains(strings.ToLower(o.out), hex.EncodeToString([]byte(s))) {
				t.Errorf("%s shows a secret:\n%s", o.how, o.out)
			}
		}
	}
	// The redaction is visible, and the value is still there for the code.
	for _, o := range outputs[:2] {
		if !strings.Contains(o.out, "<secret>") {
			t.Errorf("%s does not show <secret>: %s", o.how, o.out)
		}
	}
	if !strings.Contains(string(js), `"bot_token":"\u003csecret\u003e"`) || !strings.Contains(string(ys), "bot_token: <secret>") {
		t.Errorf("marshalled secrets:\n%s\n%s", js, ys)
	}
	if string(c.Slack.BotToken) != "xoxb-SECRET-4" {
		t.Errorf("string(secret) = %q", string(c.Slack.BotToken))
	}

	// An empty secret shows as empty, so that "not configured" stays visible.
	var empty Secret
	if empty.String() != "" || fmt.Sprint(empty) != "" {
		t.Errorf("empty secret shows as %q", fmt.Sprint(empty))
	}
	if b, _ := json.Marshal(empty); string(b) != `""` {
		t.Errorf("empty secret json = %s", b)
	}
}

func TestSecretRefsCoverEverySecret(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Webhook.BasicAuth = &BasicAuth{}
	refs := make(map[*Secret]secretRef)
	for _, r := range c.secretRefs() {
		refs[r.value] = r
	}
	secretType := reflect.TypeFor[Secret]()
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Struct:
			typ := v.Type()
			names := make(map[string]bool)
			for i := range typ.NumField() {
				names[strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0]] = true
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				if !f.IsExported() {
					continue
				}
				name := strings.Split(f.Tag.Get("yaml"), ",")[0]
				if f.Type != secretType {
					walk(v.Field(i), keyPath(path, name))
					continue
				}
				key := keyPath(path, name)
				r, ok := refs[v.Field(i).Addr().Interface().(*Secret)]
				if !ok || r.key != key {
					t.Errorf("secret %s is not in secretRefs (or under another key %q)", key, r.key)
				}
				if !names[name+"_file"] {
					t.Errorf("secret %s has no %s_file twin", key, name)
				}
			}
		}
	}
	walk(reflect.ValueOf(c), "")
	if len(refs) != 13 {
		t.Errorf("secretRefs has %d entries, want 13", len(refs))
	}
}

func TestConfigRedactDSN(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"warroom.db", "warroom.db"},
		{"file:warroom.db?_pragma=busy_timeout(5000)", "file:warroom.db?_pragma=busy_timeout(5000)"},
		{"postgres://warroom@db:5432/warroom", "postgres://warroom@db:5432/warroom"},
		{"postgres://warroom:s3cret@db:5432/warroom", "postgres://warroom:xxxxx@db:5432/warroom"},
		{"host=db user=warroom password=s3cret dbname=warroom", "host=db user=warroom password=<secret> dbname=warroom"},
		{"host=db password = 'with space' dbname=w", "host=db password = <secret> dbname=w"},
	}
	for _, tt := range tests {
		if got := redactDSN(tt.in); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConfigDurationYAML(t *testing.T) {
	t.Parallel()
	var v struct {
		D Duration  `yaml:"d"`
		P *Duration `yaml:"p"`
	}
	if err := yaml.Unmarshal([]byte("d: 1h30m\np: 0\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.D.Duration() != 90*time.Minute || v.P == nil || *v.P != 0 {
		t.Errorf("decoded %v %v", v.D, v.P)
	}
	out, err := yaml.Marshal(v)
	if err != nil || string(out) != "d: 1h30m0s\np: 0s\n" {
		t.Errorf("yaml = %q, %v", out, err)
	}
	js, err := json.Marshal(v)
	if err != nil || string(js) != `{"D":"1h30m0s","P":"0s"}` {
		t.Errorf("json = %s, %v", js, err)
	}
	var back struct{ D, P Duration }
	if err := json.Unmarshal(js, &back); err != nil || back.D != v.D {
		t.Errorf("json round trip: %v %v", back, err)
	}
}

func TestConfigWebhookConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w    Webhook
		want bool
	}{
		{Webhook{}, false},
		{Webhook{BearerTokenFile: "/x"}, false}, // unresolved
		{Webhook{BearerToken: "t"}, true},
		{Webhook{BasicAuth: &BasicAuth{}}, false},
		{Webhook{BasicAuth: &BasicAuth{Username: "am", Password: "p"}}, true},
	}
	for i, tt := range tests {
		if got := tt.w.Configured(); got != tt.want {
			t.Errorf("%d: Configured() = %v, want %v", i, got, tt.want)
		}
	}
}

// The webhook bytes budget must hold at least the largest webhook.
func TestConfigInFlightBudget(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("webhook: {max_body_bytes: 2048, max_in_flight_bytes: 1024}\n"), "w.yaml")
	if err == nil || !strings.Contains(err.Error(), "webhook.max_in_flight_bytes: 1024 is less than max_body_bytes (2048)") {
		t.Fatalf("budget under the body cap: %v", err)
	}
	c, err := Parse([]byte("webhook: {max_body_bytes: 2048}\nstorage: {timeout: 2s}\n"), "w.yaml")
	if err != nil || c.Webhook.MaxInFlightBytes != 64<<20 || c.Storage.Timeout.Duration() != 2*time.Second {
		t.Fatalf("defaults beside set keys: %+v %v", c, err)
	}
}
