package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/fixtures"
)

// demoRules are the rules of the demo: the reference config's.
const demoRules = `
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|ElevatedErrorRate|PodErrorRate|API error rate"}'
    value:
      annotation: error_rate
      grafana: A
      query: 'sum(rate(http_requests_total{service="{{.Labels.service}}",status=~"5.."}[5m])) / sum(rate(http_requests_total{service="{{.Labels.service}}"}[5m]))'
    threshold: "0.8%"
    when_unknown: war_room
    incident_key: [service, env]
    severity: critical
    responders: ["@payments-oncall"]
    runbook: "{{.Annotations.runbook_url}}"
    grafana:
      dashboards:
        - uid: api-golden-signals
          vars: {service: "{{.Labels.service}}", env: "{{.Labels.env}}"}
      tag: payments
    rollback:
      command: "argocd app rollback {{.Service}} {{.TargetRevision}}"
  - name: everything-else
    match: '{}'
    decision: record
`

// demoToken authenticates the demo's own webhooks.
const demoToken = "demo-token"

// demo shows the whole job on a laptop: warroom on the embedded defaults
// with in-process fakes, two deploys, the fixture alerts, and what a
// responder sees.
func demo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("demo")
	verbose := fs.Bool("v", false, "log what warroom does (to stderr)")
	keep := fs.Bool("keep", false, "keep serving when the story ends, until interrupted, so that the incident page can be opened")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: demo takes no arguments", errUsage)
	}
	began := time.Now()
	dir, err := os.MkdirTemp("", "warroom-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	slackFake := slacktest.New()
	defer slackFake.Close()
	for _, u := range [][3]string{{"U0ALICE01", "alice", "alice@example.com"}, {"U0BOB0001", "bob", "bob@example.com"}, {"U0DAVE001", "dave", "dave@example.com"}} {
		slackFake.AddUser(u[0], u[1], u[2])
	}
	slackFake.AddUserGroup("S0PAYONC1", "payments-oncall", "U0ALICE01", "U0BOB0001")
	slackFake.AddUserGroup("S0SREONC1", "sre-oncall", "U0DAVE001")
	slackFake.AddChannel("reliability-alert", false, false)
	jiraFake := jiratest.New()
	defer jiraFake.Close()
	jiraFake.AddProject("OPS", "Operations", "Task") // follow-ups (jira.followup_issue_type) are tasks

	parsed, err := config.Parse([]byte(demoRules), "demo-rules.yaml")
	if err != nil {
		return err
	}
	cfg := config.Default()
	// The incident page's links point at public_url: the demo's own
	// address, chosen before it starts, and a key of this run's.
	addr, err := freeLoopback()
	if err != nil {
		return err
	}
	cfg.Listen, cfg.PublicURL = addr, "http://"+addr
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	cfg.IncidentPage.SigningKey = config.Secret(hex.EncodeToString(key))
	cfg.Storage.DSN = filepath.Join(dir, "warroom.db")
	cfg.DryRunLog = filepath.Join(dir, "dryrun.jsonl")
	cfg.Webhook.BearerToken = demoToken
	cfg.Rules = parsed.Rules
	cfg.Slack.BotToken, cfg.Slack.APIURL, cfg.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
	cfg.Slack.AnnounceChannel, cfg.Slack.Responders = "reliability-alert", []string{"@sre-oncall"}
	cfg.Jira.URL, cfg.Jira.DryRun, cfg.Jira.Deployment = jiraFake.URL(), false, "cloud"
	cfg.Jira.Auth.Email, cfg.Jira.Auth.APIToken = jiratest.DefaultEmail, jiratest.DefaultAPIToken
	cfg.Jira.Project, cfg.Jira.IssueType, cfg.Jira.Labels = "OPS", "Incident", []string{"warroom"}
	cfg.Deploys.CompareURL = "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"
	// Alert content links only to allowed hosts: the fixtures' runbooks and
	// Prometheus, and the CI of the demo's deploys.
	cfg.Links.AllowedHosts = []string{"runbooks.example.com", "prometheus", "ci.example.com"}
	cfg.CorrelationBudget = config.Duration(time.Second)
	// The fixtures were captured on 2026-11-26; the demo's alert starts
	// now, so that its start, its deploys, its boards' window and its
	// timeline tell one story.
	start := time.Now().UTC().Truncate(time.Second)
	extra := demoSources(cfg, start)
	defer extra.close()

	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := bot.New(ctx, cfg, bot.Deps{Logger: log})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for srv.Addr() == "" {
		select {
		case err := <-done:
			return fmt.Errorf("warroom did not start: %w", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	d := &demoRun{base: "http://" + srv.Addr(), out: stdout, slack: slackFake, jira: jiraFake, http: &http.Client{Timeout: 10 * time.Second},
		shift: start.Sub(fixtureStart)}

	fmt.Fprintf(stdout, "warroom demo: warroom %s on the embedded defaults (SQLite in %s), with in-process fakes of %s.\n\n",
		shortVersion(), dir, strings.Join(append([]string{"Slack", "Jira"}, extra.names...), ", "))

	// Two deploys of payment-gateway, as CI would record them.
	for _, dep := range []map[string]any{
		{"service": "payment-gateway", "env": "prod", "sha": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", "author": "carol", "finished_at": start.Add(-3 * time.Hour)},
		{"service": "payment-gateway", "env": "prod", "sha": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "previous_sha": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
			"author": "alice", "url": "https://ci.example.com/payment-gateway/runs/1842", "finished_at": start.Add(-12 * time.Minute)},
	} {
		if _, err := d.post("/api/v1/deploys", dep); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "Recorded 2 deploys of payment-gateway: 0a1b2c3 by carol 3h before the alert, 9f8e7d6 by alice 12m before.")

	fmt.Fprintln(stdout, "\nReplaying the alerts captured from a real Alertmanager:")
	for _, name := range []string{"firing-high-error-rate", "firing-pod-error-rate-3-alerts", "repeat-high-error-rate", "firing-below-threshold", "firing-truncated"} {
		if err := d.replay("alertmanager/" + name + ".json"); err != nil {
			return err
		}
	}
	if err := d.waitReady("INC-1"); err != nil {
		return err
	}
	if err := d.showWarRoom("INC-1"); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "\nThe alerts resolve:")
	for _, name := range []string{"alertmanager/resolved-high-error-rate.json", "alertmanager/resolved-pod-error-rate.json"} {
		if err := d.replay(name); err != nil {
			return err
		}
	}
	if err := d.showResolved("INC-1"); err != nil {
		return err
	}
	if err := d.showPostmortem("INC-1"); err != nil {
		return err
	}
	if err := d.showPage("INC-1"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nDone in %s. Run `warroom serve` for the real thing; README.md says how to connect Slack and Jira.\n", time.Since(began).Round(100*time.Millisecond))
	if *keep {
		fmt.Fprintf(stdout, "Serving at %s until interrupted (Ctrl-C).\n", d.base)
		<-ctx.Done()
	}
	return nil
}

// freeLoopback returns a loopback address nothing listens on.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

type demoRun struct {
	base  string
	out   io.Writer
	slack *slacktest.Server
	jira  *jiratest.Server
	http  *http.Client
	// shift moves the fixtures' times to the demo's: their alert starts
	// when the demo does.
	shift time.Duration
}

// fixtureStart is when the alerts of the captured fixtures started.
var fixtureStart = time.Date(2026, 11, 26, 4, 24, 38, 185e6, time.UTC)

// fixtureTime is a start or end time in a fixture, as Alertmanager and
// Grafana write them.
var fixtureTime = regexp.MustCompile(`"(startsAt|endsAt)":\s*"([^"]+)"`)

// shiftTimes moves the start and end times of a fixture's alerts by d;
// the zero time of a firing alert's end stays zero.
func shiftTimes(body []byte, d time.Duration) []byte {
	return fixtureTime.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := fixtureTime.FindSubmatch(m)
		t, err := time.Parse(time.RFC3339Nano, string(sub[2]))
		if err != nil || t.IsZero() || t.Year() <= 1 {
			return m
		}
		return []byte(`"` + string(sub[1]) + `":"` + t.Add(d).Format(time.RFC3339Nano) + `"`)
	})
}

func (d *demoRun) do(method, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequest(method, d.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+demoToken)
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func (d *demoRun) post(path string, v any) ([]byte, error) {
	body, _ := json.Marshal(v)
	b, code, err := d.do(http.MethodPost, path, body)
	if err == nil && code >= 300 {
		err = fmt.Errorf("POST %s: HTTP %d %s", path, code, b)
	}
	return b, err
}

func (d *demoRun) incident(id string) (*httpapi.IncidentView, error) {
	b, code, err := d.do(http.MethodGet, "/api/v1/incidents/"+id, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d %s", id, code, b)
	}
	var v httpapi.IncidentView
	return &v, json.Unmarshal(b, &v)
}

// replay sends a fixture and says what warroom answered.
func (d *demoRun) replay(name string) error {
	body, err := fixtures.Read(name)
	if err != nil {
		return err
	}
	body = shiftTimes(body, d.shift)
	path := "/api/v1/alerts/alertmanager"
	if strings.HasPrefix(name, "grafana/") {
		path = "/api/v1/alerts/grafana"
	}
	b, code, err := d.do(http.MethodPost, path, body)
	if err != nil {
		return err
	}
	var r struct {
		Alerts []incident.AlertResult `json:"alerts"`
	}
	_ = json.Unmarshal(b, &r)
	var what []string
	for _, a := range r.Alerts {
		s := string(a.Outcome)
		if a.Incident != "" {
			s += " " + a.Incident
		}
		if a.Reason != "" && a.Outcome == incident.OutcomeRecorded {
			s += " (" + a.Reason + ")"
		}
		if len(what) == 0 || what[len(what)-1] != s {
			what = append(what, s)
		}
	}
	fmt.Fprintf(d.out, "  %-42s HTTP %d  %s\n", filepath.Base(name), code, strings.Join(what, ", "))
	return nil
}

// later reports whether steps of kind are scheduled for later (the
// archive after resolve, the reminders), not part of setting up.
func later(kind incident.JobKind) bool {
	return kind == incident.JobSlackArchive || kind == incident.JobRemindAck || kind == incident.JobRemindUpdate
}

// waitReady waits until the war room is set up: channel, pinned summary,
// ticket, evidence, and every step run but those scheduled for later.
func (d *demoRun) waitReady(id string) error {
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		v, err := d.incident(id)
		if err != nil {
			return err
		}
		settled := v.SlackChannelID != "" && v.SummaryTS != "" && v.JiraKey != "" && v.Evidence != nil && len(v.Evidence.Pending) == 0
		for _, j := range v.Jobs {
			settled = settled && (j.State == incident.JobDone || later(j.Kind))
		}
		if settled {
			return nil
		}
		if os.Getenv("WARROOM_DEMO_DEBUG") != "" {
			b, _ := json.Marshal(map[string]any{"ev": v.Evidence, "jobs": v.Jobs, "summary": v.SummaryTS, "jira": v.JiraKey})
			fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, err := d.incident(id)
	if err != nil {
		return err
	}
	var waiting []string
	for _, j := range v.Jobs {
		if j.State != incident.JobDone && !later(j.Kind) {
			waiting = append(waiting, fmt.Sprintf("%s (%s %s)", j.Key, j.State, j.LastError))
		}
	}
	return fmt.Errorf("the war room was not ready within 8s; waiting for: %s (run with -v to see more)", strings.Join(waiting, "; "))
}

func (d *demoRun) showWarRoom(id string) error {
	v, err := d.incident(id)
	if err != nil {
		return err
	}
	var members []string
	for _, c := range d.slack.Channels() {
		if c.ID == v.SlackChannelID {
			for _, m := range c.Members {
				if m != slacktest.BotUserID {
					members = append(members, m)
				}
			}
		}
	}
	fmt.Fprintf(d.out, "\nSlack: war room #%s, responders invited: %s\n", v.SlackChannel, strings.Join(members, ", "))
	for _, m := range d.slack.Messages(v.SlackChannelID) {
		if m.Metadata != nil && m.Metadata.EventType == "warroom_summary" {
			fmt.Fprintf(d.out, "Pinned summary (edited in place %s):\n", plural(m.Edits, "time", "times"))
			fmt.Fprintln(d.out, indent(blocksAsText(m.Blocks), "  │ "))
		}
	}
	for _, b := range d.slack.Bookmarks(v.SlackChannelID) {
		fmt.Fprintf(d.out, "Bookmark: %s  %s\n", b.Title, b.Link)
	}
	if ch, ok := d.slack.ChannelByName("reliability-alert"); ok {
		for _, m := range d.slack.Messages(ch.ID) {
			fmt.Fprintf(d.out, "Announced in #reliability-alert: %s\n", plainMrkdwn(m.Text))
		}
	}
	is, ok := d.jira.Issue(v.JiraKey)
	if !ok {
		return fmt.Errorf("ticket %s is not in the Jira fake", v.JiraKey)
	}
	fmt.Fprintf(d.out, "\nJira: %s [%s, %s] %s\n  labels: %s\n", is.Key, is.Priority, is.Status, is.Summary, strings.Join(is.Labels, ", "))
	if i := strings.Index(is.Description, "h2. Rollback suggestion"); i >= 0 {
		fmt.Fprintln(d.out, indent(strings.TrimSpace(is.Description[i:strings.LastIndex(is.Description, "\n----")]), "  │ "))
	}
	if ev := v.Evidence; ev != nil && ev.Suspect != nil {
		ago := strings.TrimSuffix(start(v).Sub(ev.Suspect.FinishedAt).Round(time.Minute).String(), "0s")
		fmt.Fprintf(d.out, "\nSuspect deploy: %s by %s, %s before the alert\nRollback:       %s\n", incident.ShortSHA(ev.Suspect.SHA),
			ev.Suspect.Author, ago, ev.Rollback)
	}
	return nil
}

func start(v *httpapi.IncidentView) time.Time {
	t := v.OpenedAt
	for _, a := range v.Alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(t) {
			t = a.StartsAt
		}
	}
	return t
}

func (d *demoRun) showResolved(id string) error {
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		v, err := d.incident(id)
		if err != nil {
			return err
		}
		is, _ := d.jira.Issue(v.JiraKey)
		if v.State == incident.Resolved && is.Status == "Done" {
			for _, m := range d.slack.Messages(v.SlackChannelID) {
				if m.Metadata != nil && m.Metadata.EventType == "warroom_change" && strings.Contains(m.Text, "resolved after") {
					fmt.Fprintf(d.out, "Slack: %s\nJira: %s is %s (resolution %s), with a closing comment\n", plainMrkdwn(m.Text), is.Key, is.Status, is.Resolution)
					for _, j := range v.Jobs {
						if j.Kind == incident.JobSlackArchive {
							fmt.Fprintf(d.out, "The war room is archived at %s unless the alert fires again.\n", j.RunAt.UTC().Format(time.RFC3339))
						}
					}
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the incident did not close within 6s")
}

var (
	mrkdwnLink = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)
	mrkdwnChan = regexp.MustCompile(`<#(C[A-Z0-9]+)>`)
)

// plainMrkdwn renders mrkdwn for a terminal.
func plainMrkdwn(s string) string {
	s = mrkdwnLink.ReplaceAllString(s, "$2 ($1)")
	s = mrkdwnChan.ReplaceAllString(s, "#$1")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "*", "", "`", "").Replace(s)
}

// blocksAsText renders a message's blocks as a responder reads them.
func blocksAsText(raw json.RawMessage) string {
	var blocks []struct {
		Type     string                  `json:"type"`
		Text     *struct{ Text string }  `json:"text"`
		Fields   []struct{ Text string } `json:"fields"`
		Elements []struct {
			Text json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if json.Unmarshal(raw, &blocks) != nil {
		return string(raw)
	}
	var lines []string
	for _, b := range blocks {
		switch {
		case b.Type == "actions":
			var buttons []string
			for _, e := range b.Elements {
				var t struct{ Text string }
				_ = json.Unmarshal(e.Text, &t)
				buttons = append(buttons, "["+t.Text+"]")
			}
			lines = append(lines, strings.Join(buttons, " "))
		case b.Text != nil:
			lines = append(lines, plainMrkdwn(b.Text.Text))
		case len(b.Fields) > 0:
			var fs []string
			for _, f := range b.Fields {
				fs = append(fs, strings.ReplaceAll(plainMrkdwn(f.Text), "\n", ": "))
			}
			lines = append(lines, strings.Join(fs, " | "))
		case b.Type == "context":
			for _, e := range b.Elements {
				var s string
				_ = json.Unmarshal(e.Text, &s)
				lines = append(lines, plainMrkdwn(s))
			}
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
