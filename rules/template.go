package rules

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// TemplateData is what the templates of a rule (runbook, rollback.command,
// value.query, Grafana dashboard vars) and deploys.compare_url can use, e.g.
// "{{.Labels.service}}", "{{.Annotations.runbook_url}}",
// "argocd app rollback {{.Service}} {{.TargetRevision}}". A label or
// annotation that is missing renders empty.
type TemplateData struct {
	Labels      map[string]string
	Annotations map[string]string
	Service     string
	Env         string
	Rule        string
	Severity    string
	// IncidentID is the incident's ID, e.g. "INC-7"; empty before it opens.
	IncidentID string
	StartsAt   time.Time
	// Revision is the suspect deploy's revision (Git SHA or version) and
	// TargetRevision the one before it, the rollback target. Both are
	// empty until correlation found the deploys.
	Revision       string
	TargetRevision string
	// Namespace is the alert's namespace label, for kubectl templates.
	Namespace string
}

// parseTemplate compiles text the way Render runs it.
func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(text)
}

// CheckTemplate reports whether text is a template Render can run: it must
// parse, and running it on an empty TemplateData must not fail, which
// catches misspelt fields such as {{.Lables.service}}.
func CheckTemplate(text string) error {
	t, err := parseTemplate("check", text)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := t.Execute(&b, TemplateData{}); err != nil {
		return err
	}
	return nil
}

// Render runs the template text on data.
func Render(text string, data TemplateData) (string, error) {
	t, err := parseTemplate("render", text)
	if err != nil {
		return "", fmt.Errorf("parse template %q: %w", text, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("run template %q: %w", text, err)
	}
	return b.String(), nil
}
