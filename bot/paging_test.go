package bot_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/pagerduty"
	"github.com/warroom/warroom/integrations/pagerduty/pagerdutytest"
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
