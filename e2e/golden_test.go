package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goldenRules are the golden-signal alerts of
// deploy/prometheus/golden-signals.yml with windows of seconds instead of
// minutes and no `for`, so that the test runs in seconds.
const goldenRules = `groups:
  - name: golden-signals-e2e
    rules:
      - alert: HighErrorRate
        expr: |
          sum by (service, env) (rate(http_requests_total{status=~"5.."}[10s]))
            / sum by (service, env) (rate(http_requests_total[10s]))
            > 0.008
        labels:
          severity: critical
        annotations:
          error_rate: "{{ $value }}"
          runbook_url: https://runbooks.example.com/high-error-rate
      - alert: HighLatencyP99
        expr: |
          histogram_quantile(0.99,
            sum by (service, env, le) (rate(http_request_duration_seconds_bucket[10s])))
            > 0.5
        labels:
          severity: critical
        annotations:
          latency_p99: '{{ printf "%.3f" $value }}'
          runbook_url: https://runbooks.example.com/high-latency
      - alert: AuthFailureSpike
        expr: sum by (service, env) (increase(auth_failures_total[20s])) > 50
        labels:
          severity: critical
        annotations:
          auth_failures: '{{ printf "%.0f" $value }}'
          runbook_url: https://runbooks.example.com/auth-failure-spike
      - alert: TLSHandshakeFailures
        expr: sum by (service, env) (increase(tls_handshake_failures_total[20s])) > 20
        labels:
          severity: critical
        annotations:
          tls_handshake_failures: '{{ printf "%.0f" $value }}'
          runbook_url: https://runbooks.example.com/tls-handshake-failures
`

// goldenWarroomRules are the golden-signal rules of examples/warroom.yaml
// with the windows of goldenRules.
const goldenWarroomRules = `links:
  allowed_hosts: [runbooks.example.com]
rules:
  - name: api-error-rate
    match: '{alertname="HighErrorRate"}'
    value: {annotation: error_rate, unit: ratio}
    threshold: "0.8%"
    runbook: "{{.Annotations.runbook_url}}"
  - name: api-latency
    match: '{alertname="HighLatencyP99"}'
    value: {annotation: latency_p99, unit: seconds, name: P99 latency}
    threshold: "500ms"
    runbook: "{{.Annotations.runbook_url}}"
  - name: auth-failures
    match: '{alertname="AuthFailureSpike"}'
    value: {annotation: auth_failures, unit: count, noun: auth failure, window: 20s}
    threshold: 50
    runbook: "{{.Annotations.runbook_url}}"
  - name: tls-handshake-failures
    match: '{alertname="TLSHandshakeFailures"}'
    value: {annotation: tls_handshake_failures, unit: count, noun: TLS handshake failure, window: 20s}
    threshold: 20
    runbook: "{{.Annotations.runbook_url}}"
  - name: everything-else
    match: '{}'
    decision: record
`

// TestPrometheusGoldenSignalsEndToEnd runs the real alerting pipeline for
// every golden signal of the runbook: the service's errors, its latency
// histogram, its auth-failure and TLS-failure counters cross their lines,
// Prometheus fires one alert for each, and warroom opens one war room for
// each, its ticket and topic worded in the signal's unit ("P99 latency
// 1.81 s vs 500 ms", "51 auth failures in 20 s vs 50"). When the service
// heals, every one of them resolves.
func TestPrometheusGoldenSignalsEndToEnd(t *testing.T) {
	dir := t.TempDir()

	// 100 requests/s: 3% fail, 5% are slow (a P99 of 1.8 s), 5% meet a
	// refused login (5 a second: over 50 in 20 s after about 10 s), 4% a
	// failed TLS handshake (over 20 in 20 s after about 5 s).
	svc := newFakeService(3)
	svc.setTrouble(trouble{errors: 3, slow: 5, auth: 5, tls: 4})
	ctx, cancel := context.WithCancel(context.Background())
	go svc.run(ctx, 10*time.Millisecond)
	t.Cleanup(cancel)
	metrics := httptest.NewServer(svc)
	t.Cleanup(metrics.Close)

	w := newWarroom(t, dir)
	w.addConfig(goldenWarroomRules)
	w.start()
	pl := startPipeline(t, dir, w, strings.TrimPrefix(metrics.URL, "http://"), goldenRules)

	// The signals and how each war room's ticket and topic read.
	signals := []struct {
		rule           string
		value          func(float64) bool
		summary, topic *regexp.Regexp
	}{
		{
			"api-error-rate", func(v float64) bool { return v > 0.008 && v < 0.1 },
			regexp.MustCompile(`^\[INC-\d+\] payment-gateway error rate \d+(\.\d+)?% vs 0\.8% \(prod\)$`),
			regexp.MustCompile(`\| \d+(\.\d+)?% vs 0\.8% threshold$`),
		},
		{
			"api-latency", func(v float64) bool { return v > 1 && v <= 2 },
			regexp.MustCompile(`^\[INC-\d+\] payment-gateway P99 latency 1(\.\d+)? s vs 500 ms \(prod\)$`),
			regexp.MustCompile(`\| P99 latency 1(\.\d+)? s vs 500 ms threshold$`),
		},
		{
			"auth-failures", func(v float64) bool { return v > 50 && v == float64(int(v)) },
			regexp.MustCompile(`^\[INC-\d+\] payment-gateway \d+ auth failures in 20 s vs 50 \(prod\)$`),
			regexp.MustCompile(`\| \d+ auth failures in 20 s vs 50 threshold$`),
		},
		{
			"tls-handshake-failures", func(v float64) bool { return v > 20 && v == float64(int(v)) },
			regexp.MustCompile(`^\[INC-\d+\] payment-gateway \d+ TLS handshake failures in 20 s vs 20 \(prod\)$`),
			regexp.MustCompile(`\| \d+ TLS handshake failures in 20 s vs 20 threshold$`),
		},
	}

	start := time.Now()
	byRule := map[string]apiIncident{}
	waitFor(t, 90*time.Second, "a war room for each golden signal", func() (bool, string) {
		all, err := w.incidents(true)
		if err != nil {
			return false, err.Error() + "; " + pl.status()
		}
		clear(byRule)
		for _, inc := range all {
			if inc.WarRoom {
				byRule[inc.Rule] = inc
			}
		}
		return len(byRule) == len(signals), "warroom incidents: " + summarize(all) + "; " + pl.status()
	}, pl.procs...)
	t.Logf("%d war rooms opened %s after the pipeline started", len(byRule), time.Since(start).Round(time.Millisecond))

	all, err := w.incidents(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(signals) {
		t.Errorf("want exactly one incident per signal, have %s", summarize(all))
	}
	for _, sig := range signals {
		inc, ok := byRule[sig.rule]
		if !ok {
			t.Errorf("no war room for %s: %s", sig.rule, summarize(all))
			continue
		}
		if inc.Service != "payment-gateway" || inc.Env != "prod" || inc.State != "triggered" {
			t.Errorf("%s: %s, want payment-gateway in prod, triggered", sig.rule, inc)
		}
		if inc.Value == nil || !sig.value(*inc.Value) {
			t.Errorf("%s: %s: the value is not the signal's", sig.rule, inc)
		}
	}

	// The ticket's summary and the channel's topic are worded in the
	// signal's unit (the dry run logs them as it would send them).
	summaries, topics := map[string]string{}, map[string]string{}
	waitFor(t, 30*time.Second, "the tickets and topics of every war room in the dry-run log", func() (bool, string) {
		lines, _, err := readDryRunLog(w.dryRunLog)
		if err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, sig := range signals {
			id := byRule[sig.rule].ID
			summaries[sig.rule] = dryRunArg(lines, "jira.create_issue:"+id, "summary")
			topics[sig.rule] = dryRunArg(lines, "slack.set_topic:"+id, "topic")
			if summaries[sig.rule] == "" || topics[sig.rule] == "" {
				missing = append(missing, sig.rule)
			}
		}
		return len(missing) == 0, fmt.Sprintf("not yet for %v among %d lines", missing, len(lines))
	}, w.proc)
	for _, sig := range signals {
		if !sig.summary.MatchString(summaries[sig.rule]) {
			t.Errorf("%s: ticket summary %q, want it to match %s", sig.rule, summaries[sig.rule], sig.summary)
		}
		if !sig.topic.MatchString(topics[sig.rule]) {
			t.Errorf("%s: topic %q, want it to match %s", sig.rule, topics[sig.rule], sig.topic)
		}
		t.Logf("%s: %s; topic %q", sig.rule, summaries[sig.rule], topics[sig.rule])
	}
	if t.Failed() {
		return
	}

	// The service heals: every alert resolves, and so does every incident.
	svc.setTrouble(trouble{})
	healed := time.Now()
	waitFor(t, 90*time.Second, "every war room to be resolved", func() (bool, string) {
		all, err := w.incidents(true)
		if err != nil {
			return false, err.Error() + "; " + pl.status()
		}
		for _, inc := range all {
			if inc.State != "resolved" {
				return false, "warroom incidents: " + summarize(all) + "; " + pl.status()
			}
		}
		return len(all) == len(signals), "warroom incidents: " + summarize(all)
	}, pl.procs...)
	t.Logf("every war room resolved %s after the service healed", time.Since(healed).Round(time.Millisecond))
	if failed := amMetric(pl.amAddr, "alertmanager_notifications_failed_total"); failed != 0 {
		t.Errorf("alertmanager counts %v failed webhook notifications (see its log)", failed)
	}
}

// dryRunArg returns the string field of the first call of the step key in
// the dry-run log: at the top of its arguments, or in their "fields" (a
// Jira issue's); "" when there is none.
func dryRunArg(lines []dryRunLine, key, field string) string {
	for _, l := range lines {
		if l.err != nil || l.entry.Key != key {
			continue
		}
		var args struct {
			Fields map[string]json.RawMessage `json:"fields"`
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(l.entry.Args, &top) != nil || json.Unmarshal(l.entry.Args, &args) != nil {
			continue
		}
		raw, ok := top[field]
		if !ok {
			raw, ok = args.Fields[field]
		}
		var s string
		if ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return ""
}
