package bot_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// priorityChanges counts the requests that set a ticket's priority after
// it was filed.
func priorityChanges(fake *jiratest.Server) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Route == "PUT /rest/api/2/issue/{key}" && strings.Contains(c.Body, `"priority"`) {
			n++
		}
	}
	return n
}

// topicCalls returns the topics Slack was asked to set.
func topicCalls(fake *slacktest.Server) []string {
	var out []string
	for _, c := range fake.Calls() {
		if c.Method == "conversations.setTopic" {
			out = append(out, c.Params.Get("topic"))
		}
	}
	return out
}

// /warroom severity major on a critical incident: the ticket's priority
// and the channel's topic change, once each, and the summary and the
// timeline say it with the actor. The same level again changes nothing;
// an unknown level names the valid ones.
func TestSeverityFollowsToJiraAndTopic(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	is := h.ticket(t, jiraFake, "INC-1")
	eq(t, "priority of the critical incident's ticket", is.Priority, "Highest")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.jiraSettled("INC-1") })
	eq(t, "severity", h.incident("INC-1").Severity, incident.Critical)
	topicsBefore := len(topicCalls(slackFake))
	eq(t, "priority changes before", priorityChanges(jiraFake), 0)

	reply := h.command("severity INC-1 major")
	if !strings.Contains(reply, "from critical to major") {
		t.Errorf("reply %q does not say the change", reply)
	}
	h.waitFor("the change to reach Slack and Jira", func() bool { return h.settled("INC-1") && h.jiraSettled("INC-1") })

	inc := h.incident("INC-1")
	eq(t, "severity after", inc.Severity, incident.Major)
	is, _ = jiraFake.Issue(is.Key)
	eq(t, "priority after", is.Priority, "High")
	eq(t, "priority changes", priorityChanges(jiraFake), 1)
	topics := topicCalls(slackFake)[topicsBefore:]
	if len(topics) != 1 || !strings.Contains(topics[0], "| major |") {
		t.Errorf("topics set after the change: %q, want one with major", topics)
	}
	ch, _ := slackFake.ChannelByName(inc.SlackChannel)
	if !strings.Contains(ch.Topic, "| major |") {
		t.Errorf("channel topic %q", ch.Topic)
	}
	summary := messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")
	if len(summary) != 1 || !strings.Contains(blocksText(summary[0]), "major") {
		t.Errorf("the summary does not show the severity: %v", summary)
	}
	var changes []incident.Event
	for _, e := range inc.Timeline {
		if e.Kind == incident.EventSeverityChanged {
			changes = append(changes, e)
		}
	}
	if len(changes) != 1 || changes[0].Actor != "U0LOAD" || changes[0].Text != "critical → major" {
		t.Errorf("severity events %+v, want one by U0LOAD: critical → major", changes)
	}

	// The same level again: no event, no step, no call.
	jobs, events, calls := len(inc.Jobs), len(inc.Timeline), len(slackFake.Calls())+len(jiraFake.Calls())
	if reply := h.command("severity INC-1 MAJOR"); !strings.Contains(reply, "already major") {
		t.Errorf("reply to the same level: %q", reply)
	}
	h.settle()
	inc = h.incident("INC-1")
	eq(t, "jobs after the same level", len(inc.Jobs), jobs)
	eq(t, "events after the same level", len(inc.Timeline), events)
	eq(t, "calls after the same level", len(slackFake.Calls())+len(jiraFake.Calls()), calls)

	if reply := h.command("severity INC-1 sev1"); !strings.Contains(reply, `unknown severity "sev1" (valid: critical, major, minor)`) {
		t.Errorf("reply to an unknown level: %q", reply)
	}
	eq(t, "severity after an unknown level", h.incident("INC-1").Severity, incident.Major)
}

// The API sets the severity as the command does; a bad level is a 400
// that names the valid ones, and the same level again is answered 200
// with nothing written.
func TestSeverityAPI(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.settle()

	r := h.post("/api/v1/incidents/INC-1/severity", []byte(`{"actor":"alice","severity":"minor"}`), nil)
	eq(t, "set", r.code, http.StatusOK)
	v := h.incident("INC-1")
	eq(t, "severity", v.Severity, incident.Minor)
	last := v.Timeline[len(v.Timeline)-1]
	eq(t, "event", last.Kind, incident.EventSeverityChanged)
	eq(t, "actor", last.Actor, "api:alice")
	var kinds []incident.JobKind
	for _, j := range v.Jobs {
		kinds = append(kinds, j.Kind)
	}
	for _, k := range []incident.JobKind{incident.JobSlackUpdateTopic, incident.JobJiraSetPriority, incident.JobSlackUpdate} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s step among %v", k, kinds)
		}
	}
	h.settle()

	events, jobs := len(h.incident("INC-1").Timeline), len(h.incident("INC-1").Jobs)
	eq(t, "same again", h.post("/api/v1/incidents/INC-1/severity", []byte(`{"severity":"minor"}`), nil).code, http.StatusOK)
	eq(t, "events after the same level", len(h.incident("INC-1").Timeline), events)
	eq(t, "jobs after the same level", len(h.incident("INC-1").Jobs), jobs)

	for body, want := range map[string]string{
		`{"severity":"sev1"}`: `unknown severity \"sev1\" (valid: critical, major, minor)`,
		`{}`:                  `severity needs a \"severity\" (valid: critical, major, minor)`,
	} {
		r := h.post("/api/v1/incidents/INC-1/severity", []byte(body), nil)
		if r.code != http.StatusBadRequest || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s, want 400 with %s", body, r.code, r.body, want)
		}
	}
	eq(t, "severity after bad levels", h.incident("INC-1").Severity, incident.Minor)

	// A recorded incident has no war room: the timeline is all.
	h.deliver("alertmanager/firing-below-threshold.json")
	h.settle()
	rec := h.incident("INC-2")
	if rec.WarRoom {
		t.Fatal("INC-2 is a war room; want a recorded incident")
	}
	jobs = len(rec.Jobs)
	eq(t, "set on a recorded incident", h.post("/api/v1/incidents/INC-2/severity", []byte(`{"severity":"critical"}`), nil).code, http.StatusOK)
	rec = h.incident("INC-2")
	eq(t, "recorded incident's severity", rec.Severity, incident.Critical)
	eq(t, "recorded incident's last event", rec.Timeline[len(rec.Timeline)-1].Kind, incident.EventSeverityChanged)
	eq(t, "recorded incident's jobs", len(rec.Jobs), jobs)
}
