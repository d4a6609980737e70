package rules

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
)

// fixtures is the shared folder of real webhook payloads.
const fixtures = "../internal/fixtures"

// loadAlerts decodes the parts of a webhook payload that rules look at.
func loadAlerts(t *testing.T, name string) []incident.Alert {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		Alerts []struct {
			Status      incident.AlertStatus `json:"status"`
			Fingerprint string               `json:"fingerprint"`
			Labels      map[string]string    `json:"labels"`
			Annotations map[string]string    `json:"annotations"`
			Values      map[string]float64   `json:"values"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(data, &payload); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := make([]incident.Alert, len(payload.Alerts))
	for i, a := range payload.Alerts {
		out[i] = incident.Alert{
			Fingerprint: a.Fingerprint, Status: a.Status, Labels: a.Labels,
			Annotations: a.Annotations, Values: a.Values,
		}
	}
	return out
}

// decodeRules decodes the top-level rules list of a YAML file strictly,
// ignoring the file's other keys.
func decodeRules(t *testing.T, path string) []Rule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := parseRules(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rs
}

func parseRules(data []byte) ([]Rule, error) {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	node := top["rules"]
	raw, err := yaml.Marshal(&node)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var rs []Rule
	if err := dec.Decode(&rs); err != nil {
		return nil, err
	}
	return rs, nil
}

func mustNew(t *testing.T, rs []Rule) *Set {
	t.Helper()
	s, err := New(rs)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// want is the expected decision; Value and Threshold compare within 1e-12.
type want struct {
	action    incident.Action
	rule      string
	key       string
	service   string
	env       string
	severity  incident.Severity
	value     *float64
	threshold *float64
	reason    string
	unit      incident.Unit // "": a ratio
}

func checkDecision(t *testing.T, i int, got incident.Decision, w want) {
	t.Helper()
	if got.Action != w.action || got.Rule != w.rule || got.Key != w.key || got.Service != w.service ||
		got.Env != w.env || got.Severity != w.severity || got.Reason != w.reason {
		t.Errorf("alert %d: got {%s rule=%q key=%q service=%q env=%q severity=%q reason=%q},\n"+
			"              want {%s rule=%q key=%q service=%q env=%q severity=%q reason=%q}",
			i, got.Action, got.Rule, got.Key, got.Service, got.Env, got.Severity, got.Reason,
			w.action, w.rule, w.key, w.service, w.env, w.severity, w.reason)
	}
	if !approx(got.Value, w.value) {
		t.Errorf("alert %d: value = %s, want %s", i, show(got.Value), show(w.value))
	}
	if !approx(got.Threshold, w.threshold) {
		t.Errorf("alert %d: threshold = %s, want %s", i, show(got.Threshold), show(w.threshold))
	}
	if wu := cmp.Or(w.unit, incident.UnitRatio); got.Unit != wu {
		t.Errorf("alert %d: unit = %q, want %q", i, got.Unit, wu)
	}
}

func approx(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-12
}

func show(p *float64) string {
	if p == nil {
		return "nil"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

func TestEvaluateFixtures(t *testing.T) {
	t.Parallel()
	example := decodeRules(t, "../examples/warroom.yaml")
	th := ptr(0.008)
	tests := []struct {
		name    string
		rules   []Rule // nil: the built-in default
		fixture string
		want    []want
	}{
		{
			name:    "default/high error rate opens a war room",
			fixture: "alertmanager/firing-high-error-rate.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "default", key: "default/env=prod,service=payment-gateway",
				service: "payment-gateway", env: "prod", severity: incident.Critical,
				value: ptr(0.03107142857142857), threshold: th, reason: "3.11% above 0.8%",
			}},
		},
		{
			name:    "default/below threshold records",
			fixture: "alertmanager/firing-below-threshold.json",
			want: []want{{
				action: incident.ActionRecord, rule: "default", key: "default/env=prod,service=checkout",
				service: "checkout", env: "prod", severity: incident.Warning,
				value: ptr(0.0018253968253968255), threshold: th, reason: "0.18% not above 0.8%",
			}},
		},
		{
			name:    "default/grafana values",
			fixture: "grafana/firing-error-rate.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "default", key: "default/env=prod,service=checkout",
				service: "checkout", env: "prod", severity: incident.Critical,
				value: ptr(0.0123), threshold: th, reason: "1.23% above 0.8%",
			}},
		},
		{
			name:    "default/three pods share one key",
			fixture: "alertmanager/firing-pod-error-rate-3-alerts.json",
			want: []want{
				{action: incident.ActionWarRoom, rule: "default", key: "default/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.033928571428571426), threshold: th, reason: "3.39% above 0.8%"},
				{action: incident.ActionWarRoom, rule: "default", key: "default/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.034999999999999996), threshold: th, reason: "3.5% above 0.8%"},
				{action: incident.ActionWarRoom, rule: "default", key: "default/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.024285714285714282), threshold: th, reason: "2.43% above 0.8%"},
			},
		},
		{
			name:    "default/resolved keeps the key and the value",
			fixture: "alertmanager/resolved-high-error-rate.json",
			want: []want{{
				action: incident.ActionResolve, rule: "default", key: "default/env=prod,service=payment-gateway",
				service: "payment-gateway", env: "prod", severity: incident.Critical,
				value: ptr(0.008566389518770468), threshold: th, reason: "resolved at 0.86%",
			}},
		},
		{
			name:    "example/high error rate",
			rules:   example,
			fixture: "alertmanager/firing-high-error-rate.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "api-error-rate", key: "api-error-rate/env=prod,service=payment-gateway",
				service: "payment-gateway", env: "prod", severity: incident.Critical,
				value: ptr(0.03107142857142857), threshold: th, reason: "3.11% above 0.8%",
			}},
		},
		{
			name:    "example/P99 latency",
			rules:   example,
			fixture: "written/alertmanager/firing-high-latency-p99.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "api-latency", key: "api-latency/env=prod,service=payment-gateway",
				service: "payment-gateway", env: "prod", severity: incident.Critical,
				value: ptr(1.8), threshold: ptr(0.5), reason: "P99 latency 1.8 s above 500 ms",
				unit: incident.UnitSeconds.Named("P99 latency"),
			}},
		},
		{
			name:    "example/auth-failure spike",
			rules:   example,
			fixture: "written/alertmanager/firing-auth-failure-spike.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "auth-failures", key: "auth-failures/env=prod,service=login",
				service: "login", env: "prod", severity: incident.Critical,
				value: ptr(63), threshold: ptr(50), reason: "63 auth failures in 10 min above 50",
				unit: incident.CountOf("auth failure").Over(10 * time.Minute),
			}},
		},
		{
			name:    "example/TLS handshake failures",
			rules:   example,
			fixture: "written/alertmanager/firing-tls-handshake-failures.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "tls-handshake-failures", key: "tls-handshake-failures/env=prod,service=api-gateway",
				service: "api-gateway", env: "prod", severity: incident.Critical,
				value: ptr(30), threshold: ptr(20), reason: "30 TLS handshake failures in 10 min above 20",
				unit: incident.CountOf("TLS handshake failure").Over(10 * time.Minute),
			}},
		},
		{
			name:    "example/repeat is decided the same",
			rules:   example,
			fixture: "alertmanager/repeat-high-error-rate.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "api-error-rate", key: "api-error-rate/env=prod,service=payment-gateway",
				service: "payment-gateway", env: "prod", severity: incident.Critical,
				value: ptr(0.03107142857142857), threshold: th, reason: "3.11% above 0.8%",
			}},
		},
		{
			name:    "example/ElevatedErrorRate below threshold records",
			rules:   example,
			fixture: "alertmanager/firing-below-threshold.json",
			want: []want{{
				// The rule's severity overrides the alert's warning label.
				action: incident.ActionRecord, rule: "api-error-rate", key: "api-error-rate/env=prod,service=checkout",
				service: "checkout", env: "prod", severity: incident.Critical,
				value: ptr(0.0018253968253968255), threshold: th, reason: "0.18% not above 0.8%",
			}},
		},
		{
			// The README's Grafana example opens a war room under the
			// reference config: its alert rule is named, and its value is
			// the query's refID A (B is its condition, 1).
			name:    "example/grafana alert opens a war room",
			rules:   example,
			fixture: "grafana/firing-error-rate.json",
			want: []want{{
				action: incident.ActionWarRoom, rule: "api-error-rate", key: "api-error-rate/env=prod,service=checkout",
				service: "checkout", env: "prod", severity: incident.Critical,
				value: ptr(0.0123), threshold: th, reason: "1.23% above 0.8%",
			}},
		},
		{
			name:    "example/resolved pods",
			rules:   example,
			fixture: "alertmanager/resolved-pod-error-rate.json",
			want: []want{
				{action: incident.ActionResolve, rule: "api-error-rate", key: "api-error-rate/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.009145880574452004), threshold: th, reason: "resolved at 0.91%"},
				{action: incident.ActionResolve, rule: "api-error-rate", key: "api-error-rate/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.008314436885865457), threshold: th, reason: "resolved at 0.83%"},
				{action: incident.ActionResolve, rule: "api-error-rate", key: "api-error-rate/env=prod,service=payment-gateway", service: "payment-gateway", env: "prod", severity: incident.Critical, value: ptr(0.008238851095993953), threshold: th, reason: "resolved at 0.82%"},
			},
		},
		{
			name:    "example/truncated delivery",
			rules:   example,
			fixture: "alertmanager/firing-truncated.json",
			want: []want{
				{action: incident.ActionWarRoom, rule: "api-error-rate", key: "api-error-rate/env=prod,service=search", service: "search", env: "prod", severity: incident.Critical, value: ptr(0.051071428571428566), threshold: th, reason: "5.11% above 0.8%"},
				{action: incident.ActionWarRoom, rule: "api-error-rate", key: "api-error-rate/env=prod,service=search", service: "search", env: "prod", severity: incident.Critical, value: ptr(0.04357142857142857), threshold: th, reason: "4.36% above 0.8%"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			alerts := loadAlerts(t, tt.fixture)
			got := mustNew(t, tt.rules).Evaluate(alerts)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d decisions for %d alerts, want %d", len(got), len(alerts), len(tt.want))
			}
			for i := range got {
				checkDecision(t, i, got[i], tt.want[i])
			}
		})
	}
}

func TestEvaluateRuleFields(t *testing.T) {
	t.Parallel()
	set := mustNew(t, decodeRules(t, "testdata/evaluate.yaml"))
	firing := func(ls, ann map[string]string) incident.Alert {
		return incident.Alert{Status: incident.AlertFiring, Labels: ls, Annotations: ann}
	}
	tests := []struct {
		name  string
		alert incident.Alert
		want  want
	}{
		{
			name:  "fixed ignore",
			alert: firing(map[string]string{"alertname": "Watchdog", "service": "x", "env": "prod"}, nil),
			want:  want{action: incident.ActionIgnore, rule: "ignored", key: "ignored/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, reason: "rule ignored ignores"},
		},
		{
			name: "fixed ignore wins over resolved",
			alert: incident.Alert{Status: incident.AlertResolved,
				Labels: map[string]string{"alertname": "Watchdog", "service": "x", "env": "prod"}},
			want: want{action: incident.ActionIgnore, rule: "ignored", key: "ignored/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, reason: "rule ignored ignores"},
		},
		{
			name:  "fixed war room with a value under the threshold and the rule's severity",
			alert: firing(map[string]string{"alertname": "Forced", "service": "x", "env": "prod", "severity": "info"}, map[string]string{"error_rate": "0.001"}),
			want:  want{action: incident.ActionWarRoom, rule: "forced", key: "forced/env=prod,service=x", service: "x", env: "prod", severity: incident.Critical, value: ptr(0.001), reason: "rule forced opens a war room"},
		},
		{
			name:  "below threshold, percent annotation, one-label key",
			alert: firing(map[string]string{"alertname": "Availability", "service": "x", "env": "prod"}, map[string]string{"availability": "99.1%"}),
			want:  want{action: incident.ActionWarRoom, rule: "availability", key: "availability/service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(0.991), threshold: ptr(0.995), reason: "99.1% below 99.5%"},
		},
		{
			name:  "not below threshold",
			alert: firing(map[string]string{"alertname": "Availability", "service": "x"}, map[string]string{"availability": " 0.999 "}),
			want:  want{action: incident.ActionRecord, rule: "availability", key: "availability/service=x", service: "x", severity: incident.Warning, value: ptr(0.999), threshold: ptr(0.995), reason: "99.9% not below 99.5%"},
		},
		{
			name:  "equal to the threshold is not beyond it",
			alert: firing(map[string]string{"alertname": "Availability", "service": "x"}, map[string]string{"availability": "0.995"}),
			want:  want{action: incident.ActionRecord, rule: "availability", key: "availability/service=x", service: "x", severity: incident.Warning, value: ptr(0.995), threshold: ptr(0.995), reason: "99.5% not below 99.5%"},
		},
		{
			name: "configured grafana refID",
			alert: incident.Alert{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "GrafanaRef", "service": "x", "env": "prod"},
				Values: map[string]float64{"A": 0.1, "B": 0.9}},
			want: want{action: incident.ActionWarRoom, rule: "grafana-ref", key: "grafana-ref/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(0.9), threshold: ptr(0.5), reason: "90% above 50%"},
		},
		{
			name: "configured grafana refID missing: unknown, no fallback to another refID",
			alert: incident.Alert{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "GrafanaRef", "service": "x", "env": "prod"},
				Values: map[string]float64{"A": 0.9}},
			want: want{action: incident.ActionRecord, rule: "grafana-ref", key: "grafana-ref/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, threshold: ptr(0.5), reason: "no value found"},
		},
		{
			name: "annotation is tried before grafana values",
			alert: incident.Alert{Status: incident.AlertFiring, Labels: map[string]string{"alertname": "GrafanaRef", "service": "x"},
				Annotations: map[string]string{"error_rate": "0.7"}, Values: map[string]float64{"B": 0.1}},
			want: want{action: incident.ActionWarRoom, rule: "grafana-ref", key: "grafana-ref/env=,service=x", service: "x", severity: incident.Warning, value: ptr(0.7), threshold: ptr(0.5), reason: "70% above 50%"},
		},
		{
			name:  "query only, when_unknown war_room",
			alert: firing(map[string]string{"alertname": "QueryWarRoom", "job": "api", "environment": "staging"}, map[string]string{"error_rate": "0.5"}),
			want:  want{action: incident.ActionWarRoom, rule: "query-only-war-room", key: "query-only-war-room/env=,service=", service: "api", env: "staging", severity: incident.Warning, threshold: ptr(0.008), reason: "no value found"},
		},
		{
			name:  "query only, when_unknown defaults to record",
			alert: firing(map[string]string{"alertname": "QueryRecord"}, nil),
			want:  want{action: incident.ActionRecord, rule: "query-only-record", key: "query-only-record/env=,service=", service: "unknown", severity: incident.Warning, threshold: ptr(0.008), reason: "no value found"},
		},
		{
			name:  "custom annotation in seconds, three-label key",
			alert: firing(map[string]string{"alertname": "Latency", "service": "x", "env": "prod", "region": "eu"}, map[string]string{"p99_seconds": "2.25"}),
			want:  want{action: incident.ActionWarRoom, rule: "latency", key: "latency/env=prod,region=eu,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(2.25), threshold: ptr(1.5), reason: "2.25 s above 1.5 s", unit: incident.UnitSeconds},
		},
		{
			name:  "a duration annotation in seconds",
			alert: firing(map[string]string{"alertname": "Latency", "service": "x", "env": "prod", "region": "eu"}, map[string]string{"p99_seconds": "750ms"}),
			want:  want{action: incident.ActionRecord, rule: "latency", key: "latency/env=prod,region=eu,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(0.75), threshold: ptr(1.5), reason: "750 ms not above 1.5 s", unit: incident.UnitSeconds},
		},
		{
			name:  "a percentage is not seconds",
			alert: firing(map[string]string{"alertname": "Latency", "service": "x", "env": "prod", "region": "eu"}, map[string]string{"p99_seconds": "75%"}),
			want:  want{action: incident.ActionRecord, rule: "latency", key: "latency/env=prod,region=eu,service=x", service: "x", env: "prod", severity: incident.Warning, threshold: ptr(1.5), reason: "no value found", unit: incident.UnitSeconds},
		},
		{
			name:  "a count of what it counts",
			alert: firing(map[string]string{"alertname": "FailedPayments", "service": "x", "env": "prod"}, map[string]string{"failures": "63"}),
			want:  want{action: incident.ActionWarRoom, rule: "failed-payments", key: "failed-payments/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(63), threshold: ptr(50), reason: "63 failures above 50", unit: incident.CountOf("failure")},
		},
		{
			name:  "negative matcher skips the rule",
			alert: firing(map[string]string{"alertname": "Latency", "service": "x", "env": "dev"}, map[string]string{"p99_seconds": "2.25"}),
			want:  want{action: incident.ActionIgnore, service: "x", env: "dev", severity: incident.Warning, reason: "no rule matches"},
		},
		{
			name:  "regex matcher, value annotation fallback",
			alert: firing(map[string]string{"alertname": "Other", "service": "x", "env": "production"}, map[string]string{"value": "0.0081"}),
			want:  want{action: incident.ActionWarRoom, rule: "catch-all-prod", key: "catch-all-prod/env=production,service=x", service: "x", env: "production", severity: incident.Warning, value: ptr(0.0081), threshold: ptr(0.008), reason: "0.81% above 0.8%"},
		},
		{
			name:  "error_rate is preferred to value",
			alert: firing(map[string]string{"alertname": "Other", "env": "prod"}, map[string]string{"error_rate": "0.001", "value": "0.5"}),
			want:  want{action: incident.ActionRecord, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=", service: "unknown", env: "prod", severity: incident.Warning, value: ptr(0.001), threshold: ptr(0.008), reason: "0.1% not above 0.8%"},
		},
		{
			name:  "NaN annotation is unknown, falls through to the next annotation",
			alert: firing(map[string]string{"alertname": "Other", "env": "prod"}, map[string]string{"error_rate": "NaN", "value": "+Inf"}),
			want:  want{action: incident.ActionRecord, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=", service: "unknown", env: "prod", severity: incident.Warning, threshold: ptr(0.008), reason: "no value found"},
		},
		{
			name:  "garbage annotation is unknown",
			alert: firing(map[string]string{"alertname": "Other", "env": "prod"}, map[string]string{"error_rate": "high"}),
			want:  want{action: incident.ActionRecord, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=", service: "unknown", env: "prod", severity: incident.Warning, threshold: ptr(0.008), reason: "no value found"},
		},
		{
			name: "grafana values: first finite refID in order",
			alert: incident.Alert{Status: incident.AlertFiring, Labels: map[string]string{"env": "prod", "service": "x"},
				Values: map[string]float64{"C": 0.5, "A": math.NaN(), "B": 0.001}},
			want: want{action: incident.ActionRecord, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(0.001), threshold: ptr(0.008), reason: "0.1% not above 0.8%"},
		},
		{
			name:  "just above the threshold shows more digits",
			alert: firing(map[string]string{"env": "prod", "service": "x"}, map[string]string{"error_rate": "0.00801"}),
			want:  want{action: incident.ActionWarRoom, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, value: ptr(0.00801), threshold: ptr(0.008), reason: "0.801% above 0.8%"},
		},
		{
			name:  "key values with separators are quoted",
			alert: firing(map[string]string{"env": "prod", "service": "a,env=prod"}, nil),
			want:  want{action: incident.ActionRecord, rule: "catch-all-prod", key: `catch-all-prod/env=prod,service="a,env=prod"`, service: "a,env=prod", env: "prod", severity: incident.Warning, threshold: ptr(0.008), reason: "no value found"},
		},
		{
			name:  "no rule matches, nil labels",
			alert: incident.Alert{Status: incident.AlertFiring},
			want:  want{action: incident.ActionIgnore, service: "unknown", severity: incident.Warning, reason: "no rule matches"},
		},
		{
			name:  "no rule matches a resolved alert either",
			alert: incident.Alert{Status: incident.AlertResolved, Labels: map[string]string{"env": "dev"}},
			want:  want{action: incident.ActionIgnore, service: "unknown", env: "dev", severity: incident.Warning, reason: "no rule matches"},
		},
		{
			name:  "resolved without a value",
			alert: incident.Alert{Status: incident.AlertResolved, Labels: map[string]string{"env": "prod", "service": "x"}},
			want:  want{action: incident.ActionResolve, rule: "catch-all-prod", key: "catch-all-prod/env=prod,service=x", service: "x", env: "prod", severity: incident.Warning, threshold: ptr(0.008), reason: "resolved"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := set.Evaluate([]incident.Alert{tt.alert})
			if len(got) != 1 {
				t.Fatalf("got %d decisions, want 1", len(got))
			}
			checkDecision(t, 0, got[0], tt.want)
		})
	}
}

func TestEvaluateOneDecisionPerAlertInOrder(t *testing.T) {
	t.Parallel()
	set := mustNew(t, []Rule{
		{Name: "first", Match: `{alertname="A"}`},
		{Name: "second", Match: `{alertname=~"A|B"}`, Decision: incident.ActionRecord},
	})
	alerts := []incident.Alert{
		{Labels: map[string]string{"alertname": "B"}},
		{Labels: map[string]string{"alertname": "A"}},
		{Labels: map[string]string{"alertname": "C"}},
		{Labels: map[string]string{"alertname": "A"}},
	}
	var rules []string
	for _, d := range set.Evaluate(alerts) {
		rules = append(rules, d.Rule)
	}
	if want := []string{"second", "first", "", "first"}; !reflect.DeepEqual(rules, want) {
		t.Errorf("rules = %q, want %q", rules, want)
	}
	if got := set.Evaluate(nil); len(got) != 0 {
		t.Errorf("Evaluate(nil) = %v, want none", got)
	}
	for _, a := range alerts {
		if a.Value != nil {
			t.Errorf("Evaluate changed its input: %v", a)
		}
	}
}

func TestRuleNewDefault(t *testing.T) {
	t.Parallel()
	for _, rs := range [][]Rule{nil, {}} {
		set := mustNew(t, rs)
		got := set.Rules()
		want := []Rule{{
			Name: "default", Match: "{}", Threshold: &Threshold{Value: 0.008},
			WhenUnknown: incident.ActionRecord, IncidentKey: []string{"service", "env"},
		}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Rules() = %+v, want %+v", got, want)
		}
		r, ok := set.Lookup("default")
		if !ok || !reflect.DeepEqual(*r, want[0]) {
			t.Errorf("Lookup(default) = %+v, %v", r, ok)
		}
		if _, ok := set.Lookup("nope"); ok {
			t.Error("Lookup(nope) found a rule")
		}
	}
}

func TestRulesAreCopies(t *testing.T) {
	t.Parallel()
	in := []Rule{{
		Name: "r", Match: "{}", IncidentKey: []string{"service"}, Threshold: &Threshold{Value: 0.5},
		Grafana: Grafana{Dashboards: []Dashboard{{UID: "d", Vars: map[string]string{"a": "b"}}}},
	}}
	set := mustNew(t, in)
	in[0].IncidentKey[0] = "changed"
	in[0].Threshold.Value = 9
	got := set.Rules()
	got[0].Grafana.Dashboards[0].Vars["a"] = "changed"
	got[0].Threshold.Value = 9
	r, _ := set.Lookup("r")
	if r.IncidentKey[0] != "service" || r.Threshold.Value != 0.5 || r.Grafana.Dashboards[0].Vars["a"] != "b" {
		t.Errorf("the set shares memory with its caller: %+v", r)
	}
	d := set.Evaluate([]incident.Alert{{Labels: map[string]string{"service": "s"}}})[0]
	if d.Key != "r/service=s" || *d.Threshold != 0.5 {
		t.Errorf("decision = %+v", d)
	}
}

func TestRuleYAMLAllFields(t *testing.T) {
	t.Parallel()
	got := decodeRules(t, "testdata/all-fields.yaml")
	want := []Rule{
		{
			Name:     "api-error-rate",
			Match:    `{alertname=~"HighErrorRate|PodErrorRate", env="prod"}`,
			Decision: incident.ActionWarRoom,
			Value: Value{
				Annotation: "error_rate", Grafana: "A",
				Query: `sum(rate(http_requests_total{service="{{.Labels.service}}",status=~"5.."}[5m]))`,
			},
			Threshold:       &Threshold{Value: 0.008, text: "0.8%"},
			WhenUnknown:     incident.ActionWarRoom,
			IncidentKey:     []string{"service", "env", "cluster"},
			Severity:        incident.Critical,
			Responders:      []string{"@payments-oncall", "U012AB3CD"},
			AnnounceChannel: "payments-alerts",
			Grafana: Grafana{
				Dashboards: []Dashboard{
					{UID: "api-golden-signals", Vars: map[string]string{"service": "{{.Labels.service}}", "env": "{{.Labels.env}}"}},
					{UID: "node-exporter"},
				},
				Tag: "payments",
			},
			Runbook:  "{{.Annotations.runbook_url}}",
			Links:    Links{Bridge: "{{.Annotations.bridge_url}}"},
			Rollback: Rollback{Command: "argocd app rollback {{.Service}} {{.TargetRevision}}", WebhookURL: "https://deployer.example.com/hooks/rollback"},
			Jira:     Jira{Project: "PAY", IssueType: "Bug", Priority: "Highest"},
		},
		{Name: "availability", Match: `{alertname="Availability"}`, Threshold: &Threshold{Value: 0.995, Below: true, text: "99.5%"}},
		{Name: "plain-string", Match: "{}", Threshold: &Threshold{Value: 0.008, text: "0.008"}},
		{Name: "plain-number", Match: "{}", Threshold: &Threshold{Value: 0.02, text: "0.02"}},
		{Name: "latency", Match: "{}", Value: Value{Unit: "seconds", Name: "P99 latency"}, Threshold: &Threshold{Value: 0.5, text: "500ms"}},
		{Name: "failures", Match: "{}", Value: Value{Unit: "count", Noun: "failure", Window: "10m"}, Threshold: &Threshold{Value: 50, text: "50"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	if _, err := New(got); err != nil {
		t.Errorf("New: %v", err)
	}

	// What Marshal writes, Unmarshal reads back.
	out, err := yaml.Marshal(map[string]any{"rules": got})
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseRules(out)
	if err != nil {
		t.Fatalf("decode marshalled rules: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("round trip\n%+v\nwant\n%+v", again, want)
	}
}

func TestRuleYAMLStrict(t *testing.T) {
	t.Parallel()
	_, err := parseRules([]byte("rules:\n  - name: x\n    match: '{}'\n    treshold: 0.1\n"))
	if err == nil || !strings.Contains(err.Error(), "treshold") {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestRuleThresholdYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Threshold
		wantErr string
	}{
		{in: "0.008", want: Threshold{Value: 0.008}},
		{in: `"0.8%"`, want: Threshold{Value: 0.008}},
		{in: `"0.008"`, want: Threshold{Value: 0.008}},
		{in: "0.8%", want: Threshold{Value: 0.008}},
		{in: `" 1.5 % "`, want: Threshold{Value: 0.015}},
		{in: "2", want: Threshold{Value: 2}},
		{in: "0", want: Threshold{Value: 0}},
		{in: `{above: "0.8%"}`, want: Threshold{Value: 0.008}},
		{in: `{above: 0.01}`, want: Threshold{Value: 0.01}},
		{in: `{below: 0.5}`, want: Threshold{Value: 0.5, Below: true}},
		{in: `{below: "99.9%"}`, want: Threshold{Value: 0.999, Below: true}},
		{in: `500ms`, want: Threshold{Value: 0.5}},
		{in: `{below: "1m30s"}`, want: Threshold{Value: 90, Below: true}},
		{in: `"high"`, wantErr: `line 1: bad threshold: "high" is not a number (want a number, a percentage like "0.8%" or a duration like "500ms")`},
		{in: `"%"`, wantErr: `line 1: bad threshold: "%" is not a number`},
		{in: `.nan`, wantErr: `line 1: bad threshold: ".nan" is not a number`},
		{in: `"NaN"`, wantErr: "not a finite number"},
		{in: `"+Inf"`, wantErr: "not a finite number"},
		{in: `{above: 1, below: 2}`, wantErr: "want exactly one of above or below"},
		{in: `{}`, wantErr: "want exactly one of above or below"},
		{in: `{over: 1}`, wantErr: `unknown key "over" (valid: above, below)`},
		{in: `{below: [1]}`, wantErr: "below wants a number"},
		{in: `{below: "x"}`, wantErr: `below: "x" is not a number`},
		{in: `[0.1]`, wantErr: "want a number, a percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var got struct {
				T *Threshold `yaml:"t"`
			}
			err := yaml.Unmarshal([]byte("t: "+tt.in), &got)
			if tt.wantErr != "" {
				var te *yaml.TypeError
				if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a *yaml.TypeError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.T == nil || got.T.Value != tt.want.Value || got.T.Below != tt.want.Below {
				t.Errorf("got %+v, want %+v", got.T, tt.want)
			}
		})
	}
}

func TestRuleThresholdString(t *testing.T) {
	t.Parallel()
	for th, want := range map[Threshold]string{
		{Value: 0.008}:              "above 0.8%",
		{Value: 0.995, Below: true}: "below 99.5%",
	} {
		if got := th.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", th, got, want)
		}
	}
	b, err := json.Marshal(Threshold{Value: 0.5, Below: true})
	if err != nil || string(b) != `{"below":0.5}` {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestRuleParseValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{in: "0.031", want: 0.031},
		{in: "3.1%", want: 0.031},
		{in: "0.8%", want: 0.008},
		{in: " 0.8 % ", want: 0.008},
		{in: "-1%", want: -0.01},
		{in: ".5%", want: 0.005},
		{in: "1e-3", want: 0.001},
		{in: "1e-1%", want: 0.001},
		{in: "0.03107142857142857", want: 0.03107142857142857},
		{in: "", wantErr: true},
		{in: "%", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "Inf", wantErr: true},
		{in: "-Inf%", wantErr: true},
		{in: "1e999", wantErr: true},
		{in: "3.1%%", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseValue(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("ParseValue(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	// Percentages are exact: "0.8%" is the same float as 0.008.
	if v, _ := ParseValue("0.8%"); v != 0.008 {
		t.Errorf(`ParseValue("0.8%%") = %v, want exactly 0.008`, v)
	}
}

func TestRuleNewErrors(t *testing.T) {
	t.Parallel()
	ok := Rule{Name: "ok", Match: "{}"}
	tests := []struct {
		name  string
		rules []Rule
		want  []string // one substring per expected error, in order
	}{
		{"empty name", []Rule{{Match: "{}"}}, []string{"rules[0]: name is empty"}},
		{"slash in name", []Rule{{Name: "a/b", Match: "{}"}}, []string{`rules[0] (a/b): name "a/b" contains "/"`}},
		{"duplicate names", []Rule{ok, {Name: "x", Match: "{}"}, ok}, []string{`rules[2] (ok): name "ok" is also the name of rules[0]`}},
		{"empty match", []Rule{{Name: "m", Match: " "}}, []string{"rules[0] (m): match is empty"}},
		{"bad matcher", []Rule{ok, {Name: "m", Match: `{alertname=~"(" }`}}, []string{`rules[1] (m): bad matcher "{alertname=~\"(\" }"`}},
		{"bad matcher syntax", []Rule{{Name: "m", Match: `{alertname}`}}, []string{`rules[0] (m): bad matcher "{alertname}": 10:11: unexpected }: expected an operator`}},
		{"unclosed matcher", []Rule{{Name: "m", Match: `{alertname="HighErrorRate"`}}, []string{`rules[0] (m): bad matcher "{alertname=\"HighErrorRate\"": 0:26: end of input: expected close brace`}},
		{"unknown unit", []Rule{{Name: "u", Match: "{}", Value: Value{Unit: "percent"}}}, []string{`rules[0] (u): value.unit: unknown unit "percent" (valid: ratio, seconds, count)`}},
		{"noun without count", []Rule{{Name: "u", Match: "{}", Value: Value{Noun: "failure"}}}, []string{`rules[0] (u): value.noun: only a count has a noun (set value.unit: count)`}},
		{"window without count", []Rule{{Name: "u", Match: "{}", Value: Value{Unit: "seconds", Window: "10m"}}}, []string{`rules[0] (u): value.window: only a count has a window (set value.unit: count)`}},
		{"bad window", []Rule{{Name: "u", Match: "{}", Value: Value{Unit: "count", Window: "ten minutes"}}}, []string{`rules[0] (u): value.window: "ten minutes" is not a duration such as "10m"`}},
		{"zero window", []Rule{{Name: "u", Match: "{}", Value: Value{Unit: "count", Window: "0s"}}}, []string{`rules[0] (u): value.window: "0s" is not a positive duration`}},
		{"name with a separator", []Rule{{Name: "u", Match: "{}", Value: Value{Name: "P99;latency"}}}, []string{`rules[0] (u): value.name: "P99;latency" is not a few short words`}},
		{"noun with a separator", []Rule{{Name: "u", Match: "{}", Value: Value{Unit: "count", Noun: "a;b"}}}, []string{`rules[0] (u): value.noun: "a;b" is not a short word`}},
		{"negative threshold", []Rule{{Name: "t", Match: "{}", Threshold: &Threshold{Value: -1}}}, []string{"rules[0] (t): bad threshold: -1 is negative"}},
		{"unknown decision", []Rule{{Name: "d", Match: "{}", Decision: "resolve"}}, []string{`rules[0] (d): unknown decision "resolve" (valid: war_room, record, ignore)`}},
		{"unknown when_unknown", []Rule{{Name: "w", Match: "{}", WhenUnknown: "ignore"}}, []string{`rules[0] (w): unknown when_unknown "ignore" (valid: war_room, record)`}},
		{"bad threshold", []Rule{{Name: "t", Match: "{}", Threshold: &Threshold{Value: math.NaN()}}}, []string{"rules[0] (t): bad threshold: NaN is not a finite number"}},
		{"infinite threshold", []Rule{{Name: "t", Match: "{}", Threshold: &Threshold{Value: math.Inf(1)}}}, []string{"rules[0] (t): bad threshold: +Inf is not a finite number"}},
		{"bad incident_key", []Rule{{Name: "k", Match: "{}", IncidentKey: []string{"service", "bad-label"}}}, []string{`rules[0] (k): incident_key: "bad-label" is not a label name`}},
		{"bad annotation name", []Rule{{Name: "a", Match: "{}", Value: Value{Annotation: "error rate"}}}, []string{`rules[0] (a): value.annotation: "error rate" is not an annotation name`}},
		{"bad runbook", []Rule{{Name: "r", Match: "{}", Runbook: "{{.Annotations.runbook_url"}}, []string{"rules[0] (r): runbook: bad template:"}},
		{"misspelt field", []Rule{{Name: "r", Match: "{}", Runbook: "{{.Annotation.runbook_url}}"}}, []string{`rules[0] (r): runbook: bad template:`}},
		{"bad rollback", []Rule{{Name: "r", Match: "{}", Rollback: Rollback{Command: "{{if}}"}}}, []string{"rules[0] (r): rollback.command: bad template:"}},
		{"bad bridge", []Rule{{Name: "b", Match: "{}", Links: Links{Bridge: "https://{{.Labels.zoom_host"}}}, []string{"rules[0] (b): links.bridge: bad template:"}},
		{"bridge not http", []Rule{{Name: "b", Match: "{}", Links: Links{Bridge: "zoommtg://zoom.us/join?confno=5550100"}}},
			[]string{`rules[0] (b): links.bridge: "zoommtg://zoom.us/join?confno=5550100" is not an http(s) URL (a bridge is a link, such as Zoom's or Meet's https URL)`}},
		{"bridge without a host", []Rule{{Name: "b", Match: "{}", Links: Links{Bridge: "meet.google.com/abc-defg-hij"}}},
			[]string{`rules[0] (b): links.bridge: "meet.google.com/abc-defg-hij" is not an http(s) URL (a bridge is a link, such as Zoom's or Meet's https URL)`}},
		{"bad rollback webhook", []Rule{{Name: "r", Match: "{}", Rollback: Rollback{WebhookURL: "deployer/hook"}}}, []string{`rules[0] (r): rollback.webhook_url: "deployer/hook" is not an http(s) URL`}},
		{"bad query", []Rule{{Name: "q", Match: "{}", Value: Value{Query: "{{.Labels.service"}}}, []string{"rules[0] (q): value.query: bad template:"}},
		{"bad vars and empty uid", []Rule{{Name: "g", Match: "{}", Grafana: Grafana{Dashboards: []Dashboard{
			{UID: "a", Vars: map[string]string{"z": "{{.Nope}}", "env": "{{.Labels.env}"}},
			{},
		}}}}, []string{
			"rules[0] (g): grafana.dashboards[1]: uid is empty",
			"rules[0] (g): grafana.dashboards[0].vars.env: bad template:",
			"rules[0] (g): grafana.dashboards[0].vars.z: bad template:",
		}},
		{"every problem at once", []Rule{
			{Name: "", Match: "{x}"},
			{Name: "b", Match: "{}", Decision: "page", WhenUnknown: "maybe"},
			{Name: "b", Match: "{}"},
		}, []string{
			"rules[0]: name is empty",
			"rules[0]: bad matcher",
			"rules[1] (b): unknown decision",
			"rules[1] (b): unknown when_unknown",
			"rules[2] (b): name \"b\" is also the name of rules[1]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := New(tt.rules)
			if err == nil {
				t.Fatalf("New succeeded: %+v", set.Rules())
			}
			if set != nil {
				t.Error("New returned a Set with its error")
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("err is not joined: %T %v", err, err)
			}
			errs := joined.Unwrap()
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, e := range errs {
				var re *Error
				if !errors.As(e, &re) {
					t.Errorf("error %d is %T, want *Error", i, e)
				} else if re.Field == "" {
					t.Errorf("error %d names no field: %v", i, e)
				}
				if !strings.Contains(e.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e, tt.want[i])
				}
			}
		})
	}
}

func TestRuleTemplates(t *testing.T) {
	t.Parallel()
	data := TemplateData{
		Labels:      map[string]string{"service": "payment-gateway", "env": "prod"},
		Annotations: map[string]string{"runbook_url": "https://runbooks.example.com/x"},
		Service:     "payment-gateway", Revision: "abc123", TargetRevision: "def456",
	}
	tests := []struct{ text, want string }{
		{"argocd app rollback {{.Service}} {{.TargetRevision}}", "argocd app rollback payment-gateway def456"},
		{"{{.Annotations.runbook_url}}", "https://runbooks.example.com/x"},
		{`sum(rate(x{service="{{.Labels.service}}"}[5m]))`, `sum(rate(x{service="payment-gateway"}[5m]))`},
		{"[{{.Labels.missing}}]", "[]"},
		{"https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}", "https://github.com/example/payment-gateway/compare/def456...abc123"},
	}
	for _, tt := range tests {
		if err := CheckTemplate(tt.text); err != nil {
			t.Errorf("CheckTemplate(%q): %v", tt.text, err)
		}
		got, err := Render(tt.text, data)
		if err != nil || got != tt.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tt.text, got, err, tt.want)
		}
	}
	for _, bad := range []string{"{{.Service", "{{.Lables.service}}", "{{nofunc}}"} {
		if err := CheckTemplate(bad); err == nil {
			t.Errorf("CheckTemplate(%q) succeeded", bad)
		}
		if _, err := Render(bad, data); err == nil {
			t.Errorf("Render(%q) succeeded", bad)
		}
	}
}

// A threshold is read in the unit of its rule's value: a bare ratio above
// 0.1 is almost surely a percentage without its "%".
func TestRuleThresholdUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value, threshold string
		want             float64
		wantErr          string
	}{
		{value: "{}", threshold: `"80%"`, want: 0.8},
		{value: "{}", threshold: `0.1`, want: 0.1},
		{value: "{unit: ratio}", threshold: `"0.8%"`, want: 0.008},
		{value: "{}", threshold: `0.8`, wantErr: `bad threshold: 0.8 is a ratio of 80%: did you mean "0.8%"? (a rule meaning 80% writes "80%")`},
		{value: "{}", threshold: `8`, wantErr: `bad threshold: 8 is a ratio of 800%: did you mean "8%"?`},
		{value: "{}", threshold: `{below: 0.995}`, wantErr: `did you mean "0.995%"? (a rule meaning 99.5% writes "99.5%")`},
		{value: "{}", threshold: `-1`, wantErr: `bad threshold: -1 is negative`},
		{value: "{}", threshold: `"-0.5%"`, wantErr: `bad threshold: -0.5% is negative`},
		{value: "{}", threshold: `500ms`, wantErr: `bad threshold: 500ms is a duration, but value.unit is ratio (set value.unit: seconds)`},
		{value: "{unit: seconds}", threshold: `500ms`, want: 0.5},
		{value: "{unit: seconds}", threshold: `1.5`, want: 1.5},
		{value: "{unit: seconds}", threshold: `{above: 2m}`, want: 120},
		{value: "{unit: seconds}", threshold: `"-1s"`, wantErr: `bad threshold: -1s is negative`},
		{value: "{unit: seconds}", threshold: `"50%"`, wantErr: `bad threshold: 50% is a percentage, but value.unit is seconds`},
		{value: "{unit: count}", threshold: `63`, want: 63},
		{value: "{unit: count}", threshold: `"5%"`, wantErr: `bad threshold: 5% is not a number, but value.unit is count`},
		{value: "{unit: count}", threshold: `-3`, wantErr: `bad threshold: -3 is negative`},
	} {
		name := tc.value + " " + tc.threshold
		rs, err := parseRules([]byte("rules:\n  - name: r\n    match: '{}'\n    value: " + tc.value + "\n    threshold: " + tc.threshold + "\n"))
		if err != nil {
			t.Errorf("%s: decode: %v", name, err)
			continue
		}
		set, err := New(rs)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := set.Rules()[0].Threshold.Value; got != tc.want {
			t.Errorf("%s: threshold %v, want %v", name, got, tc.want)
		}
	}
}
