// Package rules decides what warroom does with an alert: the rule schema of
// the configuration (README, How it decides), its validation, Alertmanager matchers,
// value extraction and thresholds. A Set evaluates alerts into
// incident.Decisions; it is pure and does no I/O.
package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// Rule is one entry of the rule list. The first rule whose matcher matches
// an alert decides what happens to it. The zero values of optional fields
// take the defaults documented on each field; Set.Rules returns the rules
// with those defaults filled in.
type Rule struct {
	// Name identifies the rule; it is the first part of incident keys, so
	// renaming a rule starts new incidents.
	Name string `yaml:"name" json:"name"`
	// Match is an Alertmanager matcher list, e.g.
	// `{alertname=~"HighErrorRate|PodErrorRate", env="prod"}`; `{}` matches
	// every alert.
	Match string `yaml:"match" json:"match"`
	// Decision, when set, is the fixed action of the rule (war_room, record
	// or ignore) regardless of the value; the threshold is then unused.
	Decision incident.Action `yaml:"decision,omitempty" json:"decision,omitempty"`
	// Value says where the number the threshold applies to comes from.
	Value Value `yaml:"value,omitempty" json:"value,omitzero"`
	// Threshold is the limit beyond which the rule opens a war room.
	// Nil means above DefaultThreshold (0.8%).
	Threshold *Threshold `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// WhenUnknown is the action when no value is found: war_room or
	// record (the default).
	WhenUnknown incident.Action `yaml:"when_unknown,omitempty" json:"when_unknown,omitempty"`
	// IncidentKey lists the labels whose values, with the rule name, key the
	// incident: alerts with the same key share one war room. Default
	// [service, env].
	IncidentKey []string `yaml:"incident_key,omitempty" json:"incident_key,omitempty"`
	// Severity of the incident; default the alert's severity label, else
	// "warning".
	Severity incident.Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Responders are invited to the war room in addition to slack.responders:
	// user IDs (U…), user-group handles (@…) or emails.
	Responders []string `yaml:"responders,omitempty" json:"responders,omitempty"`
	// AnnounceChannel overrides slack.announce_channel for this rule.
	AnnounceChannel string `yaml:"announce_channel,omitempty" json:"announce_channel,omitempty"`
	// Grafana names the dashboards linked from the war room.
	Grafana Grafana `yaml:"grafana,omitempty" json:"grafana,omitzero"`
	// Runbook is a template (see TemplateData) for the runbook URL, e.g.
	// "{{.Annotations.runbook_url}}".
	Runbook string `yaml:"runbook,omitempty" json:"runbook,omitempty"`
	// Links are more links of the rule's war rooms: the meeting bridge.
	Links Links `yaml:"links,omitempty" json:"links,omitzero"`
	// Rollback is how to roll the suspect deploy back.
	Rollback Rollback `yaml:"rollback,omitempty" json:"rollback,omitzero"`
	// Jira overrides the jira section for incidents of this rule.
	Jira Jira `yaml:"jira,omitempty" json:"jira,omitzero"`
	// Page pages through PagerDuty (pagerduty.routing_key) when the
	// rule's war room opens.
	Page bool `yaml:"page,omitempty" json:"page,omitempty"`
}

// Value says where an alert's number comes from. The sources are tried in
// order: the annotation, Grafana's values, then the query.
type Value struct {
	// Annotation names the annotation holding the number ("0.031" or
	// "3.1%"). Empty means the error_rate annotation, else the value
	// annotation.
	Annotation string `yaml:"annotation,omitempty" json:"annotation,omitempty"`
	// Grafana is the refID of Grafana's values to use; empty means the
	// lexicographically first refID with a finite value.
	Grafana string `yaml:"grafana,omitempty" json:"grafana,omitempty"`
	// Query is a PromQL template (see TemplateData) evaluated at the
	// alert's start. Evaluate does no I/O and so never runs it: an alert
	// whose value only the query could give is "unknown" here and decided
	// by when_unknown; the correlation stage evaluates the query later and
	// shows its result.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	// Unit is what the number measures, and how it and the threshold
	// read: ratio (the default; 0.031 or "3.1%" shows as 3.1%), seconds
	// (0.75 or "750ms" shows as 750 ms) or count (63).
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Noun is what a count counts, singular, e.g. "failure": 63 shows as
	// "63 failures" ("person/people" names an irregular plural).
	Noun string `yaml:"noun,omitempty" json:"noun,omitempty"`
	// Name is what the value measures, shown before it in the headline:
	// "P99 latency" reads "P99 latency 1.8 s vs 500 ms". Empty: "error
	// rate" for a ratio, nothing for the other units.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Window is the window a count is counted over, as a duration ("10m"):
	// 63 then reads "63 auth failures in 10 min". Only for a count.
	Window string `yaml:"window,omitempty" json:"window,omitempty"`
}

// maxNounLen bounds a count's noun and a value's name, which every value
// of the rule shows.
const maxNounLen = 40

// unit is the incident.Unit of the value, with its name and window; "" for
// a unit that New refuses.
func (v Value) unit() incident.Unit {
	var u incident.Unit
	switch k := incident.Unit(v.Unit); k {
	case "", incident.UnitRatio, incident.UnitSeconds:
		u = k.Kind()
	case incident.UnitCount:
		u = incident.CountOf(v.Noun)
	default:
		return ""
	}
	w, _ := v.window()
	return u.Named(v.Name).Over(w)
}

// window is the parsed Window, 0 when unset.
func (v Value) window() (time.Duration, error) {
	if v.Window == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v.Window))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"10m\"", v.Window)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", v.Window)
	}
	return d, nil
}

// defaultAnnotations are the annotations tried, in order, when a rule names
// none.
func defaultAnnotations() []string { return []string{"error_rate", "value"} }

// Grafana names a rule's dashboards.
type Grafana struct {
	// Dashboards are linked with their variables set from templates.
	Dashboards []Dashboard `yaml:"dashboards,omitempty" json:"dashboards,omitempty"`
	// Tag finds more dashboards through Grafana's search.
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
}

// Dashboard is a Grafana dashboard and the values of its variables.
type Dashboard struct {
	UID string `yaml:"uid" json:"uid"`
	// Vars maps variable names (without "var-") to templates (see
	// TemplateData), e.g. {service: "{{.Labels.service}}"}.
	Vars map[string]string `yaml:"vars,omitempty" json:"vars,omitempty"`
}

// Links are links a rule's war rooms show beside the runbook.
type Links struct {
	// Bridge is a template (see TemplateData) for the URL of the
	// incident's meeting bridge, a Zoom or Meet link, e.g.
	// "https://example.zoom.us/j/5550100" or "{{.Annotations.bridge_url}}":
	// a bookmark in the war room, a line of the summary and a link in the
	// ticket, each only to an allowed host (links.allowed_hosts), as
	// every link; a URL rendered to another host, or that is not http(s),
	// is shown as not linked, with why. A template without actions must
	// be an http(s) URL.
	Bridge string `yaml:"bridge,omitempty" json:"bridge,omitempty"`
}

// Rollback is how to undo the suspect deploy.
type Rollback struct {
	// Command is a template (see TemplateData) shown in the war room and
	// the ticket, e.g. "argocd app rollback {{.Service}} {{.TargetRevision}}".
	Command string `yaml:"command,omitempty" json:"command,omitempty"`
	// WebhookURL, when set, is called by the Roll back button.
	WebhookURL string `yaml:"webhook_url,omitempty" json:"webhook_url,omitempty"`
}

// Jira overrides the jira section of the configuration for one rule.
type Jira struct {
	Project   string `yaml:"project,omitempty" json:"project,omitempty"`
	IssueType string `yaml:"issue_type,omitempty" json:"issue_type,omitempty"`
	Priority  string `yaml:"priority,omitempty" json:"priority,omitempty"`
}

// Defaults of a rule's optional fields.
const (
	// DefaultThreshold is 0.8%: an error rate above it opens a war room.
	DefaultThreshold = 0.008
	// DefaultWhenUnknown is what a rule does when it finds no value.
	DefaultWhenUnknown = incident.ActionRecord
	// DefaultSeverity applies when neither the rule nor the alert says.
	DefaultSeverity = incident.Warning
	// DefaultRuleName names the built-in rule used when none is configured.
	DefaultRuleName = "default"
)

// DefaultIncidentKey returns the incident_key of rules that name none.
func DefaultIncidentKey() []string { return []string{"service", "env"} }

// Default returns the built-in rule (README, How it decides), used when the
// configuration has no rules: any alert; value from the error_rate
// annotation, else the value annotation, else Grafana's values; war room
// above 0.8%; record below it or when no value is found.
func Default() Rule {
	return Rule{Name: DefaultRuleName, Match: "{}"}
}

// withDefaults returns a copy of r with every defaulted field filled in and
// every slice and map copied, so that callers cannot change the Set.
func (r Rule) withDefaults() Rule {
	if r.Threshold == nil {
		r.Threshold = &Threshold{Value: DefaultThreshold}
	} else {
		t := *r.Threshold
		r.Threshold = &t
	}
	if r.WhenUnknown == "" {
		r.WhenUnknown = DefaultWhenUnknown
	}
	if len(r.IncidentKey) == 0 {
		r.IncidentKey = DefaultIncidentKey()
	} else {
		r.IncidentKey = slices.Clone(r.IncidentKey)
	}
	r.Responders = slices.Clone(r.Responders)
	if r.Grafana.Dashboards != nil {
		ds := make([]Dashboard, len(r.Grafana.Dashboards))
		for i, d := range r.Grafana.Dashboards {
			ds[i] = Dashboard{UID: d.UID, Vars: maps.Clone(d.Vars)}
		}
		r.Grafana.Dashboards = ds
	}
	return r
}
