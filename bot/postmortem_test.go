package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/render/postmortem"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/loadgen"
)

// postmortemSettings run warroom with Slack and Jira real against the
// fakes, the correlation tests' rule (a rollback command) and compare
// URL, and links allowed to the deploys' hosts.
func postmortemSettings(t *testing.T, slackFake *slacktest.Server, jiraFake *jiratest.Server, mutate func(*config.Config)) func(*config.Config) {
	t.Helper()
	parsed, err := config.Parse([]byte(correlationConfig), "postmortem.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return jiraSettings(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.Deploys.CompareURL = "https://github.com/example/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"
		c.Links.AllowedHosts = []string{"runbooks.example.com", "github.com", "ci.example.com"}
		if mutate != nil {
			mutate(c)
		}
	})
}

// The demo's deploy history: the target 0a1b2c3 by carol three hours
// before the fixture's alert, the suspect 9f8e7d6 by alice 12 minutes
// before.
func (h *harness) recordDemoDeploys() {
	h.t.Helper()
	old := fixtureStart.Add(-3 * time.Hour).Format(time.RFC3339)
	recent := fixtureStart.Add(-12 * time.Minute).Format(time.RFC3339)
	for _, body := range []string{
		`{"service":"payment-gateway","env":"prod","sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"carol","finished_at":"` + old + `"}`,
		`{"service":"payment-gateway","env":"prod","sha":"9f8e7d6c5b4a39281706f5e4d3c2b1a098765432","previous_sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"alice","url":"https://ci.example.com/runs/7","finished_at":"` + recent + `"}`,
	} {
		if r := h.deploy(body); r.code != http.StatusCreated {
			h.t.Fatalf("record deploy: %d %s", r.code, r.body)
		}
	}
}

// postmortemOf reads GET /api/v1/incidents/{id}/postmortem.
func (h *harness) postmortemOf(id string) string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/incidents/"+id+"/postmortem", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/markdown; charset=utf-8" {
		h.t.Fatalf("GET %s/postmortem: HTTP %d %q %s (%v)", id, resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}
	return string(body)
}

// clickRollback presses the summary's Roll back button as user, as Slack
// sends it.
func (h *harness) clickRollback(user, id string) {
	h.t.Helper()
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": user},
		"response_url": "https://hooks.slack.com/actions/T1/1/x", "trigger_id": "t1",
		"actions": []map[string]string{{"action_id": slackmsg.ActionRollback, "value": id, "type": "button", "block_id": "summary_actions"}}})
	form := "payload=" + url.QueryEscape(string(payload))
	ts, sig := loadgen.SignSlack(testSigningSecret, form, h.now())
	if r := h.post("/slack/interactions", []byte(form), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}); r.code != http.StatusOK {
		h.t.Fatalf("Roll back: %d %s", r.code, r.body)
	}
}

// firstStart is when the incident's first alert started.
func firstStart(v httpapi.IncidentView) time.Time {
	t := v.OpenedAt
	for _, a := range v.Alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(t) {
			t = a.StartsAt
		}
	}
	return t
}

// postmortemDone reports that the postmortem steps of each resolve of id
// are done.
func (h *harness) postmortemDone(id string) bool {
	v := h.incident(id)
	resolves, n := 0, 0
	for _, e := range v.Timeline {
		if e.Kind == incident.EventResolved {
			resolves++
		}
	}
	for _, j := range v.Jobs {
		if j.Kind == incident.JobSlackPostmortem || j.Kind == incident.JobJiraPostmortem {
			if j.State != incident.JobDone {
				return false
			}
			n++
		}
	}
	return resolves > 0 && n == 2*resolves
}

// filesShared are the files of the bot's messages in a channel.
func filesShared(fake *slacktest.Server, channelID string) []string {
	var out []string
	for _, m := range fake.Messages(channelID) {
		if m.User == slacktest.BotUserID {
			out = append(out, m.Files...)
		}
	}
	return out
}

// After the fixture's alert with the demo's deploys recorded, an
// acknowledge, a note, a rollback asked for and the resolve, the
// postmortem of INC-1 has its times, the suspect deploy 9f8e7d6 and the
// target 0a1b2c3, and the timeline; it is in the war room as a file and
// on the ticket as an attachment, the same draft.
func TestPostmortem(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	h := start(t, postmortemSettings(t, slackFake, jiraFake, nil))
	h.recordDemoDeploys()

	eq(t, "opened", ids(h.deliver("alertmanager/firing-high-error-rate.json").Opened), "[INC-1]")
	ticket := h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	opened := h.incident("INC-1").OpenedAt
	h.advance(3 * time.Minute)
	eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	eq(t, "note", h.post("/api/v1/incidents/INC-1/note", []byte(`{"actor":"bob","text":"pool saturated since the deploy"}`), nil).code, http.StatusOK)
	h.clickRollback("U0ALICE01", "INC-1") // within Slack's 5 minutes of the wall clock
	h.settle()
	h.advance(30 * time.Minute)
	eq(t, "resolved", ids(h.deliver("alertmanager/resolved-high-error-rate.json").Resolved), "[INC-1]")
	h.waitFor("the postmortem in the war room and on the ticket", func() bool { return h.postmortemDone("INC-1") })

	v := h.incident("INC-1")
	resolvedBy := lastEvent(v, incident.EventResolved)
	md := h.postmortemOf("INC-1")
	at := func(t time.Time) string { return t.UTC().Format(postmortem.TimeLayout) }
	for _, want := range []string{
		"# Postmortem: INC-1 ",
		"| Service | payment-gateway |",
		"| Started (first alert) | " + at(firstStart(v)) + " | |",
		"| Detected (war room opened) | " + at(opened) + " |",
		"| Acknowledged | " + at(*v.AcknowledgedAt) + " | time to acknowledge: 3m |",
		"| Resolved | " + at(*v.ResolvedAt) + " | time to resolve: 33m |",
		"- Peak: 3.11% vs 0.8% threshold",
		"- **9f8e7d6** of payment-gateway (prod) by alice",
		"12m before the alert ([deploy](https://ci.example.com/runs/7))",
		"- Diff: [0a1b2c3…9f8e7d6](https://github.com/example/payment-gateway/compare/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567...9f8e7d6c5b4a39281706f5e4d3c2b1a098765432)",
		"- Last good revision (the rollback target): **0a1b2c3** by carol",
		"```\nargocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567\n```",
		"- Rollback requested by U0ALICE01 at ",
		"· **Opened** · an alert · opened by rule api-error-rate",
		"· **Acknowledged** · api:alice\n",
		"· **Note** · api:bob · pool saturated since the deploy\n",
		"· **Resolved** · an alert · all alerts resolved\n",
		"## Root cause\n\n_To be written._",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the postmortem lacks %q:\n%s", want, md)
		}
	}

	// In the war room: one file, named for the resolve, shared by the bot.
	name := fmt.Sprintf("INC-1-postmortem-%d.md", resolvedBy)
	files := slackFake.Files()
	if len(files) != 1 || files[0].Name != name || !files[0].Completed || len(files[0].Channels) != 1 || files[0].Channels[0] != v.SlackChannelID {
		t.Fatalf("files in Slack %+v, want %s shared in %s", files, name, v.SlackChannelID)
	}
	if shared := filesShared(slackFake, v.SlackChannelID); len(shared) != 1 || shared[0] != files[0].ID {
		t.Errorf("files shared in the war room: %v", shared)
	}
	draft := string(files[0].Content)
	for _, want := range []string{"**9f8e7d6**", "**0a1b2c3**", "· **Resolved** · an alert", "| Acknowledged | " + at(*v.AcknowledgedAt)} {
		if !strings.Contains(draft, want) {
			t.Errorf("the war room's draft lacks %q:\n%s", want, draft)
		}
	}
	// On the ticket: the same draft, under the same name.
	is, _ := jiraFake.Issue(ticket.Key)
	if len(is.Attachments) != 1 || is.Attachments[0].Filename != name || string(is.Attachments[0].Content) != draft {
		t.Errorf("the ticket's attachments %+v, want the war room's draft as %s", is.Attachments, name)
	}
	// Both steps say so on the timeline.
	var said []string
	for _, e := range h.incident("INC-1").Timeline {
		if strings.HasPrefix(e.Text, "postmortem draft ") {
			said = append(said, e.Text)
		}
	}
	if len(said) != 2 {
		t.Errorf("timeline: %q, want the draft posted in the war room and attached to %s", said, ticket.Key)
	}

	eq(t, "unknown incident", h.get("/api/v1/incidents/INC-99/postmortem").code, http.StatusNotFound)
	eq(t, "bad ID", h.get("/api/v1/incidents/nope/postmortem").code, http.StatusBadRequest)
	req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/incidents/INC-1/postmortem", nil)
	eq(t, "without the token", h.do(req).code, http.StatusUnauthorized)
}

// An incident that reopens and resolves again gets a second draft, named
// for its second resolve; the first resolve's steps, run late, post
// nothing once it has reopened.
func TestPostmortemPerResolve(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	h := start(t, postmortemSettings(t, slackFake, jiraFake, nil))
	h.deliver("alertmanager/firing-high-error-rate.json")
	key := h.ticket(t, jiraFake, "INC-1").Key
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.waitFor("the first draft", func() bool { return h.postmortemDone("INC-1") })
	first := lastEvent(h.incident("INC-1"), incident.EventResolved)

	// Fires again within reopen_window: the incident reopens.
	firing := fixture(t, "alertmanager/firing-high-error-rate.json")
	refire := strings.Replace(string(firing), `"startsAt":"2026-11-26T04:24:38.185Z"`, `"startsAt":"2026-11-26T04:30:00Z"`, 1)
	r := h.post("/api/v1/alerts/alertmanager", []byte(refire), nil)
	eq(t, "reopened", ids(decodeJSON[webhookReply](t, r).Reopened), "[INC-1]")
	// The ticket reopens first: two transitions of one ticket at once
	// race (the resolve's may list the transitions of the status before
	// the reopen's), which is not this test's subject.
	h.waitFor("the ticket to reopen", func() bool { return h.jiraSettled("INC-1") })
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", []byte(`{"actor":"alice","text":"rolled back"}`), nil).code, http.StatusOK)
	second := lastEvent(h.incident("INC-1"), incident.EventResolved)
	h.waitFor("the second draft", func() bool { return h.postmortemDone("INC-1") })

	var names []string
	for _, f := range slackFake.Files() {
		names = append(names, f.Name)
	}
	want := fmt.Sprintf("[INC-1-postmortem-%d.md INC-1-postmortem-%d.md]", first, second)
	eq(t, "files in the war room", fmt.Sprint(names), want)
	is, _ := jiraFake.Issue(key)
	names = nil
	for _, a := range is.Attachments {
		names = append(names, a.Filename)
	}
	eq(t, "attachments", fmt.Sprint(names), want)
	if last := string(is.Attachments[1].Content); !strings.Contains(last, "· **Reopened** ·") || !strings.Contains(last, "rolled back") {
		t.Errorf("the second draft lacks the reopen and the second resolve:\n%s", last)
	}
}

// A run killed between the calls of an upload, or after the attachment
// reached Jira, is run again by the next life of warroom on the same
// store: the war room and the ticket get the draft once. Killed before
// files.completeUploadExternal, the first upload was never shared
// (Slack discards it) and the second run uploads again; killed after it,
// the second run finds the file by its name and uploads nothing.
func TestPostmortemRunKilled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// fail hangs one call after it took effect; took says it has.
		fail  func(s *slacktest.Server, j *jiratest.Server)
		took  func(s *slacktest.Server, j *jiratest.Server, key string) bool
		files int    // files Slack holds in the end, shared or not (0: either, as the kill finds the Slack step)
		said  string // what the second run put on the timeline
	}{
		{"after files.getUploadURLExternal", func(s *slacktest.Server, _ *jiratest.Server) {
			s.FailNext("files.getUploadURLExternal", slacktest.Fault{Lost: true, Hang: true})
		}, func(s *slacktest.Server, _ *jiratest.Server, _ string) bool { return len(s.Files()) == 1 }, 2, "posted in the war room"},
		{"after the upload", func(s *slacktest.Server, _ *jiratest.Server) {
			s.FailNext(slacktest.Upload, slacktest.Fault{Lost: true, Hang: true})
		}, func(s *slacktest.Server, _ *jiratest.Server, _ string) bool {
			f := s.Files()
			return len(f) == 1 && f[0].Content != nil
		}, 2, "posted in the war room"},
		{"after files.completeUploadExternal", func(s *slacktest.Server, _ *jiratest.Server) {
			s.FailNext("files.completeUploadExternal", slacktest.Fault{Lost: true, Hang: true})
		}, func(s *slacktest.Server, _ *jiratest.Server, _ string) bool {
			f := s.Files()
			return len(f) == 1 && f[0].Completed
		}, 1, "found (posted by an earlier run) in the war room"},
		{"after the attachment", func(_ *slacktest.Server, j *jiratest.Server) {
			j.FailNext(jiraAttachRoute, jiratest.Fault{Lost: true, Hang: true})
		}, func(_ *slacktest.Server, j *jiratest.Server, key string) bool {
			is, _ := j.Issue(key)
			return len(is.Attachments) == 1
		}, 0, "found (attached by an earlier run) on OPS-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			slackFake := workspace(t)
			jiraFake := jiratest.New()
			t.Cleanup(jiraFake.Close)
			dir := t.TempDir()
			settings := postmortemSettings(t, slackFake, jiraFake, func(c *config.Config) {
				c.Storage.DSN = filepath.Join(dir, "warroom.db")
				c.DryRunLog = filepath.Join(dir, "dryrun.jsonl")
				c.Jobs.ShutdownGrace = config.Duration(time.Millisecond) // the kill cuts the hung call short
			})
			clock := newClock() // the second life goes on where the first stopped
			h := startOn(t, clock, settings)
			h.deliver("alertmanager/firing-high-error-rate.json")
			key := h.ticket(t, jiraFake, "INC-1").Key
			h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") && h.jiraSettled("INC-1") })

			tc.fail(slackFake, jiraFake)
			h.deliver("alertmanager/resolved-high-error-rate.json")
			h.waitFor("the call to take effect and hang", func() bool { return tc.took(slackFake, jiraFake, key) })
			h.stop() // killed in the middle of the step

			h2 := startOn(t, clock, settings)
			h2.waitFor("the postmortem in the war room and on the ticket", func() bool { return h2.postmortemDone("INC-1") })
			v := h2.incident("INC-1")
			name := fmt.Sprintf("INC-1-postmortem-%d.md", lastEvent(v, incident.EventResolved))
			shared := filesShared(slackFake, v.SlackChannelID)
			if len(shared) != 1 {
				t.Fatalf("files shared in the war room: %v, want one", shared)
			}
			var names []string
			for _, f := range slackFake.Files() {
				names = append(names, f.Name)
				if f.ID == shared[0] && (f.Name != name || !strings.HasPrefix(string(f.Content), "# Postmortem: INC-1 ")) {
					t.Errorf("the shared file %+v, want the draft %s", f, name)
				}
			}
			if tc.files > 0 {
				eq(t, "files Slack holds", len(names), tc.files)
			}
			eq(t, "completes", slackFake.CallCount("files.completeUploadExternal"), 1)
			is, _ := jiraFake.Issue(key)
			if len(is.Attachments) != 1 || is.Attachments[0].Filename != name {
				t.Errorf("attachments %+v, want one %s", is.Attachments, name)
			}
			var said []string
			for _, e := range v.Timeline {
				if strings.HasPrefix(e.Text, "postmortem draft ") {
					said = append(said, e.Text)
				}
			}
			if !strings.Contains(strings.Join(said, "\n"), name+" "+tc.said) {
				t.Errorf("timeline %q, want %q", said, name+" "+tc.said)
			}
		})
	}
}

// jiraAttachRoute is the route of Jira's attachments, as FailNext names it.
const jiraAttachRoute = "POST /rest/api/2/issue/{key}/attachments"
