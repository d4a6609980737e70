package bot_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/pagerduty"
	"github.com/warroom/warroom/integrations/pagerduty/pagerdutytest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// startPaging runs warroom with real Slack, Jira and PagerDuty executors
// against their fakes; page is the rule's page key.
func startPaging(t *testing.T, page bool, mutate func(*config.Config)) (*harness, *pagerdutytest.Server) {
	t.Helper()
	slack := workspace(t)
	jira := jiratest.New()
	t.Cleanup(jira.Close)
	pd := pagerdutytest.New(t)
	h := start(t, jiraSettings(t, jira, "cloud", func(c *config.Config) {
		slackSettings(t, slack)(c)
		c.Rules[0].Page = page
		c.PagerDuty.RoutingKey, c.PagerDuty.URL = pagerdutytest.RoutingKey, pd.URL()
		if mutate != nil {
			mutate(c)
		}
	}))
	return h, pd
}

// count counts PagerDuty's accepted events of action for id.
func count(pd *pagerdutytest.Server, action, id string) int { return pd.Count(action, id) }

func TestPagingFollowsTheIncident(t *testing.T) {
	t.Parallel()
	h, pd := startPaging(t, true, nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the page", func() bool { return count(pd, pagerduty.Trigger, "INC-1") > 0 })
	h.settle()
	if n := count(pd, pagerduty.Trigger, "INC-1"); n != 1 {
		t.Fatalf("%d triggers, want 1", n)
	}
	v := h.incident("INC-1")
	e := pd.Events()[0]
	if e.Payload == nil || e.Payload.Severity != pagerduty.Critical || !strings.HasPrefix(e.Payload.Summary, "INC-1: ") || e.Payload.Source != "payment-gateway/prod" {
		t.Errorf("trigger payload = %+v", e.Payload)
	}
	if len(e.Links) != 2 || !strings.Contains(e.Links[0].Href, "channel="+v.SlackChannelID) || !strings.HasSuffix(e.Links[1].Href, "/browse/"+v.JiraKey) {
		t.Errorf("trigger links = %+v, want the war room %s and the ticket %s", e.Links, v.SlackChannelID, v.JiraKey)
	}
	if !strings.Contains(timelineText(v), "paged through PagerDuty") {
		t.Errorf("the page is not on the timeline: %s", timelineText(v))
	}

	eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.waitFor("the acknowledge", func() bool { return pd.Status("INC-1") == pagerdutytest.Acknowledged })
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.waitFor("the resolve", func() bool { return pd.Status("INC-1") == pagerdutytest.Resolved })
	h.settle()
	for _, a := range []string{pagerduty.Trigger, pagerduty.Acknowledge, pagerduty.Resolve} {
		if n := count(pd, a, "INC-1"); n != 1 {
			t.Errorf("%d events %s, want 1", n, a)
		}
	}
}

func TestNoPageWithoutPageInTheRule(t *testing.T) {
	t.Parallel()
	h, pd := startPaging(t, false, nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the ticket", func() bool { return h.incident("INC-1").JiraKey != "" })
	eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.settle()
	if calls := pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty got %d calls for a rule that does not page: %+v", len(calls), calls)
	}
	// The acknowledge and resolve steps ran and found nothing to follow.
	for _, j := range h.incident("INC-1").Jobs {
		if strings.HasPrefix(string(j.Kind), "pagerduty.") && j.State != incident.JobDone {
			t.Errorf("%s is %s, want done", j.Key, j.State)
		}
	}
}

// timelineText is the incident's timeline, one event a line.
func timelineText(v httpapi.IncidentView) string {
	var b strings.Builder
	for _, e := range v.Timeline {
		b.WriteString(string(e.Kind) + " " + e.Text + "\n")
	}
	return b.String()
}

// nudges counts the nudges Slack took, by channel.
func nudges(fake *slacktest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range fake.Calls() {
		if c.Method == "chat.postMessage" && strings.Contains(c.Params.Get("metadata"), "warroom_nudge") {
			out[c.Params.Get("channel")]++
		}
	}
	return out
}

// events counts the incident's timeline events of kind.
func events(v httpapi.IncidentView, kind incident.EventKind) int {
	n := 0
	for _, e := range v.Timeline {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestUnacknowledgedReminderNudgesAndPages(t *testing.T) {
	t.Parallel()
	h, pd, slack := startReminders(t, func(c *config.Config) {
		ack, off := config.Duration(2*time.Second), config.Duration(0)
		c.Reminders.AckWithin, c.Reminders.UpdateEvery = &ack, &off
	})
	opened := h.now()
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the page of the reminder", func() bool { return count(pd, pagerduty.Trigger, "INC-1") > 0 })
	h.settle()
	v := h.incident("INC-1")
	if n := count(pd, pagerduty.Trigger, "INC-1"); n != 1 {
		t.Errorf("%d triggers, want 1 (the rule does not page: the reminder's)", n)
	}
	if at := pd.Events()[0]; len(at.Links) != 2 {
		t.Errorf("the reminder's page links %+v, want the war room and the ticket", at.Links)
	}
	announce, ok := slack.ChannelByName("reliability-alert")
	got := nudges(slack)
	if !ok || len(got) != 2 || got[v.SlackChannelID] != 1 || got[announce.ID] != 1 {
		t.Errorf("nudges by channel = %v, want one in the war room %s and one in the announce channel %+v", got, v.SlackChannelID, announce)
	}
	if n := events(v, incident.EventNudgedAck); n != 1 {
		t.Errorf("%d nudge events, want 1", n)
	}
	if h.now().Sub(opened) < 2*time.Second {
		t.Errorf("nudged %v after the opening, before ack_within", h.now().Sub(opened))
	}

	eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.waitFor("the acknowledge", func() bool { return pd.Status("INC-1") == pagerdutytest.Acknowledged })
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.waitFor("the resolve", func() bool { return pd.Status("INC-1") == pagerdutytest.Resolved })
	h.settle()
	for _, a := range []string{pagerduty.Trigger, pagerduty.Acknowledge, pagerduty.Resolve} {
		if n := count(pd, a, "INC-1"); n != 1 {
			t.Errorf("%d events %s, want 1", n, a)
		}
	}
}

func TestReminderDoesNothingOnceAcknowledged(t *testing.T) {
	t.Parallel()
	h, pd, slack := startReminders(t, func(c *config.Config) {
		ack, off := config.Duration(2*time.Second), config.Duration(0)
		c.Reminders.AckWithin, c.Reminders.UpdateEvery = &ack, &off
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.settle()
	if h.clock.Now().Before(h.incident("INC-1").OpenedAt.Add(2 * time.Second)) {
		t.Fatalf("the clock did not pass ack_within; jobs:\n%s", h.describeJobs())
	}
	if got := nudges(slack); len(got) != 0 || len(pd.Calls()) != 0 {
		t.Errorf("an acknowledged incident was nudged %v and paged %d times", got, len(pd.Calls()))
	}
	for _, j := range h.incident("INC-1").Jobs {
		if j.Kind == incident.JobRemindAck && j.State != incident.JobDone {
			t.Errorf("%s is %s, want done", j.Key, j.State)
		}
	}
}

func TestUpdateReminderNudgesTheCommanderUntilResolved(t *testing.T) {
	t.Parallel()
	h, _, slack := startReminders(t, func(c *config.Config) {
		every, off := config.Duration(time.Minute), config.Duration(0)
		c.Reminders.AckWithin, c.Reminders.UpdateEvery = &off, &every
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	eq(t, "assign", h.post("/api/v1/incidents/INC-1/assign", []byte(`{"actor":"alice","user":"U0ALICE01","role":"commander"}`), nil).code, http.StatusOK)
	h.waitFor("the update nudge", func() bool { return events(h.incident("INC-1"), incident.EventNudgedUpdate) > 0 })
	v := h.incident("INC-1")
	h.waitFor("the nudge in Slack", func() bool { return nudges(slack)[v.SlackChannelID] > 0 })
	var text string
	for _, c := range slack.Calls() {
		if strings.Contains(c.Params.Get("metadata"), "warroom_nudge") {
			text = c.Params.Get("text")
		}
	}
	if !strings.Contains(text, "<@U0ALICE01>") || !strings.Contains(text, "no status update for 1m") {
		t.Errorf("the nudge says %q, want the commander and the quiet time", text)
	}
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
	h.settle() // the reminders stop: settle would not end while a round rescheduled itself
	n := events(h.incident("INC-1"), incident.EventNudgedUpdate)
	h.advance(time.Hour)
	h.settle()
	if m := events(h.incident("INC-1"), incident.EventNudgedUpdate); m != n {
		t.Errorf("nudged %d times after the resolve", m-n)
	}
}

// startReminders is startPaging with a rule that does not page, and the
// fake Slack too.
func startReminders(t *testing.T, mutate func(*config.Config)) (*harness, *pagerdutytest.Server, *slacktest.Server) {
	t.Helper()
	slack := workspace(t)
	jira := jiratest.New()
	t.Cleanup(jira.Close)
	pd := pagerdutytest.New(t)
	h := start(t, jiraSettings(t, jira, "cloud", func(c *config.Config) {
		slackSettings(t, slack)(c)
		c.PagerDuty.RoutingKey, c.PagerDuty.URL = pagerdutytest.RoutingKey, pd.URL()
		mutate(c)
	}))
	return h, pd, slack
}

// simulate shows the page of a rule that pages, and names no routing key.
func TestSimulateShowsThePage(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(slackConfig), "simulate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PagerDuty.RoutingKey = pagerdutytest.RoutingKey
	var msg payload.Message
	if err := json.Unmarshal(fixture(t, "alertmanager/firing-high-error-rate.json"), &msg); err != nil {
		t.Fatal(err)
	}
	pages := func(page bool) (n int, shown string) {
		cfg.Rules[0].Page = page
		set, err := cfg.RuleSet()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range bot.Simulate(cfg, set, &msg, incident.SourceAlertmanager, time.Now()) {
			for _, c := range a.Calls {
				raw, _ := json.Marshal(c)
				shown += string(raw)
				if c.Step == incident.JobPageTrigger && c.System == steps.SystemPagerDuty {
					n++
				}
			}
		}
		return n, shown
	}
	if n, _ := pages(false); n != 0 {
		t.Errorf("a rule without page: %d pages simulated", n)
	}
	n, shown := pages(true)
	if n == 0 {
		t.Error("a rule with page: true: no page simulated")
	}
	if strings.Contains(shown, pagerdutytest.RoutingKey) {
		t.Error("simulate shows the routing key")
	}
}

// With the incident page's links signed, a page links it too, after the
// war room and the ticket: the responder paged at 3 a.m. opens it from
// PagerDuty.
func TestPageLinksTheIncidentPage(t *testing.T) {
	t.Parallel()
	h, pd := startPaging(t, true, func(c *config.Config) {
		c.PublicURL = pageBase
		c.IncidentPage.SigningKey = pageKey
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the page", func() bool { return count(pd, pagerduty.Trigger, "INC-1") > 0 })
	e := pd.Events()[0]
	if len(e.Links) != 3 || !strings.HasPrefix(e.Links[2].Href, pageBase+"/incidents/INC-1?exp=") || e.Links[2].Text != "Incident page INC-1" {
		t.Errorf("trigger links = %+v, want the war room, the ticket and the signed incident page", e.Links)
	}
}
