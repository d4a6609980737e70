package bot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/loadgen"
)

// slackConfig is the Slack part of the config the war-room tests run
// with: a rule with responders and a runbook, people and a user group in
// the fake workspace, and an announce channel.
const slackConfig = `
slack:
  announce_channel: reliability-alert
  responders: ["@sre-oncall", "carol@example.com", "nobody@example.com"]
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|ElevatedErrorRate|PodErrorRate|API error rate"}'
    value: {annotation: error_rate, grafana: B}
    threshold: "0.8%"
    incident_key: [service, env]
    severity: critical
    responders: ["U0DAVE001"]
    runbook: "{{.Annotations.runbook_url}}"
`

// workspace seeds the fake Slack as the config above expects it.
func workspace(t *testing.T) *slacktest.Server {
	t.Helper()
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	fake.AddUser("U0ALICE01", "alice", "alice@example.com")
	fake.AddUser("U0BOB0001", "bob", "bob@example.com")
	fake.AddUser("U0CAROL01", "carol", "carol@example.com")
	fake.AddUser("U0DAVE001", "dave", "dave@example.com")
	fake.AddUserGroup("S0ONCALL1", "sre-oncall", "U0ALICE01", "U0BOB0001")
	fake.AddChannel("reliability-alert", false, false)
	return fake
}

// startSlack runs warroom with the real Slack executor against fake.
func startSlack(t *testing.T, fake *slacktest.Server) *harness {
	t.Helper()
	return start(t, slackSettings(t, fake))
}

// slackSettings are the settings of startSlack.
func slackSettings(t *testing.T, fake *slacktest.Server) func(*config.Config) {
	t.Helper()
	parsed, err := config.Parse([]byte(slackConfig), "slack-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.AnnounceChannel, c.Slack.Responders = parsed.Slack.AnnounceChannel, parsed.Slack.Responders
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, fake.URL(), false
		c.Slack.SigningSecret = testSigningSecret
		// The fixtures' runbooks live there; alert links go only to allowed hosts.
		c.Links.AllowedHosts = []string{"runbooks.example.com"}
	}
}

const testSigningSecret = "test-signing-secret"

// command sends a signed /warroom command as Slack would and returns the
// reply's text.
func (h *harness) command(text string) string {
	h.t.Helper()
	if d := time.Until(h.now()).Abs(); d > 4*time.Minute {
		// slack-go checks the timestamp against the wall clock as well as
		// the server's: a signature cannot satisfy both.
		h.t.Fatalf("/warroom %s: the test clock is %s off the wall clock; Slack's signature window is 5m", text, d.Round(time.Second))
	}
	body := loadgen.CommandBody(text, int(h.seq.Add(1)))
	ts, sig := loadgen.SignSlack(testSigningSecret, body, h.now())
	r := h.post("/slack/commands", []byte(body), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
	if r.code != http.StatusOK {
		h.t.Fatalf("/warroom %s: HTTP %d %s", text, r.code, r.body)
	}
	return decodeJSON[struct{ Text string }](h.t, r).Text
}

// messagesOf returns a channel's messages with the metadata kind.
func messagesOf(fake *slacktest.Server, channelID, kind string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range fake.Messages(channelID) {
		if m.Metadata != nil && m.Metadata.EventType == kind {
			out = append(out, m)
		}
	}
	return out
}

// channelsFor returns the channels whose name has the service in it.
func channelsFor(fake *slacktest.Server, service string) []slacktest.Channel {
	var out []slacktest.Channel
	for _, c := range fake.Channels() {
		if strings.Contains(c.Name, "-"+service+"-") {
			out = append(out, c)
		}
	}
	return out
}

// ready reports that the war room of id is set up: channel, pinned
// summary, announce line, and no job left to run but the archive.
func (h *harness) ready(id string) bool {
	inc := h.incident(id)
	if inc.SlackChannelID == "" || inc.SummaryTS == "" {
		return false
	}
	for _, j := range inc.Jobs {
		if j.State != incident.JobDone && j.Kind != incident.JobSlackArchive && !strings.HasPrefix(string(j.Kind), "jira.") && j.Kind != incident.JobCorrelateGather {
			return false
		}
	}
	return true
}

// settled reports that every Slack step of id has run.
func (h *harness) settled(id string) bool {
	for _, j := range h.incident(id).Jobs {
		if strings.HasPrefix(string(j.Kind), "slack.") && j.Kind != incident.JobSlackArchive && j.State != incident.JobDone {
			return false
		}
	}
	return true
}

func blocksText(m slacktest.Message) string { return string(m.Blocks) }

func TestSlackWarRoom(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	h := startSlack(t, fake)

	eq(t, "opened", ids(h.deliver("alertmanager/firing-high-error-rate.json").Opened), "[INC-1]")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	inc := h.incident("INC-1")
	rooms := channelsFor(fake, "payment-gateway")
	if len(rooms) != 1 || rooms[0].ID != inc.SlackChannelID || rooms[0].Name != inc.SlackChannel {
		t.Fatalf("channels for payment-gateway %+v, incident has %s %s", rooms, inc.SlackChannelID, inc.SlackChannel)
	}
	room := rooms[0]
	for _, u := range []string{"U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001"} {
		if !strings.Contains(fmt.Sprint(room.Members), u) {
			t.Errorf("%s not invited: members %v", u, room.Members)
		}
	}
	if !strings.Contains(room.Topic, "INC-1") || !strings.Contains(room.Purpose, "INC-1") {
		t.Errorf("topic %q, purpose %q", room.Topic, room.Purpose)
	}
	var notInvited bool
	for _, e := range inc.Timeline {
		notInvited = notInvited || e.Kind == incident.EventStep && strings.Contains(e.Text, "nobody@example.com: users_not_found")
	}
	if !notInvited {
		t.Errorf("the responder Slack does not know is not on the timeline: %+v", inc.Timeline)
	}
	summaries := messagesOf(fake, room.ID, "warroom_summary")
	if len(summaries) != 1 || !summaries[0].Pinned || summaries[0].TS != inc.SummaryTS {
		t.Fatalf("summaries %+v, want one, pinned, ts %s", summaries, inc.SummaryTS)
	}
	if b := blocksText(summaries[0]); !strings.Contains(b, "3.11%") || !strings.Contains(b, "0.8%") {
		t.Errorf("summary does not show 3.11%% vs 0.8%%: %s", b)
	}
	var marked []string
	for _, b := range fake.Bookmarks(room.ID) {
		marked = append(marked, b.Title+" "+b.Link)
	}
	if len(marked) != 1 || marked[0] != "Runbook https://runbooks.example.com/high-error-rate" {
		t.Errorf("bookmarks %q, want the runbook (the only one of Jira, Grafana, Jaeger, runbook known)", marked)
	}
	announce, _ := fake.ChannelByName("reliability-alert")
	lines := messagesOf(fake, announce.ID, "warroom_announce")
	if len(lines) != 1 || !strings.Contains(lines[0].Text, "<#"+room.ID+">") {
		t.Fatalf("announce lines %+v, want one linking <#%s>", lines, room.ID)
	}

	// The pods' group attaches: the same summary is edited, and one
	// message says what changed.
	h.deliver("alertmanager/firing-pod-error-rate-3-alerts.json")
	h.waitFor("the summary to show the pods", func() bool {
		s := messagesOf(fake, room.ID, "warroom_summary")
		return len(s) == 1 && strings.Contains(blocksText(s[0]), "payment-gateway-2")
	})
	h.waitFor("the update to settle", func() bool { return h.settled("INC-1") })
	summary := messagesOf(fake, room.ID, "warroom_summary")[0]
	for _, want := range []string{"HighErrorRate", "payment-gateway-0", "payment-gateway-1", "payment-gateway-2"} {
		if !strings.Contains(blocksText(summary), want) {
			t.Errorf("summary lacks %s", want)
		}
	}
	if summary.Edits == 0 {
		t.Errorf("summary never edited")
	}
	changes := messagesOf(fake, room.ID, "warroom_change")
	if len(changes) != 1 || !strings.Contains(changes[0].Text, "3 alerts attached") {
		t.Errorf("change messages %+v, want one for the 3 attached alerts", changes)
	}

	// A repeat changes nothing; below the threshold nothing opens.
	calls := len(fake.Calls())
	h.deliver("alertmanager/repeat-high-error-rate.json")
	eq(t, "recorded", ids(h.deliver("alertmanager/firing-below-threshold.json").Recorded), "[INC-2]")
	h.settle() // a coalesced update would have run
	if got := fake.Calls()[calls:]; len(got) != 0 {
		t.Errorf("repeat and below-threshold called Slack: %+v", got)
	}
	if c := channelsFor(fake, "checkout"); len(c) != 0 {
		t.Errorf("channel for a below-threshold alert: %+v", c)
	}

	// All resolved: a resolution message, the summary shows it, and the
	// archive waits for archive_after.
	h.deliver("alertmanager/resolved-high-error-rate.json")
	eq(t, "resolved", ids(h.deliver("alertmanager/resolved-pod-error-rate.json").Resolved), "[INC-1]")
	h.waitFor("the resolution message", func() bool {
		for _, m := range messagesOf(fake, room.ID, "warroom_change") {
			if strings.Contains(m.Text, "resolved after") {
				return true
			}
		}
		return false
	})
	h.waitFor("the summary to show the resolve", func() bool {
		return strings.Contains(blocksText(messagesOf(fake, room.ID, "warroom_summary")[0]), "Resolved after")
	})
	var archive *incident.JobStatus
	for _, j := range h.incident("INC-1").Jobs {
		if j.Kind == incident.JobSlackArchive {
			archive = &j
		}
	}
	if archive == nil || archive.State != incident.JobPending || archive.RunAt.Sub(h.now()) < 23*time.Hour {
		t.Errorf("archive job %+v, want pending for ~24h", archive)
	}
	if lines := messagesOf(fake, announce.ID, "warroom_announce"); len(lines) != 1 || !strings.Contains(lines[0].Text, "resolved") {
		t.Errorf("announce line not updated to resolved: %+v", lines)
	}
	eq(t, "summaries in the end", len(messagesOf(fake, room.ID, "warroom_summary")), 1)
	eq(t, "payment-gateway channels in the end", len(channelsFor(fake, "payment-gateway")), 1)
}

// The same war room when Slack rate-limits the first create and fails the
// first post: the same end state, no duplicate, and the snooze counted.
func TestSlackWarRoomRidesOutFailures(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	fake.FailNext("conversations.create", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	fake.FailNext("chat.postMessage", slacktest.Fault{Status: http.StatusInternalServerError})
	h := startSlack(t, fake)

	h.deliver("alertmanager/firing-high-error-rate.json")
	h.deliver("alertmanager/firing-pod-error-rate-3-alerts.json")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	inc := h.incident("INC-1")
	eq(t, "channels", len(channelsFor(fake, "payment-gateway")), 1)
	eq(t, "creates", fake.CallCount("conversations.create"), 2)
	summaries := messagesOf(fake, inc.SlackChannelID, "warroom_summary")
	if len(summaries) != 1 || !summaries[0].Pinned || !strings.Contains(blocksText(summaries[0]), "payment-gateway-2") {
		t.Fatalf("summaries %+v, want one, pinned, with the pods", summaries)
	}
	announce, _ := fake.ChannelByName("reliability-alert")
	eq(t, "announce lines", len(messagesOf(fake, announce.ID, "warroom_announce")), 1)
	metrics := string(h.get("/metrics").body)
	if !strings.Contains(metrics, `warroom_job_runs_total{kind="slack.create_channel",outcome="snoozed"} 1`) {
		t.Errorf("snooze not in metrics:\n%s", grep(metrics, "warroom_job_runs_total"))
	}
	if !strings.Contains(metrics, `outcome="retry"} 1`) {
		t.Errorf("the failed post is not counted as a retry:\n%s", grep(metrics, "warroom_job_runs_total"))
	}
}

// Twenty deliveries of the same alert at once make one war room.
func TestSlackWarRoomConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	h := startSlack(t, fake)
	var wg sync.WaitGroup
	body := fixture(t, "alertmanager/firing-high-error-rate.json")
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.post("/api/v1/alerts/alertmanager", body, nil); r.code != http.StatusOK {
				t.Errorf("HTTP %d %s", r.code, r.body)
			}
		}()
	}
	wg.Wait()
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	eq(t, "incidents", len(h.list("?all=true")), 1)
	eq(t, "channels", len(channelsFor(fake, "payment-gateway")), 1)
	eq(t, "creates", fake.CallCount("conversations.create"), 1)
	eq(t, "summaries", len(messagesOf(fake, h.incident("INC-1").SlackChannelID, "warroom_summary")), 1)
}

// A channel name somebody else took makes the war room take the next
// number; one an earlier attempt of this incident made is adopted. The
// name keeps the day the incident opened, a second before midnight, though
// Slack's rate limit holds the create until the next day.
func TestSlackChannelNameTaken(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	fake.AddChannel("inc-20261126-payment-gateway-1", false, true) // archived, made by a person
	fake.FailNext("conversations.create", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	clock := clocktest.New(time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC))
	h := startOn(t, clock, slackSettings(t, fake))
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	if day := h.now().Format("20060102"); day != "20261127" {
		t.Errorf("the channel was made on %s; the test wants the day after the opening", day)
	}
	inc := h.incident("INC-1")
	eq(t, "channel", inc.SlackChannel, "inc-20261126-payment-gateway-2")
	eq(t, "channel in Slack", len(channelsFor(fake, "payment-gateway")), 2)
	var renamed bool
	for _, e := range inc.Timeline {
		renamed = renamed || strings.Contains(e.Text, "reserved instead of #inc-20261126-payment-gateway-1")
	}
	if !renamed {
		t.Errorf("the rename is not on the timeline: %+v", inc.Timeline)
	}
}

// A permanent Slack failure stops the step and shows on the incident.
func TestSlackPermanentFailureOnTimeline(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	fake.FailNext("conversations.create", slacktest.Fault{Error: "restricted_action"})
	h := startSlack(t, fake)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the failure on the incident", func() bool { return h.incident("INC-1").LastError != "" })
	inc := h.incident("INC-1")
	if !strings.Contains(inc.LastError, "slack.create_channel failed") || !strings.Contains(inc.LastError, "restricted_action") {
		t.Errorf("last error %q", inc.LastError)
	}
	eq(t, "creates", fake.CallCount("conversations.create"), 1)
	if status := h.command("status INC-1"); !strings.Contains(status, "slack.create_channel") || !strings.Contains(status, "restricted_action") {
		t.Errorf("/warroom status does not show the failed step:\n%s", status)
	}
	raw, _ := json.Marshal(inc)
	if strings.Contains(string(raw), slacktest.BotToken) {
		t.Errorf("the bot token leaked into the API: %s", raw)
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Slack did the call but its answer was lost: the retry finds what the
// first attempt made (the channel by name and creator, the messages by
// their metadata) and makes nothing twice.
func TestSlackLostAnswers(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	for _, m := range []string{"conversations.create", "chat.postMessage", "pins.add", "bookmarks.add", "conversations.invite"} {
		fake.FailNext(m, slacktest.Fault{Lost: true})
	}
	h := startSlack(t, fake)
	day := h.now().Format("20060102")
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	inc := h.incident("INC-1")
	eq(t, "channels", len(channelsFor(fake, "payment-gateway")), 1)
	eq(t, "channel adopted", inc.SlackChannel, "inc-"+day+"-payment-gateway-1")
	summaries := messagesOf(fake, inc.SlackChannelID, "warroom_summary")
	if len(summaries) != 1 || !summaries[0].Pinned {
		t.Fatalf("summaries %+v, want one, pinned", summaries)
	}
	eq(t, "bookmarks", len(fake.Bookmarks(inc.SlackChannelID)), 1)
	announce, _ := fake.ChannelByName("reliability-alert")
	eq(t, "announce lines", len(messagesOf(fake, announce.ID, "warroom_announce")), 1)
}

// archive_after after the resolve, the war room is archived; a resolve
// undone by a reopen archives nothing.
func TestSlackArchive(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	h := startSlack(t, fake) // archive_after: a day
	archived := func(id string) bool {
		for _, c := range fake.Channels() {
			if c.ID == h.incident(id).SlackChannelID {
				return c.Archived
			}
		}
		return false
	}
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.settle()
	if archived("INC-1") {
		t.Fatal("archived before archive_after")
	}
	h.advance(config.DefaultArchiveAfter)
	h.waitFor("the archive", func() bool { return archived("INC-1") })
	// The step records the archive after Slack made it.
	h.waitFor("the archive on the timeline", func() bool {
		for _, e := range h.incident("INC-1").Timeline {
			if e.Kind == incident.EventStep && strings.Contains(e.Text, "archived") {
				return true
			}
		}
		return false
	})

	// The search war room resolves and fires again before its archive:
	// the channel stays.
	h.deliver("alertmanager/firing-truncated.json")
	h.waitFor("INC-2's war room", func() bool { return h.ready("INC-2") && h.settled("INC-2") })
	resolved := strings.ReplaceAll(string(fixture(t, "alertmanager/firing-truncated.json")), `"status":"firing"`, `"status":"resolved"`)
	if r := h.post("/api/v1/alerts/alertmanager", []byte(resolved), nil); r.code != http.StatusOK {
		t.Fatalf("resolve: %d %s", r.code, r.body)
	}
	eq(t, "INC-2 resolved", h.incident("INC-2").State, incident.Resolved)
	h.deliver("alertmanager/firing-truncated.json")
	eq(t, "INC-2 reopened", h.incident("INC-2").State, incident.Triggered)
	h.settle()
	h.advance(config.DefaultArchiveAfter)
	h.waitFor("the stale archive to run", func() bool {
		for _, j := range h.incident("INC-2").Jobs {
			if j.Kind == incident.JobSlackArchive && j.State == incident.JobDone {
				return true
			}
		}
		return false
	})
	if archived("INC-2") {
		t.Errorf("a reopened war room was archived")
	}
}
