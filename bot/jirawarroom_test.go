package bot_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// startJira runs warroom with the real Jira executor against fake, in the
// fake's deployment mode; Slack stays in dry run.
func startJira(t *testing.T, fake *jiratest.Server, mode string, mutate func(*config.Config)) *harness {
	t.Helper()
	return start(t, jiraSettings(t, fake, mode, mutate))
}

// jiraSettings are the settings of startJira, then mutate.
func jiraSettings(t *testing.T, fake *jiratest.Server, mode string, mutate func(*config.Config)) func(*config.Config) {
	t.Helper()
	parsed, err := config.Parse([]byte(slackConfig), "jira-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Jira.URL, c.Jira.Deployment, c.Jira.DryRun = fake.URL(), mode, false
		if mode == "datacenter" {
			c.Jira.Auth.PersonalAccessToken = jiratest.DefaultPAT
		} else {
			c.Jira.Auth.Email, c.Jira.Auth.APIToken = jiratest.DefaultEmail, jiratest.DefaultAPIToken
		}
		c.Jira.Project, c.Jira.IssueType, c.Jira.Labels = "OPS", "Incident", []string{"warroom"}
		c.Jira.IndexLag = config.Duration(time.Second)
		c.Slack.SigningSecret = testSigningSecret
		// The fixtures' runbooks live there; alert links go only to allowed hosts.
		c.Links.AllowedHosts = []string{"runbooks.example.com"}
		if mutate != nil {
			mutate(c)
		}
	}
}

// ticket waits for the incident's Jira key and returns the fake's issue.
func (h *harness) ticket(t *testing.T, fake *jiratest.Server, id string) jiratest.Issue {
	t.Helper()
	h.waitFor(id+"'s ticket", func() bool { return h.incident(id).JiraKey != "" })
	is, ok := fake.Issue(h.incident(id).JiraKey)
	if !ok {
		t.Fatalf("%s's ticket %s is not in Jira", id, h.incident(id).JiraKey)
	}
	return is
}

// jiraSettled reports that every Jira step of id has run.
func (h *harness) jiraSettled(id string) bool {
	for _, j := range h.incident(id).Jobs {
		if strings.HasPrefix(string(j.Kind), "jira.") && j.State != incident.JobDone {
			return false
		}
	}
	return true
}

func TestJiraTicket(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"cloud", "datacenter"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			fake := jiratest.New(jiratest.WithDeployment(mode))
			t.Cleanup(fake.Close)
			h := startJira(t, fake, mode, nil)

			h.deliver("alertmanager/firing-high-error-rate.json")
			is := h.ticket(t, fake, "INC-1")
			eq(t, "priority", is.Priority, "Highest")
			eq(t, "issue type", is.IssueType, "Incident")
			if !strings.HasPrefix(is.Summary, "[INC-1] ") || !strings.Contains(is.Summary, "payment-gateway") {
				t.Errorf("summary %q", is.Summary)
			}
			for _, l := range []string{"warroom", "warroom-inc-1", "payment-gateway"} {
				if !strings.Contains(strings.Join(is.Labels, " "), l) {
					t.Errorf("labels %v lack %s", is.Labels, l)
				}
			}
			for _, want := range []string{"3.11%", "0.8%", "Rollback suggestion", "no deploy in the last 2h: warroom suggests no rollback", "https://runbooks.example.com/high-error-rate"} {
				if !strings.Contains(is.Description, want) {
					t.Errorf("description lacks %q:\n%s", want, is.Description)
				}
			}

			h.deliver("alertmanager/firing-pod-error-rate-3-alerts.json")
			h.deliver("alertmanager/firing-below-threshold.json")
			h.deliver("alertmanager/resolved-high-error-rate.json")
			h.deliver("alertmanager/resolved-pod-error-rate.json")
			h.waitFor("the ticket to close", func() bool {
				is, _ := fake.Issue(is.Key)
				return is.Status == "Done" && h.jiraSettled("INC-1")
			})
			is, _ = fake.Issue(is.Key)
			eq(t, "resolution", is.Resolution, "Done")
			var closing bool
			for _, c := range is.Comments {
				closing = closing || strings.Contains(c.Body, "resolved after")
			}
			if !closing {
				t.Errorf("no closing comment with the duration: %+v", is.Comments)
			}
			eq(t, "tickets (none for checkout)", len(fake.Issues()), 1)

			// Fired again within reopen_window: the same ticket reopens.
			h.deliver("alertmanager/firing-high-error-rate.json")
			eq(t, "reopened", h.incident("INC-1").State, incident.Triggered)
			h.waitFor("the ticket to reopen", func() bool {
				is, _ := fake.Issue(is.Key)
				return is.Status == "To Do" && h.jiraSettled("INC-1")
			})
			is, _ = fake.Issue(is.Key)
			eq(t, "resolution after reopen", is.Resolution, "")
			eq(t, "tickets after reopen", len(fake.Issues()), 1)
			seen := map[string]int{}
			for _, c := range is.Comments {
				seen[c.Body]++
				if seen[c.Body] > 1 {
					t.Errorf("comment twice: %q", c.Body)
				}
			}
		})
	}
}

// Jira rate-limits, then fails, the first two creates; twenty deliveries
// of the alert arrive at once; a create's answer is lost. Still one
// ticket each time.
func TestJiraOneTicket(t *testing.T) {
	t.Parallel()
	t.Run("429 then 500", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New()
		t.Cleanup(fake.Close)
		fake.FailNext("POST /rest/api/2/issue", jiratest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
		fake.FailNext("POST /rest/api/2/issue", jiratest.Fault{Status: http.StatusInternalServerError})
		h := startJira(t, fake, "cloud", nil)
		h.deliver("alertmanager/firing-high-error-rate.json")
		h.ticket(t, fake, "INC-1")
		eq(t, "tickets", len(fake.Issues()), 1)
		eq(t, "creates", fake.CallCount(http.MethodPost, "/rest/api/2/issue"), 3)
		metrics := string(h.get("/metrics").body)
		// The 429 snoozes (nothing was filed); the 500 is a retry that
		// spends its attempt (something may have been filed, so the next
		// attempt searches first).
		var snoozed, retried int
		if _, err := fmt.Sscanf(grep(metrics, `warroom_job_runs_total{kind="jira.create_issue",outcome="snoozed"}`),
			`warroom_job_runs_total{kind="jira.create_issue",outcome="snoozed"} %d`, &snoozed); err != nil || snoozed < 1 {
			t.Errorf("snooze not counted (%d, %v):\n%s", snoozed, err, grep(metrics, "jira.create_issue"))
		}
		if _, err := fmt.Sscanf(grep(metrics, `warroom_job_runs_total{kind="jira.create_issue",outcome="retry"}`),
			`warroom_job_runs_total{kind="jira.create_issue",outcome="retry"} %d`, &retried); err != nil || retried != 1 {
			t.Errorf("retry not counted (%d, %v):\n%s", retried, err, grep(metrics, "jira.create_issue"))
		}
		if n := searchCount(t, fake); n != 1 {
			t.Errorf("searches %d, want 1 (only the attempt after the 500 searches)", n)
		}
	})
	t.Run("20 concurrent deliveries", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New()
		t.Cleanup(fake.Close)
		h := startJira(t, fake, "cloud", nil)
		body := fixture(t, "alertmanager/firing-high-error-rate.json")
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.post("/api/v1/alerts/alertmanager", body, nil); r.code != http.StatusOK {
					t.Errorf("HTTP %d", r.code)
				}
			}()
		}
		wg.Wait()
		h.ticket(t, fake, "INC-1")
		eq(t, "tickets", len(fake.Issues()), 1)
	})
	t.Run("lost answer, search lag", func(t *testing.T) {
		t.Parallel()
		// Jira's index and warroom's wait for it on one clock.
		clock := newClock()
		fake := jiratest.New(jiratest.WithSearchLag(500*time.Millisecond), jiratest.WithClock(clock.Now))
		t.Cleanup(fake.Close)
		fake.FailNext("POST /rest/api/2/issue", jiratest.Fault{Lost: true})
		h := startOn(t, clock, jiraSettings(t, fake, "cloud", nil))
		h.deliver("alertmanager/firing-high-error-rate.json")
		is := h.ticket(t, fake, "INC-1")
		eq(t, "tickets", len(fake.Issues()), 1)
		eq(t, "creates", fake.CallCount(http.MethodPost, "/rest/api/2/issue"), 1)
		eq(t, "adopted", is.Key, "OPS-1")
	})
}

// An unknown custom field is Jira's 400: it shows on the incident and in
// /warroom status, and the step is not retried.
func TestJiraPermanentFailure(t *testing.T) {
	t.Parallel()
	fake := jiratest.New()
	t.Cleanup(fake.Close)
	h := startJira(t, fake, "cloud", func(c *config.Config) { c.Jira.Fields = map[string]any{"customfield_10010": "payments"} })
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("the failure on the incident", func() bool { return strings.Contains(h.incident("INC-1").LastError, "jira.create_issue") })
	inc := h.incident("INC-1")
	if !strings.Contains(inc.LastError, "customfield_10010: Field 'customfield_10010' cannot be set") {
		t.Errorf("last error %q does not carry Jira's field error", inc.LastError)
	}
	if status := h.command("status INC-1"); !strings.Contains(status, "customfield_10010") {
		t.Errorf("/warroom status does not show it:\n%s", status)
	}
	h.settle()
	eq(t, "creates", fake.CallCount(http.MethodPost, "/rest/api/2/issue"), 1)
	eq(t, "tickets", len(fake.Issues()), 0)
}

// A key that fires again after reopen_window gets a new incident and a
// new ticket, linked to the old one.
func TestJiraNewTicketLinksOld(t *testing.T) {
	t.Parallel()
	fake := jiratest.New()
	t.Cleanup(fake.Close)
	h := startJira(t, fake, "cloud", func(c *config.Config) { c.ReopenWindow = config.Duration(time.Second) })
	h.deliver("alertmanager/firing-high-error-rate.json")
	first := h.ticket(t, fake, "INC-1")
	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.waitFor("the first ticket to close", func() bool { is, _ := fake.Issue(first.Key); return is.Status == "Done" })
	h.advance(1100 * time.Millisecond) // past reopen_window
	refire := strings.ReplaceAll(string(fixture(t, "alertmanager/firing-high-error-rate.json")), "afb663c01ce7e058", "afb663c01ce7e059")
	if r := h.post("/api/v1/alerts/alertmanager", []byte(refire), nil); r.code != http.StatusOK {
		t.Fatalf("refire: %d %s", r.code, r.body)
	}
	second := h.ticket(t, fake, "INC-2")
	if second.Key == first.Key {
		t.Fatalf("the new incident reused %s", first.Key)
	}
	// The key is stored before the link is made: the link is there once
	// the step is done.
	h.waitFor("INC-2's Jira steps", func() bool { return h.jiraSettled("INC-2") })
	second, _ = fake.Issue(second.Key)
	var linked bool
	for _, l := range second.Links {
		linked = linked || l.Key == first.Key && l.Type == "Relates"
	}
	if !linked {
		t.Errorf("%s links %+v, want relates to %s", second.Key, second.Links, first.Key)
	}
}

// With Slack and Jira both real, the ticket's key reaches the war room:
// the summary shows it and a bookmark links it; the ticket links back.
func TestJiraInWarRoom(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	is := h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room to show the ticket", func() bool {
		inc := h.incident("INC-1")
		if inc.SummaryTS == "" || !h.settled("INC-1") {
			return false
		}
		s := messagesOf(slackFake, inc.SlackChannelID, "warroom_summary")
		return len(s) == 1 && strings.Contains(blocksText(s[0]), is.Key)
	})
	var marked bool
	for _, b := range slackFake.Bookmarks(h.incident("INC-1").SlackChannelID) {
		marked = marked || strings.HasSuffix(b.Link, "/browse/"+is.Key)
	}
	if !marked {
		t.Errorf("no Jira bookmark: %+v", slackFake.Bookmarks(h.incident("INC-1").SlackChannelID))
	}
}

// A resolve transition the workflow lacks fails for good and names the
// transitions there are.
func TestJiraMissingTransition(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(jiratest.WithDeployment("datacenter"))
	t.Cleanup(fake.Close)
	h := startJira(t, fake, "datacenter", func(c *config.Config) { c.Jira.ResolveTransition = "Close Issue" })
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.ticket(t, fake, "INC-1")
	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.waitFor("the failure", func() bool { return strings.Contains(h.incident("INC-1").LastError, "jira.transition") })
	msg := h.incident("INC-1").LastError
	if !strings.Contains(msg, `no transition "Close Issue"`) || !strings.Contains(msg, `"Done"`) || !strings.Contains(msg, `"Start Progress"`) {
		t.Errorf("last error %q does not name the transitions there are", msg)
	}
}

// searchCount counts the label searches the fake saw.
func searchCount(t *testing.T, fake *jiratest.Server) int {
	t.Helper()
	return fake.CallCount("", "/rest/api/2/search/jql")
}

// A note marked for Jira becomes a comment on the ticket; a plain one
// stays on the timeline.
func TestJiraNotes(t *testing.T) {
	t.Parallel()
	fake := jiratest.New()
	t.Cleanup(fake.Close)
	h := startJira(t, fake, "cloud", nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	is := h.ticket(t, fake, "INC-1")
	if reply := h.command("note INC-1 --jira db failover started"); !strings.Contains(reply, "(and on the ticket)") {
		t.Errorf("note --jira: %q", reply)
	}
	if reply := h.command("note INC-1 looking at the pool metrics"); strings.Contains(reply, "ticket") {
		t.Errorf("plain note: %q", reply)
	}
	h.waitFor("the marked note on the ticket", func() bool {
		is, _ := fake.Issue(is.Key)
		for _, c := range is.Comments {
			if strings.Contains(c.Body, "db failover started") {
				return true
			}
		}
		return false
	})
	h.waitFor("Jira's steps", func() bool { return h.jiraSettled("INC-1") })
	is, _ = fake.Issue(is.Key)
	for _, c := range is.Comments {
		if strings.Contains(c.Body, "pool metrics") {
			t.Errorf("a plain note reached the ticket: %q", c.Body)
		}
	}
}
