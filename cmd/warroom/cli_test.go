package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/pgtest"
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
		{[]string{"check-config"}, 2, "warroom check-config: check-config takes one FILE\nRun 'warroom check-config --help' for its usage."},
		{[]string{"simulate"}, 2, "simulate takes one PAYLOAD.json"},
		{[]string{"simulate", "-o", "yaml", "x.json"}, 2, `"yaml": want one of text, json`},
		{[]string{"incidents"}, 2, "warroom incidents needs a command: list, show, ack, mitigate, resolve, note, assign"},
		{[]string{"incidents", "frobnicate"}, 2, `warroom incidents: unknown command "frobnicate" (want list, show, ack`},
		{[]string{"incidents", "show"}, 2, "incidents show takes one incident ID"},
		{[]string{"incidents", "show", "INC-1", "INC-2"}, 2, "incidents show takes one incident ID"},
		{[]string{"incidents", "note", "INC-1"}, 2, "incidents note takes an incident ID and the note's text"},
		{[]string{"incidents", "assign", "INC-1", "alice"}, 2, "incidents assign takes an incident ID, a user and a role (commander, comms or scribe)"},
		{[]string{"incidents", "severity", "INC-1"}, 2, "incidents severity takes an incident ID and a level (critical, major or minor)"},
		{[]string{"incidents", "severity", "INC-1", "sev1"}, 2, `incidents severity: unknown severity "sev1" (valid: critical, major, minor)`},
		{[]string{"incidents", "followup", "INC-1"}, 2, "incidents followup takes an incident ID and the follow-up's text"},
		{[]string{"incidents", "followup", "INC-1", strings.Repeat("x", 201)}, 2, "incidents followup: a follow-up is at most 200 characters (this one has 201)"},
		{[]string{"incidents", "show", "banana"}, 1, `warroom: "banana" is not an incident ID`},
		{[]string{"deploys", "record", "--finished-at", "yesterday"}, 2, `--finished-at "yesterday": want RFC 3339`},
		{[]string{"serve", "--nope"}, 2, "warroom serve: flag provided but not defined: -nope"},
		{[]string{"serve", "--log-format", "xml"}, 2, `"xml": want one of text, json`},
		{[]string{"demo", "now"}, 2, "demo takes no arguments"},
		{[]string{"postmortem"}, 2, "warroom postmortem: postmortem takes one incident ID"},
		{[]string{"postmortem", "INC-1", "INC-2"}, 2, "postmortem takes one incident ID"},
		{[]string{"check-config", "/does/not/exist.yaml"}, 1, "no such file"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("warroom %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if strings.Contains(stderr, "warroom: warroom") {
			t.Errorf("warroom %v: a doubled prefix: %q", tc.args, stderr)
		}
	}
}

// Every command answers --help (and -h, and `warroom help COMMAND`) with
// its own flags on stdout, and exit 0.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "warroom serve [--config FILE] [--listen ADDR]", "warroom incidents list|show|ack|mitigate|resolve|note|assign"}},
		{[]string{"help"}, []string{"warroom deploys record|list"}},
		{[]string{"serve", "--help"}, []string{"Usage: warroom serve", "--listen ADDR", "--config FILE", "--log-format FORMAT"}},
		{[]string{"serve", "-h"}, []string{"--listen ADDR"}},
		{[]string{"check-config", "--help"}, []string{"Usage: warroom check-config [--online] [--log-format text|json] FILE", "--online"}},
		{[]string{"simulate", "--help"}, []string{"-o FORMAT", "--config FILE"}},
		{[]string{"demo", "--help"}, []string{"-v "}},
		{[]string{"migrate", "--help"}, []string{"--config FILE"}},
		{[]string{"version", "--help"}, []string{"Usage: warroom version"}},
		{[]string{"incidents", "--help"}, []string{"warroom incidents assign ID USER commander|comms|scribe", "warroom incidents mitigate ID"}},
		{[]string{"incidents", "list", "--help"}, []string{"--all", "--state STATE", "--storm ID", "--server URL", "-o FORMAT"}},
		{[]string{"incidents", "note", "--help"}, []string{"--jira", "--actor NAME"}},
		{[]string{"incidents", "resolve", "INC-1", "--help"}, []string{"-m SUMMARY"}},
		{[]string{"help", "deploys", "record"}, []string{"--finished-at TIME", "--id KEY", "--service SERVICE"}},
		{[]string{"deploys", "--help"}, []string{"warroom deploys record --service S --sha SHA"}},
	} {
		code, out, stderr := runCLI(t, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("warroom %v: exit %d, stderr %q; want exit 0 and nothing on stderr", tc.args, code, stderr)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("warroom %v: the help lacks %q:\n%s", tc.args, want, out)
			}
		}
		if strings.Contains(out, "help requested") {
			t.Errorf("warroom %v: %q", tc.args, out)
		}
	}
	// A command's help lists its own flags only.
	if _, out, _ := runCLI(t, "incidents", "list", "--help"); strings.Contains(out, "--timeline-after") || strings.Contains(out, "--actor") {
		t.Errorf("list's help shows other commands' flags:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		if code, out, _ := runCLI(t, args...); code != 0 || !strings.HasPrefix(out, "warroom ") {
			t.Errorf("%v: exit %d %q", args, code, out)
		}
	}
	info := func(bi *debug.BuildInfo) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return bi, bi != nil }
	}
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "-compiler", Value: "gc"}, {Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-06T07:00:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v9"}}, "v1.4.0"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0 (go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("607dcd8a1b2c3d4e5f60718293a4b5c6d7e8f901", "true")},
			"(devel) (revision 607dcd8a1b2c, dirty, go1.26.8)"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206070000-607dcd8a1b2c"}, Settings: vcs("607dcd8a1b2c3d4e", "false")},
			"v0.0.0-20261206070000-607dcd8a1b2c (revision 607dcd8a1b2c, go1.26.8)"},
		{"", &debug.BuildInfo{}, "(devel)"},
		{"", nil, "(unknown)"},
	} {
		if got := versionString(tc.stamped, info(tc.bi)); got != tc.want {
			t.Errorf("versionString(%q, %+v) = %q, want %q", tc.stamped, tc.bi, got, tc.want)
		}
	}
}

// The actor of a CLI action is $USER, else the OS user, else the host.
func TestWhoami(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	osUser := func(name string, err error) func() (*user.User, error) {
		return func() (*user.User, error) { return &user.User{Username: name}, err }
	}
	host := func(name string, err error) func() (string, error) {
		return func() (string, error) { return name, err }
	}
	fail := errors.New("unknown")
	for _, tc := range []struct {
		user     func(string) string
		osUser   func() (*user.User, error)
		hostname func() (string, error)
		want     string
	}{
		{env("alice"), osUser("root", nil), host("build-7", nil), "alice"},
		{env(""), osUser("runner", nil), host("build-7", nil), "runner"},
		{env("  "), osUser("", fail), host("build-7", nil), "build-7"},
		{env(""), osUser("", nil), host("", fail), "unknown"},
	} {
		if got := whoami(tc.user, tc.osUser, tc.hostname); got != tc.want {
			t.Errorf("whoami = %q, want %q", got, tc.want)
		}
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
	if len(lines) != 5 || !strings.Contains(out, "OK (5 rules, 5 warnings)") {
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
	// The runbook's other golden signals open war rooms under the reference
	// config, each worded in its unit in the ticket's summary and the topic.
	for _, tc := range []struct{ fixture, decision, summary, topic string }{
		{
			"firing-high-latency-p99.json",
			`alert 3c1f0a9d2b7e4f61 (HighLatencyP99, firing): war_room by rule "api-latency" — P99 latency 1.8 s above 500 ms`,
			`"summary":"[INC-?] payment-gateway P99 latency 1.8 s vs 500 ms (prod)"`,
			`| P99 latency 1.8 s vs 500 ms threshold"`,
		},
		{
			"firing-auth-failure-spike.json",
			`alert 8e02d4b6a1c95f37 (AuthFailureSpike, firing): war_room by rule "auth-failures" — 63 auth failures in 10 min above 50`,
			`"summary":"[INC-?] login 63 auth failures in 10 min vs 50 (prod)"`,
			`| 63 auth failures in 10 min vs 50 threshold"`,
		},
		{
			"firing-tls-handshake-failures.json",
			`alert f4a7c2e09b13d586 (TLSHandshakeFailures, firing): war_room by rule "tls-handshake-failures" — 30 TLS handshake failures in 10 min above 20`,
			`"summary":"[INC-?] api-gateway 30 TLS handshake failures in 10 min vs 20 (prod)"`,
			`| 30 TLS handshake failures in 10 min vs 20 threshold"`,
		},
	} {
		code, out, _ = runCLI(t, "simulate", "--config", "../../examples/warroom.yaml", fixtureDir+"/written/alertmanager/"+tc.fixture)
		for _, want := range []string{tc.decision, tc.summary, tc.topic} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("%s under the reference rules: exit %d, output lacks %q:\n%s", tc.fixture, code, want, out)
			}
		}
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
	base := startServer(t, sqlstore.SQLite, func(cfg *config.Config) { cfg.Webhook.BearerToken = "cli-token" })
	body, _ := os.ReadFile(fixtureDir + "/alertmanager/firing-high-error-rate.json")
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
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
	t.Setenv("WARROOM_SERVER", base)

	t.Setenv("WARROOM_TOKEN", "")
	if code, _, stderr := runCLI(t, "incidents", "list"); code != 1 || !strings.Contains(stderr, "(HTTP 401); set WARROOM_TOKEN to the server's API token") {
		t.Errorf("no token: exit %d, %q", code, stderr)
	}
	t.Setenv("WARROOM_TOKEN", "wrong")
	if code, _, stderr := runCLI(t, "incidents", "list"); code != 1 || !strings.Contains(stderr, "invalid credentials (HTTP 401); WARROOM_TOKEN does not hold the server's API token") {
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
	// mitigate, note and assign, the actor from the OS when $USER is unset.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("USER", "")
	if code, out, stderr := runCLI(t, "incidents", "mitigate", "INC-1"); code != 0 || !regexp.MustCompile(`(?m)^state +mitigated$`).MatchString(out) {
		t.Errorf("mitigate: exit %d %q\n%s", code, stderr, out)
	}
	if code, out, stderr := runCLI(t, "incidents", "note", "INC-1", "ledger", "deadlocks", "since", "04:12", "--actor", "bob"); code != 0 ||
		!strings.Contains(out, "ledger deadlocks since 04:12") {
		t.Errorf("note: exit %d %q\n%s", code, stderr, out)
	}
	if code, out, stderr := runCLI(t, "incidents", "assign", "INC-1", "U0ALICE01", "commander"); code != 0 || !regexp.MustCompile(`(?m)^commander +U0ALICE01$`).MatchString(out) {
		t.Errorf("assign: exit %d %q\n%s", code, stderr, out)
	}
	if code, out, stderr := runCLI(t, "incidents", "severity", "INC-1", "major"); code != 0 || !regexp.MustCompile(`(?m)^severity +major$`).MatchString(out) {
		t.Errorf("severity: exit %d %q\n%s", code, stderr, out)
	}
	if code, out, stderr := runCLI(t, "incidents", "followup", "INC-1", "alert", "on", "ledger", "deadlocks", "--actor", "carol"); code != 0 ||
		!regexp.MustCompile(`(?m)^  \S+ +followup +api:cli:carol +alert on ledger deadlocks$`).MatchString(out) {
		t.Errorf("followup: exit %d %q\n%s", code, stderr, out)
	}
	if code, _, stderr := runCLI(t, "incidents", "assign", "INC-1", "U0ALICE01", "captain"); code != 1 || !strings.Contains(stderr, `unknown role "captain" (want commander, comms or scribe) (HTTP 400)`) {
		t.Errorf("assign a role that is none: exit %d %q", code, stderr)
	}
	code, out, _ = runCLI(t, "incidents", "show", "INC-1", "-o", "json")
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("show: exit %d %v", code, err)
	}
	actors := map[incident.EventKind]string{}
	for _, e := range v.Timeline {
		actors[e.Kind] = e.Actor
	}
	if want := "api:cli:" + me.Username; actors[incident.EventMitigated] != want || actors[incident.EventAssigned] != want ||
		actors[incident.EventSeverityChanged] != want || actors[incident.EventNote] != "api:cli:bob" {
		t.Errorf("actors %v, want %s for mitigate, assign and severity, api:cli:bob for the note", actors, want)
	}
	if v.Commander != "U0ALICE01" {
		t.Errorf("commander %q", v.Commander)
	}

	code, out, _ = runCLI(t, "incidents", "resolve", "inc-1", "-m", "rolled back")
	if code != 0 || !regexp.MustCompile(`(?m)^state +resolved$`).MatchString(out) || !strings.Contains(out, "rolled back") {
		t.Errorf("resolve: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "incidents", "show", "INC-9"); code != 1 || !strings.Contains(stderr, "no incident INC-9 (HTTP 404)") {
		t.Errorf("show unknown: exit %d, %q", code, stderr)
	}
	// The postmortem's draft, as Markdown on stdout.
	code, out, stderr = runCLI(t, "postmortem", "inc-1")
	for _, want := range []string{"# Postmortem: INC-1 ", "| Service | payment-gateway |", "| Resolved | ", "time to resolve: ",
		"· **Note** · api:cli:bob · ledger deadlocks since 04:12", "## What to change"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("postmortem: exit %d %q, the draft lacks %q:\n%s", code, stderr, want, out)
		}
	}
	if code, _, stderr := runCLI(t, "postmortem", "INC-9"); code != 1 || !strings.Contains(stderr, "no incident INC-9 (HTTP 404)") {
		t.Errorf("postmortem unknown: exit %d, %q", code, stderr)
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
	base := startServer(t, sqlstore.SQLite, func(cfg *config.Config) {
		cfg.Webhook.BearerToken = "hook-token"
		cfg.API.BearerToken = "api-token"
		cfg.Deploys.BearerToken = "deploy-token"
	})
	t.Setenv("WARROOM_SERVER", base)
	t.Setenv("WARROOM_TOKEN", "api-token")
	t.Setenv("WARROOM_DEPLOY_TOKEN", "")
	record := []string{"deploys", "record", "--service", "payments", "--sha", "0123456789abcdef0123456789abcdef01234567"}

	if code, _, stderr := runCLI(t, record...); code != 1 ||
		!strings.Contains(stderr, "invalid credentials (HTTP 401); WARROOM_TOKEN was sent; set WARROOM_DEPLOY_TOKEN to the server's deploy token") {
		t.Errorf("record with the API token: exit %d, %q", code, stderr)
	}
	t.Setenv("WARROOM_DEPLOY_TOKEN", "wrong")
	if code, _, stderr := runCLI(t, record...); code != 1 || !strings.Contains(stderr, "WARROOM_DEPLOY_TOKEN does not hold the server's deploy token") {
		t.Errorf("record with a wrong deploy token: exit %d, %q", code, stderr)
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

// A CI pipeline records its deploy, and retries the step: each run
// reports "now" as the finish time, with the deploy token and no $USER.
// Both runs exit 0, and one deploy is stored, on either store.
func TestDeploysRecordFromCI(t *testing.T) {
	for _, driver := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(driver, func(t *testing.T) {
			base := startServer(t, driver, func(cfg *config.Config) {
				cfg.Webhook.BearerToken = "hook-token"
				cfg.Deploys.BearerToken = "deploy-token"
			})
			t.Setenv("WARROOM_SERVER", base)
			t.Setenv("WARROOM_TOKEN", "")
			t.Setenv("WARROOM_DEPLOY_TOKEN", "deploy-token")
			t.Setenv("USER", "")
			sha := "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
			ci := []string{"deploys", "record", "--service", "payment-gateway", "--env", "prod", "--sha", sha}
			code, out, stderr := runCLI(t, ci...)
			if code != 0 || !strings.HasPrefix(out, "recorded: payment-gateway prod 9f8e7d6 at ") {
				t.Fatalf("first run: exit %d %q %q", code, out, stderr)
			}
			code, out, stderr = runCLI(t, ci...)
			if code != 0 || !strings.HasPrefix(out, "already recorded: payment-gateway prod 9f8e7d6 at ") {
				t.Fatalf("the retry: exit %d %q %q", code, out, stderr)
			}
			// An idempotency key and a finish time of the caller's.
			keyed := []string{"deploys", "record", "--service", "payment-gateway", "--env", "prod", "--sha", "0a1b2c3",
				"--id", "ci-run-1842", "--finished-at", "2026-11-26T04:12:00Z", "-o", "json"}
			var rec struct {
				Deploy   incident.Deploy
				Recorded bool
			}
			for i, wantRecorded := range []bool{true, false} {
				code, out, stderr := runCLI(t, keyed...)
				if err := json.Unmarshal([]byte(out), &rec); code != 0 || err != nil || rec.Recorded != wantRecorded ||
					!rec.Deploy.FinishedAt.Equal(time.Date(2026, 11, 26, 4, 12, 0, 0, time.UTC)) || rec.Deploy.IdempotencyKey != "ci-run-1842" {
					t.Fatalf("keyed run %d: exit %d %q %q", i, code, out, stderr)
				}
			}
			t.Setenv("WARROOM_TOKEN", "hook-token")
			code, out, _ = runCLI(t, "deploys", "list", "--service", "payment-gateway", "-o", "json")
			var list struct{ Deploys []incident.Deploy }
			if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Deploys) != 2 {
				t.Fatalf("deploys stored: exit %d\n%s", code, out)
			}
		})
	}
}

// A client command without a server says where it looked and what to set.
func TestClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	for _, args := range [][]string{{"incidents", "list", "--server", "http://" + addr}, {"deploys", "record", "--service", "pay", "--sha", "abc1234", "--server", "http://" + addr}} {
		code, _, stderr := runCLI(t, args...)
		want := "warroom: cannot reach warroom at http://" + addr + " ("
		if code != 1 || !strings.HasPrefix(stderr, want) || !strings.HasSuffix(stderr, "); is warroom serve running? set --server or WARROOM_SERVER\n") ||
			strings.Contains(stderr, `Get "`) || strings.Contains(stderr, `Post "`) {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
}

// serve --listen overrides the config's address.
func TestServeListen(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	file := filepath.Join(dir, "warroom.yaml")
	cfg := "listen: 127.0.0.1:1\nstorage: {driver: sqlite, dsn: " + filepath.Join(dir, "w.db") + "}\ndry_run_log: " + filepath.Join(dir, "dry.jsonl") + "\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"serve", "--config", file, "--listen", addr}, io.Discard, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("healthz: HTTP %d", resp.StatusCode)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve is not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the listener
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after the signal: %s", code, stderr.String())
	}
	// Neither Slack nor Jira is configured: one warning names both.
	var warns []string
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, "dry run") && strings.Contains(line, "level=WARN") {
			warns = append(warns, line)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `systems="slack (no slack.bot_token), jira (no jira.url)"`) {
		t.Errorf("dry-run warnings: %q; want one naming slack and jira", warns)
	}
}

// startServer runs warroom on the driver's store (SQLite in a temporary
// folder, PostgreSQL in a fresh schema) and returns its URL.
func startServer(t *testing.T, driver string, mutate func(*config.Config)) string {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Storage.Driver, cfg.Storage.DSN = driver, filepath.Join(dir, "w.db")
	if driver == sqlstore.Postgres {
		cfg.Storage.DSN = pgtest.Fresh(t)
	}
	cfg.DryRunLog = filepath.Join(dir, "dry.jsonl")
	mutate(cfg)
	srv, err := bot.New(context.Background(), cfg, bot.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitListening(t, srv)
	return "http://" + srv.Addr()
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

// A secret that is configured but cannot be resolved stops serve at once,
// with one line naming the key and the cause; nothing listens.
func TestServeFailsFastOnSecrets(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SLACK_BOT_TOKEN", "")
	if err := os.Unsetenv("SLACK_BOT_TOKEN"); err != nil {
		t.Fatal(err)
	}
	base := "listen: 127.0.0.1:0\nstorage: {driver: sqlite, dsn: " + filepath.Join(dir, "w.db") + "}\ndry_run_log: " + filepath.Join(dir, "dry.jsonl") + "\n"
	jira := "jira: {url: 'https://example.atlassian.net', project: OPS, issue_type: Incident, auth: {email: bot@example.com, api_token_file: missing-token}}\n"
	for _, tc := range []struct{ name, cfg, want string }{
		{"slack token unset", base + "slack: {bot_token: '${SLACK_BOT_TOKEN}'}\n",
			"warroom: slack.bot_token: environment variable SLACK_BOT_TOKEN is not set\n"},
		{"jira token file unreadable", base + jira,
			"warroom: jira.auth.api_token_file: cannot read secret file: open " + filepath.Join(dir, "missing-token") + ": no such file or directory\n"},
	} {
		file := filepath.Join(dir, "warroom.yaml")
		if err := os.WriteFile(file, []byte(tc.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, "serve", "--config", file)
		if code != 1 || stderr != tc.want {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", tc.name, code, stderr, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "w.db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: serve opened its store before it refused: %v", tc.name, err)
		}
	}
}

// show and list mark a war room and a ticket that only a dry run names.
func TestPrintDryRun(t *testing.T) {
	t.Parallel()
	inc := &incident.Incident{ID: "INC-1", Title: "payment-gateway", State: incident.Triggered, WarRoom: true,
		SlackChannel: "inc-20261206-payment-gateway-1", OpenedAt: time.Unix(1764900000, 0)}
	for _, tc := range []struct {
		slack, jira bool
		want, not   []string
	}{
		{true, true, []string{"#inc-20261206-payment-gateway-1 (dry run)\n", "jira      (dry run: no ticket filed)\n"}, nil},
		{false, false, []string{"#inc-20261206-payment-gateway-1\n"}, []string{"dry run"}},
	} {
		var b strings.Builder
		if err := printView(&b, &httpapi.IncidentView{Incident: inc, SlackDryRun: tc.slack, JiraDryRun: tc.jira}); err != nil {
			t.Fatal(err)
		}
		var l strings.Builder
		if err := printList(&l, []*incident.Incident{inc}, tc.slack); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("show (slack %v, jira %v) lacks %q:\n%s", tc.slack, tc.jira, w, b.String())
			}
		}
		if tc.slack != strings.Contains(l.String(), "#inc-20261206-payment-gateway-1 (dry run)") {
			t.Errorf("list (slack %v):\n%s", tc.slack, l.String())
		}
		for _, n := range tc.not {
			if strings.Contains(b.String()+l.String(), n) {
				t.Errorf("show or list of a real war room says %q:\n%s%s", n, b.String(), l.String())
			}
		}
	}
}
