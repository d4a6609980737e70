package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const fixtureDir = "../../internal/fixtures"

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"explode"}, 2, `unknown command "explode"`},
		{[]string{"check-config"}, 2, "check-config takes one FILE"},
		{[]string{"simulate"}, 2, "simulate takes one PAYLOAD.json"},
		{[]string{"simulate", "-o", "yaml", "x.json"}, 2, `"yaml": want one of text, json`},
		{[]string{"incidents"}, 2, "incidents needs list, show, ack or resolve"},
		{[]string{"incidents", "frobnicate"}, 2, `unknown incidents subcommand "frobnicate"`},
		{[]string{"incidents", "show"}, 2, "takes one incident ID"},
		{[]string{"incidents", "show", "banana"}, 1, `"banana" is not an incident ID`},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"check-config", "/does/not/exist.yaml"}, 1, "no such file"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("warroom %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "warroom ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestCheckConfigReference(t *testing.T) {
	code, out, stderr := runCLI(t, "check-config", "../../examples/warroom.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Only this machine's missing secrets are worth a word, each a
	// warning of the logger at its line.
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, line := range lines {
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "file=../../examples/warroom.yaml line=") ||
			!strings.Contains(line, "environment variable") && !strings.Contains(line, "secret file") {
			t.Errorf("unexpected warning: %s", line)
		}
	}
	if len(lines) != 5 || !strings.Contains(out, "OK (2 rules, 5 warnings)") {
		t.Errorf("summary line missing or warnings miscounted:\n%s\n%s", out, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("listen: 127.0.0.1:9095\nslack:\n  announce_chanel: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "check-config", bad)
	if code != 1 || !strings.Contains(stderr, `level=ERROR msg="unknown key \"announce_chanel\" in slack`) ||
		!strings.Contains(stderr, "file="+bad+" line=3") || !strings.Contains(stderr, "warroom: "+bad+": 1 error\n") {
		t.Errorf("typo: exit %d, %q", code, stderr)
	}
}

// check-config on the mistakes a new user makes: three precise errors,
// each with its file and line, as JSON with --log-format json; exit 1.
func TestCheckConfigMistakes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warroom.yaml")
	config := `jira:
  url: https://example.atlassian.net
  issue_type: Incident
rules:
  - name: api-error-rate
    match: '{alertname="HighErrorRate"'
    threshold: 0.8
  - name: everything-else
    match: '{}'
    decision: record
`
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "check-config", "--log-format", "json", path)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want exit 1 and nothing", code, out)
	}
	type record struct {
		Level, Msg, File string
		Line             int
	}
	want := []record{
		{"ERROR", "jira.project: required when jira.url is set (the project key, e.g. OPS)", path, 1},
		{"ERROR", `rules[0] (api-error-rate): bad matcher "{alertname=\"HighErrorRate\"": 0:26: end of input: expected close brace`, path, 6},
		{"ERROR", `rules[0] (api-error-rate): bad threshold: 0.8 is a ratio of 80%: did you mean "0.8%"? (a rule meaning 80% writes "80%")`, path, 7},
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != len(want)+1 || lines[len(want)] != "warroom: "+path+": 3 errors" {
		t.Fatalf("stderr:\n%s", stderr)
	}
	for i, w := range want {
		var got record
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, lines[i])
		}
		if got != w {
			t.Errorf("error %d = %+v\nwant %+v", i, got, w)
		}
	}
}

func TestSimulate(t *testing.T) {
	code, out, stderr := runCLI(t, "simulate", fixtureDir+"/alertmanager/firing-high-error-rate.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`alert afb663c01ce7e058 (HighErrorRate, firing): war_room by rule "default" — 3.11% above 0.8%`,
		`slack.create_channel: would call slack conversations.create {"name":"inc-`,
		`slack.post_summary: would call slack chat.postMessage {"channel":"#inc-`,
		`jira.create_issue: would call jira POST /rest/api/2/issue {"fields":{`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("simulate output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "simulate", "-o", "json", fixtureDir+"/alertmanager/firing-below-threshold.json")
	var sim []bot.SimulatedAlert
	if code != 0 || json.Unmarshal([]byte(out), &sim) != nil || len(sim) != 1 || sim[0].Decision != incident.ActionRecord || len(sim[0].Calls) != 0 {
		t.Errorf("below threshold: exit %d, %s", code, out)
	}
	// The README's Grafana example opens a war room under the reference
	// config.
	code, out, _ = runCLI(t, "simulate", "--config", "../../examples/warroom.yaml", fixtureDir+"/grafana/firing-error-rate.json")
	if code != 0 || !strings.Contains(out, `alert 7d3c0e0a5f1b2c44 (API error rate, firing): war_room by rule "api-error-rate" — 1.23% above 0.8%`) ||
		!strings.Contains(out, `slack.create_channel: would call slack conversations.create`) {
		t.Errorf("grafana under the reference rules: exit %d\n%s", code, out)
	}
	truncated := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(truncated, []byte(`{"version":"4","status":"firing","alerts":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "simulate", truncated); code != 1 || !strings.Contains(stderr, "malformed JSON") {
		t.Errorf("malformed payload: exit %d, %q", code, stderr)
	}
}

// The client commands against a real server, as a runbook would use them.
func TestIncidentsCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Storage.DSN = filepath.Join(dir, "w.db")
	cfg.DryRunLog = filepath.Join(dir, "dry.jsonl")
	cfg.Webhook.BearerToken = "cli-token"
	srv, err := bot.New(context.Background(), cfg, bot.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitListening(t, srv)
	body, _ := os.ReadFile(fixtureDir + "/alertmanager/firing-high-error-rate.json")
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer cli-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: HTTP %d", resp.StatusCode)
	}
	t.Setenv("WARROOM_SERVER", "http://"+srv.Addr())

	t.Setenv("WARROOM_TOKEN", "wrong")
	if code, _, stderr := runCLI(t, "incidents", "list"); code != 1 || !strings.Contains(stderr, "invalid credentials (HTTP 401)") {
		t.Errorf("wrong token: exit %d, %q", code, stderr)
	}
	t.Setenv("WARROOM_TOKEN", "cli-token")
	code, out, stderr := runCLI(t, "incidents", "list")
	if code != 0 || !strings.Contains(out, "INC-1") || !strings.Contains(out, "payment-gateway") || !strings.Contains(out, "3.11%") {
		t.Fatalf("list: exit %d %s\n%s", code, stderr, out)
	}
	code, out, _ = runCLI(t, "incidents", "ack", "INC-1", "--actor", "alice", "-o", "json")
	var v httpapi.IncidentView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.State != incident.Acknowledged {
		t.Fatalf("ack: exit %d\n%s", code, out)
	}
	var acked []string
	for _, e := range v.Timeline {
		if e.Kind == incident.EventAcknowledged {
			acked = append(acked, e.Actor)
		}
	}
	if fmt.Sprint(acked) != "[api:cli:alice]" {
		t.Errorf("ack actors %q", acked)
	}
	if code, _, stderr := runCLI(t, "incidents", "ack", "INC-1"); code != 1 || !strings.Contains(stderr, "INC-1 is already acknowledged (HTTP 409)") {
		t.Errorf("ack twice: exit %d, %q", code, stderr)
	}
	code, out, _ = runCLI(t, "incidents", "resolve", "inc-1", "-m", "rolled back")
	if code != 0 || !strings.Contains(out, "state     resolved") || !strings.Contains(out, "rolled back") {
		t.Errorf("resolve: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "incidents", "show", "INC-9"); code != 1 || !strings.Contains(stderr, "no incident INC-9 (HTTP 404)") {
		t.Errorf("show unknown: exit %d, %q", code, stderr)
	}
	code, out, _ = runCLI(t, "incidents", "list", "--state", "resolved", "-o", "json")
	var list struct{ Incidents []incident.Incident }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Incidents) != 1 {
		t.Errorf("list resolved: exit %d\n%s", code, out)
	}

	// Revisions go into rollback commands: the server refuses one that is
	// not a Git SHA, naming the field, and records nothing.
	if code, _, stderr := runCLI(t, "deploys", "record", "--service", "pay", "--sha", "xyz"); code != 1 ||
		!strings.Contains(stderr, `sha "xyz" is not a Git SHA (7-64 hex digits) (HTTP 400)`) {
		t.Errorf("record a bad sha: exit %d, %q", code, stderr)
	}
	if code, out, stderr := runCLI(t, "deploys", "record", "--service", "pay", "--sha", "abc1234", "--previous-sha", "main"); code != 1 ||
		!strings.Contains(stderr, `previous_sha "main" is not a Git SHA`) || out != "" {
		t.Errorf("record a bad previous sha: exit %d, %q %q", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, "deploys", "list", "--service", "pay"); code != 0 || strings.Contains(out, "xyz") || strings.Contains(out, "abc1234") {
		t.Errorf("deploys after the refusals: exit %d %q %q", code, out, stderr)
	}
}

// With tokens of their own, the CLI sends $WARROOM_TOKEN to the API and
// $WARROOM_DEPLOY_TOKEN (else $WARROOM_TOKEN) with deploys record.
func TestClientTokens(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Storage.DSN = filepath.Join(dir, "w.db")
	cfg.DryRunLog = filepath.Join(dir, "dry.jsonl")
	cfg.Webhook.BearerToken = "hook-token"
	cfg.API.BearerToken = "api-token"
	cfg.Deploys.BearerToken = "deploy-token"
	srv, err := bot.New(context.Background(), cfg, bot.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitListening(t, srv)
	t.Setenv("WARROOM_SERVER", "http://"+srv.Addr())
	t.Setenv("WARROOM_TOKEN", "api-token")
	t.Setenv("WARROOM_DEPLOY_TOKEN", "")
	record := []string{"deploys", "record", "--service", "payments", "--sha", "0123456789abcdef0123456789abcdef01234567"}

	if code, _, stderr := runCLI(t, record...); code != 1 || !strings.Contains(stderr, "invalid credentials (HTTP 401)") {
		t.Errorf("record with the API token: exit %d, %q", code, stderr)
	}
	t.Setenv("WARROOM_DEPLOY_TOKEN", "deploy-token")
	if code, out, stderr := runCLI(t, record...); code != 0 || !strings.HasPrefix(out, "recorded: payments") {
		t.Errorf("record with the deploy token: exit %d, %q %q", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, "deploys", "list"); code != 0 || !strings.Contains(out, "payments") {
		t.Errorf("list with the API token: exit %d, %q %q", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, "incidents", "list"); code != 0 || !strings.Contains(out, "(no incidents)") {
		t.Errorf("incidents with the API token: exit %d, %q %q", code, out, stderr)
	}
	t.Setenv("WARROOM_TOKEN", "deploy-token")
	if code, _, stderr := runCLI(t, "incidents", "list"); code != 1 || !strings.Contains(stderr, "invalid credentials (HTTP 401)") {
		t.Errorf("incidents with the deploy token: exit %d, %q", code, stderr)
	}
}

// waitListening waits until srv listens.
func waitListening(t *testing.T, srv *bot.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Addr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the server did not start listening")
		}
		time.Sleep(5 * time.Millisecond) // polling the listener
	}
}
