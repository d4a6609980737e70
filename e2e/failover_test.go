package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/pgtest"
)

// TestReplicaFailover runs two warroom replicas on one PostgreSQL database
// against the strict Slack and Jira fakes. Replica A alone takes the war
// room's jobs; its first Slack post and its Jira create reach the fakes
// (the message is posted, the ticket filed) and then hang. Replica B is
// started, A is killed with SIGKILL, and B must finish the war room within
// 30 s of the kill: one channel, one pinned summary, one announce line,
// one ticket, none of them made twice.
func TestReplicaFailover(t *testing.T) {
	t.Parallel()
	bin := requireWarroom(t)
	dsn := pgtest.Fresh(t)

	slackFake := slacktest.New()
	t.Cleanup(slackFake.Close)
	slackFake.AddUser("U0ALICE01", "alice", "alice@example.com")
	slackFake.AddUserGroup("S0ONCALL1", "sre-oncall", "U0ALICE01")
	announceID := slackFake.AddChannel("reliability-alert", false, false)
	jiraFake := jiratest.New(jiratest.WithSearchLag(time.Second))
	t.Cleanup(jiraFake.Close)
	// The first message (the summary or the announce line) and the
	// ticket are made, and their answers never come.
	slackFake.FailNext("chat.postMessage", slacktest.Fault{Lost: true, Hang: true})
	jiraFake.FailNext("POST /rest/api/2/issue", jiratest.Fault{Lost: true, Hang: true})

	dir := t.TempDir()
	token := randomToken(t)
	replica := func(name string) *warroom {
		w := &warroom{t: t, bin: bin, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), token: token,
			config: filepath.Join(dir, name+".yaml"), client: &http.Client{Timeout: 15 * time.Second}}
		cfg := fmt.Sprintf(`listen: %q
storage: {driver: postgres, dsn: %q}
webhook: {bearer_token: %q}
slack:
  bot_token: %q
  signing_secret: e2e-signing-secret
  api_url: %q
  announce_channel: reliability-alert
  responders: ["@sre-oncall"]
jira:
  url: %q
  deployment: cloud
  auth: {email: %q, api_token: %q}
  project: OPS
  issue_type: Incident
  index_lag: 2s
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|ElevatedErrorRate|PodErrorRate"}'
    value: {annotation: error_rate}
    threshold: "0.8%%"
    severity: critical
`, w.addr, dsn, token, slacktest.BotToken, slackFake.URL(), jiraFake.URL(), jiratest.DefaultEmail, jiratest.DefaultAPIToken)
		writeFile(t, w.config, cfg)
		return w
	}
	a, b := replica("a"), replica("b")
	a.start()

	payload, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, err := a.postAlertmanager(context.Background(), payload); err != nil || code != http.StatusOK {
		t.Fatalf("webhook to replica A: %d %v %s", code, err, body)
	}
	// The hanging calls are recorded only when they end; their effects
	// show at once.
	hung := func() (bool, string) {
		posts := len(slackFake.Messages(announceID))
		for _, c := range slackFake.Channels() {
			if strings.HasPrefix(c.Name, "inc-") {
				posts += len(slackFake.Messages(c.ID))
			}
		}
		tickets := len(jiraFake.Issues())
		return posts >= 1 && tickets >= 1, fmt.Sprintf("%d messages, %d tickets", posts, tickets)
	}
	waitFor(t, 30*time.Second, "replica A's post and create to hang", hung, a.proc)
	b.start()
	a.proc.kill()
	killed := time.Now()

	var channel slacktest.Channel
	done := func() (bool, string) {
		var chans []slacktest.Channel
		for _, c := range slackFake.Channels() {
			if strings.HasPrefix(c.Name, "inc-") {
				chans = append(chans, c)
			}
		}
		if len(chans) != 1 {
			return false, fmt.Sprintf("%d war-room channels", len(chans))
		}
		channel = chans[0]
		pinned := 0
		for _, m := range slackFake.Messages(channel.ID) {
			if m.Pinned {
				pinned++
			}
		}
		var inc struct {
			JiraKey string `json:"jira_key"`
		}
		if err := b.getJSON("/api/v1/incidents/INC-1", &inc); err != nil {
			return false, err.Error()
		}
		return pinned == 1 && inc.JiraKey != "" && len(slackFake.Messages(announceID)) == 1,
			fmt.Sprintf("%d pinned, ticket %q, %d announce lines", pinned, inc.JiraKey, len(slackFake.Messages(announceID)))
	}
	waitFor(t, 30*time.Second, "replica B to finish the war room", done, b.proc)
	t.Logf("replica B finished the war room %s after A was killed", time.Since(killed).Round(100*time.Millisecond))

	summaries := 0
	for _, m := range slackFake.Messages(channel.ID) {
		if m.Metadata != nil && m.Metadata.EventType == "warroom_summary" {
			summaries++
		}
	}
	if summaries != 1 {
		t.Errorf("%d summaries in #%s, want 1", summaries, channel.Name)
	}
	if n := len(slackFake.Messages(announceID)); n != 1 {
		t.Errorf("%d announce lines, want 1", n)
	}
	if issues := jiraFake.Issues(); len(issues) != 1 {
		t.Errorf("%d Jira tickets, want 1: %+v", len(issues), issues)
	}
	b.proc.stop(10 * time.Second)
}
