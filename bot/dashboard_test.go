package bot_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// The dashboard and the rules shipped in deploy/ read only metrics that
// /metrics really exports, scraped from a warroom that has opened a war
// room (through one 429 from Slack) and seen it acknowledged and
// resolved, and every query parses as PromQL.
func TestDashboardAndRulesNameExportedMetrics(t *testing.T) {
	t.Parallel()
	slack, jira := slacktest.New(), jiratest.New()
	t.Cleanup(slack.Close)
	t.Cleanup(jira.Close)
	slack.FailNext("conversations.create", slacktest.Fault{Status: 429, RetryAfter: time.Second})
	h := startReal(t, slack, jira, bot.Deps{})
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.roomReady("INC-1")
	// Acknowledged and resolved: the times to acknowledge and to resolve
	// have a series.
	for _, action := range []string{"ack", "resolve"} {
		if code := h.act("INC-1", action); code != http.StatusOK {
			t.Fatalf("%s INC-1: HTTP %d", action, code)
		}
	}
	h.settle()
	exported := exportedNames(t, h.get("/metrics").body)

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err := os.ReadFile("../deploy/grafana/warroom-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			checkQuery(t, "panel "+p.Title, grafanaVars(tg.Expr), exported)
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),`)
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil && !exported[m[1]] {
			t.Errorf("variable %s reads %s, which /metrics does not export", v.Name, m[1])
		}
	}

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err = os.ReadFile("../deploy/prometheus/warroom-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("rules: %v", err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			checkQuery(t, "alert "+r.Alert, r.Expr, exported)
		}
	}
	if n == 0 {
		t.Error("no rule in warroom-rules.yml")
	}
}

// grafanaVars replaces the dashboard's variables with what Grafana puts
// there, so that the query is PromQL.
func grafanaVars(q string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h", "$job", "warroom").Replace(q)
}

// checkQuery parses q and checks that every metric it selects is exported.
func checkQuery(t *testing.T, where, q string, exported map[string]bool) {
	t.Helper()
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, q, err)
		return
	}
	selectors := 0
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		selectors++
		if vs.Name == "" {
			t.Errorf("%s: a selector without a metric name in %q", where, q)
		} else if !exported[vs.Name] {
			t.Errorf("%s: %s is not exported by /metrics", where, vs.Name)
		}
		return nil
	})
	if selectors == 0 {
		t.Errorf("%s: %q reads no metric", where, q)
	}
}

// exportedNames are the names of the series in a scrape, with a
// histogram's _bucket, _sum and _count and a summary's _sum and _count.
func exportedNames(t *testing.T, scrape []byte) map[string]bool {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(scrape)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	names := map[string]bool{}
	for name, mf := range families {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		names[name] = true
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// act runs an action on id through the API, and returns the answer's code.
func (h *harness) act(id, action string) int {
	h.t.Helper()
	return h.post("/api/v1/incidents/"+id+"/"+action, []byte(`{"actor": "alice"}`), nil).code
}
