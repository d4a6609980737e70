package rules

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/warroom/warroom/incident"
)

// Error is the problem of one rule; New joins one per problem.
type Error struct {
	// Index is the rule's position in the list, from 0.
	Index int
	Name  string
	// Field is the path of the offending key in the rule, e.g. "match"
	// or "grafana.dashboards[0].vars.service", for finding its line.
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("rules[%d]: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("rules[%d] (%s): %v", e.Index, e.Name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Set is a validated, compiled rule list. It implements incident.Evaluator
// and is safe for concurrent use.
type Set struct {
	rules []compiled
}

var _ incident.Evaluator = (*Set)(nil)

type compiled struct {
	rule     Rule // with defaults filled in
	matchers labels.Matchers
}

// labelName is the syntax of Prometheus label names.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New validates rules and compiles them into a Set. It reports every problem
// at once, joined with errors.Join, each an *Error naming the rule. With no
// rules, the Set holds the built-in Default rule.
func New(rules []Rule) (*Set, error) {
	if len(rules) == 0 {
		rules = []Rule{Default()}
	}
	s := &Set{rules: make([]compiled, 0, len(rules))}
	var errs []error
	seen := make(map[string]int, len(rules))
	for i, r := range rules {
		bad := func(field, format string, args ...any) {
			errs = append(errs, &Error{Index: i, Name: r.Name, Field: field, Err: fmt.Errorf(format, args...)})
		}
		switch prev, dup := seen[r.Name]; {
		case r.Name == "":
			bad("name", "name is empty")
		case strings.Contains(r.Name, "/"):
			// The name starts the incident key, which "/" ends.
			bad("name", "name %q contains \"/\"", r.Name)
		case dup:
			bad("name", "name %q is also the name of rules[%d]", r.Name, prev)
		default:
			seen[r.Name] = i
		}

		c := compiled{rule: r.withDefaults()}
		// Alertmanager's own parser (the one amtool and its routes use
		// since v0.27), which refuses what the classic one let through,
		// such as an unclosed "{".
		ms, err := parse.Matchers(r.Match)
		switch {
		case strings.TrimSpace(r.Match) == "":
			bad("match", `match is empty (write '{}' to match every alert)`)
		case err != nil:
			// The parser's message may quote the matcher raw, newlines
			// and all: the error is one line, the matcher quoted once.
			bad("match", "bad matcher %q: %s", r.Match, strings.Join(strings.Fields(err.Error()), " "))
		default:
			c.matchers = ms
		}

		checkFields(r, bad)
		s.rules = append(s.rules, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// checkFields reports, through bad, the problems of r's fields other than
// its name and matcher.
func checkFields(r Rule, bad func(field, format string, args ...any)) {
	switch r.Decision {
	case "", incident.ActionWarRoom, incident.ActionRecord, incident.ActionIgnore:
	default:
		bad("decision", "unknown decision %q (valid: war_room, record, ignore)", r.Decision)
	}
	switch r.WhenUnknown {
	case "", incident.ActionWarRoom, incident.ActionRecord:
	default:
		bad("when_unknown", "unknown when_unknown %q (valid: war_room, record)", r.WhenUnknown)
	}
	unit := r.Value.unit()
	switch {
	case unit == "":
		bad("value.unit", "value.unit: unknown unit %q (valid: ratio, seconds, count)", r.Value.Unit)
	case r.Value.Noun != "" && unit.Kind() != incident.UnitCount:
		bad("value.noun", "value.noun: only a count has a noun (set value.unit: count)")
	case !shortWords(r.Value.Noun):
		bad("value.noun", "value.noun: %q is not a short word", r.Value.Noun)
	}
	if !shortWords(r.Value.Name) {
		bad("value.name", "value.name: %q is not a few short words", r.Value.Name)
	}
	if _, err := r.Value.window(); err != nil {
		bad("value.window", "value.window: %v", err)
	} else if r.Value.Window != "" && unit != "" && unit.Kind() != incident.UnitCount {
		bad("value.window", "value.window: only a count has a window (set value.unit: count)")
	}
	if r.Threshold != nil && unit != "" {
		if err := r.Threshold.validate(unit); err != nil {
			bad("threshold", "bad threshold: %v", err)
		}
	}
	for _, l := range r.IncidentKey {
		if !labelName.MatchString(l) {
			bad("incident_key", "incident_key: %q is not a label name", l)
		}
	}
	if r.Value.Annotation != "" && !labelName.MatchString(r.Value.Annotation) {
		bad("value.annotation", "value.annotation: %q is not an annotation name", r.Value.Annotation)
	}

	if u := r.Rollback.WebhookURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("rollback.webhook_url", "rollback.webhook_url: %q is not an http(s) URL", u)
		}
	}

	if b := r.Links.Bridge; b != "" && !strings.Contains(b, "{{") {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("links.bridge", "links.bridge: %q is not an http(s) URL (a bridge is a link, such as Zoom's or Meet's https URL)", b)
		}
	}

	templates := []struct{ field, text string }{
		{"runbook", r.Runbook},
		{"links.bridge", r.Links.Bridge},
		{"rollback.command", r.Rollback.Command},
		{"value.query", r.Value.Query},
	}
	for j, d := range r.Grafana.Dashboards {
		if d.UID == "" {
			bad(fmt.Sprintf("grafana.dashboards[%d].uid", j), "grafana.dashboards[%d]: uid is empty", j)
		}
		for _, k := range sortedKeys(d.Vars) {
			templates = append(templates, struct{ field, text string }{
				fmt.Sprintf("grafana.dashboards[%d].vars.%s", j, k), d.Vars[k],
			})
		}
	}
	for _, t := range templates {
		if err := CheckTemplate(t.text); err != nil {
			bad(t.field, "%s: bad template: %v", t.field, err)
		}
	}
	if q := r.Value.Query; q != "" && CheckTemplate(q) == nil {
		if err := CheckQueryTemplate(q); err != nil {
			bad("value.query", "value.query: %v", err)
		}
	}
}

// shortWords reports whether s can show in every value of a rule: short,
// without control characters, and without ";", which ends a part of the
// stored unit (incident.Unit).
func shortWords(s string) bool {
	return len(s) <= maxNounLen && !strings.ContainsFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f || c == ';' })
}

// Rules returns the rules of the set in order, with defaults filled in.
func (s *Set) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.rule.withDefaults()
	}
	return out
}

// Lookup returns the rule named name, with defaults filled in.
func (s *Set) Lookup(name string) (*Rule, bool) {
	for _, c := range s.rules {
		if c.rule.Name == name {
			r := c.rule.withDefaults()
			return &r, true
		}
	}
	return nil, false
}

// Evaluate decides each alert with the first rule that matches it; it
// returns exactly one decision per alert, in order.
func (s *Set) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i := range alerts {
		out[i] = s.decide(&alerts[i])
	}
	return out
}

func (s *Set) decide(a *incident.Alert) incident.Decision {
	for i := range s.rules {
		if c := &s.rules[i]; c.matches(a.Labels) {
			return c.decide(a)
		}
	}
	return incident.Decision{
		Action:   incident.ActionIgnore,
		Service:  service(a.Labels),
		Env:      env(a.Labels),
		Severity: severity("", a.Labels),
		Value:    extract(Value{}, a),
		Unit:     incident.UnitRatio,
		Reason:   "no rule matches",
	}
}

// matches applies the matchers as Alertmanager does: a missing label has
// the value "".
func (c *compiled) matches(ls map[string]string) bool {
	for _, m := range c.matchers {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

func (c *compiled) decide(a *incident.Alert) incident.Decision {
	r := &c.rule
	d := incident.Decision{
		Rule:     r.Name,
		Key:      key(r.Name, r.IncidentKey, a.Labels),
		Service:  service(a.Labels),
		Env:      env(a.Labels),
		Severity: severity(r.Severity, a.Labels),
		Value:    extract(r.Value, a),
		Below:    r.Threshold.Below,
		Unit:     r.Value.unit(),
		Page:     r.Page,
	}
	if r.Decision == "" {
		th := r.Threshold.Value
		d.Threshold = &th
	}

	switch {
	case r.Decision == incident.ActionIgnore:
		// An ignored alert never made an incident, so neither does its
		// resolution.
		d.Action, d.Reason = r.Decision, "rule "+r.Name+" ignores"
	case a.Status == incident.AlertResolved:
		d.Action, d.Reason = incident.ActionResolve, "resolved"
		if d.Value != nil {
			d.Reason += " at " + d.Unit.Format(*d.Value)
		}
	case r.Decision == incident.ActionRecord:
		d.Action, d.Reason = r.Decision, "rule "+r.Name+" records"
	case r.Decision == incident.ActionWarRoom:
		d.Action, d.Reason = r.Decision, "rule "+r.Name+" opens a war room"
	case d.Value == nil:
		d.Action, d.Reason = r.WhenUnknown, "no value found"
	default:
		t := *r.Threshold
		v, th := formatPair(d.Unit, *d.Value, t.Value)
		if t.Exceeded(*d.Value) {
			d.Action, d.Reason = incident.ActionWarRoom, v+" "+t.direction()+" "+th
		} else {
			d.Action, d.Reason = incident.ActionRecord, v+" not "+t.direction()+" "+th
		}
	}
	return d
}

// formatPair renders a value as a headline reads it and its threshold in
// their unit ("63 auth failures in 10 min", "50"), with more digits where
// the usual ones would make them look equal.
func formatPair(unit incident.Unit, v, th float64) (string, string) {
	if unit.Format(v) == unit.Format(th) && v != th {
		return unit.MeasurePrecise(v), unit.Limit(th)
	}
	return unit.Measure(v), unit.Limit(th)
}

// extract finds the alert's number: the annotation, then Grafana's values.
// A query cannot run here (no I/O), so a value only it could give is
// unknown (nil).
func extract(src Value, a *incident.Alert) *float64 {
	names := defaultAnnotations()
	if src.Annotation != "" {
		names = []string{src.Annotation}
	}
	for _, n := range names {
		if s, ok := a.Annotations[n]; ok {
			if v, err := ParseValueIn(src.unit(), s); err == nil {
				return &v
			}
		}
	}
	if src.Grafana != "" {
		if v, ok := a.Values[src.Grafana]; ok && finite(v) {
			return &v
		}
		return nil
	}
	for _, ref := range sortedKeys(a.Values) {
		if v := a.Values[ref]; finite(v) {
			return &v
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// key renders the incident key: the rule name, "/", and the sorted
// label=value pairs of the key labels joined by ",". A value that could be
// mistaken for the separators is quoted, so that two different label sets
// never share a key.
func key(rule string, names []string, ls map[string]string) string {
	names = slices.Clone(names)
	sort.Strings(names)
	names = slices.Compact(names)
	var b strings.Builder
	b.WriteString(rule)
	b.WriteByte('/')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		v := ls[n]
		if strings.ContainsAny(v, `,="\`) || strconv.Quote(v) != `"`+v+`"` {
			v = strconv.Quote(v)
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

func service(ls map[string]string) string {
	if s := ls["service"]; s != "" {
		return s
	}
	if s := ls["job"]; s != "" {
		return s
	}
	return "unknown"
}

func env(ls map[string]string) string {
	if e := ls["env"]; e != "" {
		return e
	}
	return ls["environment"]
}

func severity(rule incident.Severity, ls map[string]string) incident.Severity {
	if rule != "" {
		return rule
	}
	if s := ls["severity"]; s != "" {
		return incident.Severity(s)
	}
	return DefaultSeverity
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// CatchesAll reports whether some rule matches every alert: one whose
// matchers are none ('{}') or only of the form label=~".*". Without one,
// an alert no rule matches is ignored.
func (s *Set) CatchesAll() bool {
	for _, c := range s.rules {
		all := true
		for _, m := range c.matchers {
			if m.Type != labels.MatchRegexp || m.Value != ".*" {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
