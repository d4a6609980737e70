package config

import (
	"github.com/warroom/warroom/rules"
)

// Grafana locates Grafana; the token is a service-account token.
type Grafana struct {
	URL       string `yaml:"url" json:"url"`
	Token     Secret `yaml:"token" json:"token"`
	TokenFile string `yaml:"token_file" json:"token_file"`
}

// Jaeger locates Jaeger's query service (UI and API).
type Jaeger struct {
	URL string `yaml:"url" json:"url"`
}

// Prometheus locates Prometheus.
type Prometheus struct {
	URL string `yaml:"url" json:"url"`
	// AllowedQueries are the alert expressions (an alert's generatorURL
	// g0.expr, its threshold comparison aside) that warroom may evaluate
	// for a rule without value.query. An alert chooses its generatorURL,
	// so no other expression from it is ever sent to Prometheus.
	AllowedQueries []string `yaml:"allowed_queries" json:"allowed_queries"`
}

// Alertmanager locates Alertmanager, for silences.
type Alertmanager struct {
	URL string `yaml:"url" json:"url"`
}

// Deploys tunes the suspect-deploy search.
type Deploys struct {
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

// Rollback signs the calls of rules' rollback webhooks.
type Rollback struct {
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

func (d *Deploys) validate(bad func(string, ...any)) {
	if d.Lookback < 0 {
		bad("deploys.lookback: %v is negative", d.Lookback)
	}
	if d.CompareURL != "" {
		if err := rules.CheckTemplate(d.CompareURL); err != nil {
			bad("deploys.compare_url: bad template: %v", err)
		}
	}
}
