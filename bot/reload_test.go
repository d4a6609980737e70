package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// reloadConfig is a config file whose rule's threshold is %s.
const reloadConfig = `listen: 127.0.0.1:0
storage: {driver: sqlite, dsn: %[2]s}
dry_run_log: %[3]s
webhook: {bearer_token: ` + testToken + `}
slack: {signing_secret: ` + testSigningSecret + `, permissions: {%[4]s}}
reminders: {ack_within: 0s, update_every: 0s}
rules:
  - name: error-rate
    match: '{}'
    value: {annotation: error_rate}
    threshold: "%[1]s"
`

// startFromFile runs warroom on a config file as serve does, with the
// file read again on each reload; it returns the harness and the file.
func startFromFile(t *testing.T, threshold string) (*harness, func(threshold, perms string)) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "warroom.yaml")
	write := func(threshold, perms string) {
		t.Helper()
		body := fmt.Sprintf(reloadConfig, threshold, filepath.Join(dir, "w.db"), filepath.Join(dir, "dry.jsonl"), perms)
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(threshold, "")
	cfg, err := config.LoadStrict(file)
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	srv, err := bot.New(context.Background(), cfg, bot.Deps{Now: clock.Now, Load: func() (*config.Config, error) { return config.LoadStrict(file) }})
	if err != nil {
		t.Fatal(err)
	}
	return runServer(t, srv, clock, cfg), write
}

// decisionOf delivers a fixture's alerts and returns the decision on the
// first.
func decisionOf(h *harness, name string) incident.Action {
	h.t.Helper()
	r := h.deliver(name)
	if len(r.Alerts) == 0 {
		h.t.Fatalf("%s: no alert in the answer", name)
	}
	return r.Alerts[0].Decision
}

// metricValue returns the value of the sample named name on /metrics.
func (h *harness) metricValue(name string) string {
	h.t.Helper()
	r := h.get("/metrics")
	for line := range strings.Lines(string(r.body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return v
		}
	}
	h.t.Fatalf("/metrics has no %s", name)
	return ""
}

func TestReloadChangesRulesAndKeepsOnFailure(t *testing.T) {
	h, write := startFromFile(t, "10%")
	if got := h.metricValue("warroom_config_last_reload_successful"); got != "1" {
		t.Errorf("reload gauge at start: %s; want 1", got)
	}
	startedAt := h.metricValue("warroom_config_last_reload_success_timestamp_seconds")
	// payment-gateway at 3.11%: under 10%, recorded.
	if d := decisionOf(h, "alertmanager/firing-high-error-rate.json"); d != incident.ActionRecord {
		t.Fatalf("3.11%% against 10%%: %s; want record", d)
	}

	// The file says 0.1% now: a reload makes search (at 5.1%) a war room.
	write("0.1%", "")
	h.clock.Add(5 * time.Second)
	r := h.post("/-/reload", nil, map[string]string{"Content-Type": ""})
	if r.code != http.StatusOK || !strings.Contains(string(r.body), `"restart_needed":[]`) {
		t.Fatalf("reload: HTTP %d %s", r.code, r.body)
	}
	if d := decisionOf(h, "alertmanager/firing-truncated.json"); d != incident.ActionWarRoom {
		t.Errorf("after the reload to 0.1%%: %s; want war_room", d)
	}
	if at := h.metricValue("warroom_config_last_reload_success_timestamp_seconds"); at == startedAt {
		t.Errorf("the success timestamp did not move: %s", at)
	}

	// A broken file: 500 with the reason, the gauge at 0, the rules of 0.1% stay.
	if err := os.WriteFile(filepath.Join(filepath.Dir(h.dryRun), "warroom.yaml"), []byte("rules: [{name: x, threshold: \"-3%\"}]\nlisten: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.post("/-/reload", nil, nil)
	if r.code != http.StatusInternalServerError || !strings.HasPrefix(errorOf(r), "failed to reload config: ") {
		t.Errorf("reload of a broken file: HTTP %d %s; want 500 with the reason", r.code, r.body)
	}
	if got := h.metricValue("warroom_config_last_reload_successful"); got != "0" {
		t.Errorf("reload gauge after a failed reload: %s; want 0", got)
	}
	if d := decisionOf(h, "alertmanager/firing-below-threshold.json"); d != incident.ActionWarRoom {
		t.Errorf("checkout at 0.18%% after the failed reload: %s; want war_room (0.1%% still in force)", d)
	}

	// A good file again, with a setting that needs a restart.
	write("0.1%", "")
	if err := os.WriteFile(filepath.Join(filepath.Dir(h.dryRun), "warroom.yaml"),
		[]byte(strings.Replace(readFile(t, filepath.Join(filepath.Dir(h.dryRun), "warroom.yaml")), "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.post("/-/reload", nil, nil)
	if r.code != http.StatusOK || !strings.Contains(string(r.body), `"restart_needed":["listen"]`) {
		t.Errorf("reload with a new listen: HTTP %d %s; want listen named", r.code, r.body)
	}
	if got := h.metricValue("warroom_config_last_reload_successful"); got != "1" {
		t.Errorf("reload gauge after a good reload: %s; want 1", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReloadEndpointAuth(t *testing.T) {
	h, _ := startFromFile(t, "5%")
	if r := h.post("/-/reload", nil, map[string]string{"Authorization": ""}); r.code != http.StatusUnauthorized {
		t.Errorf("reload without a token: HTTP %d %s; want 401", r.code, r.body)
	}
	if r := h.post("/-/reload", nil, map[string]string{"Authorization": "Bearer wrong"}); r.code != http.StatusUnauthorized {
		t.Errorf("reload with a wrong token: HTTP %d %s; want 401", r.code, r.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, h.base+"/-/reload", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if r := h.do(req); r.code != http.StatusMethodNotAllowed {
			t.Errorf("%s /-/reload: HTTP %d; want 405", method, r.code)
		}
	}
	// A server given no way to read its configuration has no endpoint.
	plain := start(t, nil)
	if r := plain.post("/-/reload", nil, nil); r.code != http.StatusNotFound {
		t.Errorf("reload without a config to read: HTTP %d %s; want 404", r.code, r.body)
	}
}

// slack.permissions change on reload: the next command obeys the new ones.
func TestReloadChangesPermissions(t *testing.T) {
	h, write := startFromFile(t, "5%")
	if text := h.command("list"); text != "No open war rooms." {
		t.Fatalf("/warroom list, open to all: %q", text)
	}
	write("5%", "list: [U0BOSS001]")
	if r := h.post("/-/reload", nil, nil); r.code != http.StatusOK {
		t.Fatalf("reload: HTTP %d %s", r.code, r.body)
	}
	if text := h.command("list"); !strings.Contains(text, "U0BOSS001") {
		t.Errorf("/warroom list after list was given to U0BOSS001 alone: %q; want a refusal naming who may", text)
	}
}

func TestRestartNeeded(t *testing.T) {
	t.Parallel()
	parse := func(y string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(y), "t.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := "listen: 127.0.0.1:9095\n"
	for _, tc := range []struct {
		next string
		want string
	}{
		{base + "rules: [{name: r, match: '{}', threshold: 1%}]\nslack: {responders: ['@x'], permissions: {ack: [commander]}}\nlinks: {allowed_hosts: [a.example.com]}\ngrafana: {url: 'https://g.example.com'}\n", ""},
		{"listen: 127.0.0.1:9096\n", "listen"},
		{base + "public_listen: 0.0.0.0:9096\n", "public_listen"},
		{base + "storage: {driver: sqlite, dsn: other.db}\n", "storage"},
		{base + "webhook: {bearer_token: t}\n", "webhook"},
		{base + "api: {bearer_token: t}\ndeploys: {bearer_token: d, lookback: 1h}\n", "api, deploys.bearer_token"},
		{base + "jobs: {concurrency: 2}\nlimits: {max_new_war_rooms_per_minute: 5}\n", "jobs, limits"},
		{base + "dry_run: true\n", ""}, // Slack and Jira are in dry run already
		{base + "slack: {bot_token: xoxb-1, channel_prefix: war}\n", "dry_run, slack.channel_prefix"},
		{base + "slack: {signing_secret: s, archive_after: 1h}\n", "slack.signing_secret, slack.archive_after"},
	} {
		got := strings.Join(bot.RestartNeeded(parse(base), parse(tc.next)), ", ")
		if got != tc.want {
			t.Errorf("%q: restart needed for %q; want %q", tc.next, got, tc.want)
		}
	}
}

// public_listen serves Slack's endpoints and nothing else; listen keeps
// everything, with the health paths of the Prometheus ecosystem.
func TestPublicListener(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.PublicListen = "127.0.0.1:0"
		c.Slack.SigningSecret = testSigningSecret
	})
	pub := h.srv.PublicAddr()
	if pub == "" || pub == h.srv.Addr() {
		t.Fatalf("public address %q (listen %q)", pub, h.srv.Addr())
	}
	public := &harness{t: t, srv: h.srv, clock: h.clock, base: "http://" + pub}
	for _, c := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/-/healthy"}, {"GET", "/-/ready"}, {"GET", "/metrics"},
		{"POST", "/-/reload"}, {"POST", "/api/v1/alerts/alertmanager"}, {"POST", "/api/v1/alerts/grafana"},
		{"GET", "/api/v1/incidents"}, {"GET", "/api/v1/incidents/INC-1"}, {"POST", "/api/v1/deploys"},
		{"GET", "/"}, {"GET", "/slack/other"},
	} {
		req, _ := http.NewRequest(c.method, public.base+c.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		if r := public.do(req); r.code != http.StatusNotFound {
			t.Errorf("public %s %s: HTTP %d; want 404", c.method, c.path, r.code)
		}
	}
	// Slack's endpoints are there, behind Slack's signature.
	for _, path := range []string{"/slack/commands", "/slack/interactions"} {
		req, _ := http.NewRequest(http.MethodPost, public.base+path, strings.NewReader("command=%2Fwarroom&text=help"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := public.do(req); r.code != http.StatusUnauthorized {
			t.Errorf("public unsigned POST %s: HTTP %d %s; want 401 (the signature check)", path, r.code, r.body)
		}
	}
	if text := public.command("help"); !strings.Contains(text, "/warroom") {
		t.Errorf("public signed /warroom help: %q", text)
	}

	for _, path := range []string{"/healthz", "/-/healthy", "/readyz", "/-/ready"} {
		if r := h.get(path); r.code != http.StatusOK {
			t.Errorf("listen GET %s: HTTP %d %s", path, r.code, r.body)
		}
	}
	if r := h.get("/-/ready"); !strings.Contains(string(r.body), `"ready"`) {
		t.Errorf("/-/ready answers %s; want what /readyz answers", r.body)
	}
}

// The API says which systems run in dry run: a war room's channel there
// is only a name, its ticket never filed.
func TestDryRunMarked(t *testing.T) {
	dry := start(t, nil)
	if r := dry.deliver("alertmanager/firing-high-error-rate.json"); len(r.Opened) != 1 {
		t.Fatalf("no war room: %+v", r)
	}
	if v := dry.incident("INC-1"); !v.SlackDryRun || !v.JiraDryRun || v.SlackChannel == "" {
		t.Errorf("dry run: view says slack_dry_run %v, jira_dry_run %v, channel %q", v.SlackDryRun, v.JiraDryRun, v.SlackChannel)
	}
	list := decodeJSON[struct {
		SlackDryRun bool `json:"slack_dry_run"`
		JiraDryRun  bool `json:"jira_dry_run"`
	}](t, dry.get("/api/v1/incidents"))
	if !list.SlackDryRun || !list.JiraDryRun {
		t.Errorf("dry run: list says %+v", list)
	}

	slackFake := workspace(t)
	live := start(t, func(c *config.Config) {
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
	})
	if r := live.deliver("alertmanager/firing-high-error-rate.json"); len(r.Opened) != 1 {
		t.Fatalf("no war room: %+v", r)
	}
	if v := live.incident("INC-1"); v.SlackDryRun || !v.JiraDryRun {
		t.Errorf("real Slack, no Jira: view says slack_dry_run %v, jira_dry_run %v", v.SlackDryRun, v.JiraDryRun)
	}
}
