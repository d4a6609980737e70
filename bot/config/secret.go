package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

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
	refs = append(refs, secretRef{"pagerduty.routing_key", &c.PagerDuty.RoutingKey, &c.PagerDuty.RoutingKeyFile})
	if g := c.Deploys.Git; g != nil {
		refs = append(refs, secretRef{"deploys.git.token", &g.Token, &g.TokenFile})
	}
	refs = append(refs,
		secretRef{"api.bearer_token", &c.API.BearerToken, &c.API.BearerTokenFile},
		secretRef{"deploys.bearer_token", &c.Deploys.BearerToken, &c.Deploys.BearerTokenFile})
	refs = append(refs, secretRef{"incident_page.signing_key", &c.IncidentPage.SigningKey, &c.IncidentPage.SigningKeyFile})
	return refs
}

var secretEnvRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ResolveSecrets fills every secret from its _file twin (a path relative
// to dir, content trimmed) or expands the ${VAR} references in its value
// with lookupEnv. A secret that cannot be resolved is left empty and
// reported as a Problem naming the variable or the file, never a value.
// Load calls it; call it yourself only on a Config from Parse.
func (c *Config) ResolveSecrets(dir string, lookupEnv func(string) (string, bool)) []Problem {
	return c.resolveSecrets(dir, lookupEnv, os.ReadFile)
}

// resolveSecrets is ResolveSecrets with the files read through readFile.
func (c *Config) resolveSecrets(dir string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) []Problem {
	var problems []Problem
	for _, s := range c.secretRefs() {
		if *s.file != "" {
			path := *s.file
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			data, err := readFile(path)
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
