package bot_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// The order of the steps (incident.AwaitNeed): a step whose predecessor
// failed for good learns it from that step's job, and fails for good
// itself (a ticket comment, which responders expect) or gives up quietly
// (an update of a war room that was never made). Every failure is kept:
// on the timeline and in /warroom status, not only the last.
func TestStepOrder(t *testing.T) {
	t.Parallel()

	t.Run("ticket refused for good", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New()
		t.Cleanup(fake.Close)
		// A field Jira's create screen lacks: 400, a refusal retrying
		// cannot change.
		h := startJira(t, fake, "cloud", func(c *config.Config) { c.Jira.Fields = map[string]any{"customfield_10010": "payments"} })
		h.deliver("alertmanager/firing-high-error-rate.json")
		h.settle()
		create := onlyJob(t, h, "INC-1", incident.JobJiraCreateIssue)
		if create.State != incident.JobFailed || !strings.Contains(create.LastError, "customfield_10010") {
			t.Fatalf("jira.create_issue %s (%s), want failed for good with Jira's field error", create.State, create.LastError)
		}

		if reply := h.command("ack INC-1"); !strings.Contains(reply, "acknowledged") {
			t.Fatalf("/warroom ack: %q", reply)
		}
		h.settle()
		comment := onlyJob(t, h, "INC-1", incident.JobJiraComment)
		if comment.State != incident.JobFailed || !strings.Contains(comment.LastError, "needs jira.create_issue") ||
			!strings.Contains(comment.LastError, incident.ErrNeedGone.Error()) {
			t.Errorf("jira.comment %s (%s), want failed for good, naming jira.create_issue", comment.State, comment.LastError)
		}
		// The comment step knew from the create's job: it asked Jira nothing.
		eq(t, "calls of Jira but the create", fake.CallCount("", "/rest/api/2/")-fake.CallCount(http.MethodPost, "/rest/api/2/issue"), 0)
		eq(t, "creates", fake.CallCount(http.MethodPost, "/rest/api/2/issue"), 1)

		wantFailures(t, h, "INC-1", map[incident.JobKind]string{
			incident.JobJiraCreateIssue: "customfield_10010",
			incident.JobJiraComment:     "needs jira.create_issue",
		})
		// Refreshing a description that has no ticket is no failure of its
		// own: the create's says why.
		for _, j := range h.incident("INC-1").Jobs {
			if j.Kind == incident.JobJiraUpdate && j.State == incident.JobFailed {
				t.Errorf("jira.update failed for good (%s), want it to give up quietly", j.LastError)
			}
		}
	})

	t.Run("channel refused for good", func(t *testing.T) {
		t.Parallel()
		fake := workspace(t)
		fake.FailNext("conversations.create", slacktest.Fault{Error: "restricted_action"})
		h := startSlack(t, fake)
		h.deliver("alertmanager/firing-high-error-rate.json")
		h.settle()
		create := onlyJob(t, h, "INC-1", incident.JobSlackCreateChannel)
		if create.State != incident.JobFailed || !strings.Contains(create.LastError, "restricted_action") {
			t.Fatalf("slack.create_channel %s (%s), want failed for good", create.State, create.LastError)
		}
		calls := len(fake.Calls())

		// A change a war room would show: the update that shows it finds
		// from the jobs that there is no war room, and ends quietly.
		eq(t, "ack", h.post("/api/v1/incidents/INC-1/ack", []byte(`{"actor":"alice"}`), nil).code, http.StatusOK)
		h.settle()
		var updates int
		for _, j := range h.incident("INC-1").Jobs {
			if j.Kind != incident.JobSlackUpdate {
				continue
			}
			updates++
			if j.State != incident.JobDone || j.LastError != "" {
				t.Errorf("slack.update %s %s (%s), want completed without an error", j.Key, j.State, j.LastError)
			}
		}
		if updates == 0 {
			t.Fatal("no slack.update was queued")
		}
		if got := fake.Calls()[calls:]; len(got) != 0 {
			t.Errorf("the update called Slack: %+v", got)
		}
		wantFailures(t, h, "INC-1", map[incident.JobKind]string{incident.JobSlackCreateChannel: "restricted_action"})
	})
}

// onlyJob returns the one job of kind of incident id.
func onlyJob(t *testing.T, h *harness, id string, kind incident.JobKind) incident.JobStatus {
	t.Helper()
	var found []incident.JobStatus
	for _, j := range h.incident(id).Jobs {
		if j.Kind == kind {
			found = append(found, j)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s jobs of %s: %+v, want one", kind, id, found)
	}
	return found[0]
}

// wantFailures checks that every step of incident id that failed for good
// is on the timeline and in /warroom status, and that the steps of want
// are among them, each with its words.
func wantFailures(t *testing.T, h *harness, id string, want map[incident.JobKind]string) {
	t.Helper()
	inc := h.incident(id)
	failed := map[incident.JobKind]bool{}
	for _, j := range inc.Jobs {
		if j.State == incident.JobFailed {
			failed[j.Kind] = true
		}
	}
	for kind := range want {
		if !failed[kind] {
			t.Errorf("%s did not fail for good", kind)
		}
	}
	var onTimeline []string
	for _, e := range inc.Timeline {
		if e.Kind == incident.EventStepFailed {
			onTimeline = append(onTimeline, e.Text)
		}
	}
	status := h.command("status " + id)
	if len(onTimeline) != len(failed) || !strings.Contains(status, fmt.Sprintf("%d step(s) failed for good", len(failed))) {
		t.Errorf("%d steps failed for good; the timeline has %q, and /warroom status:\n%s", len(failed), onTimeline, status)
	}
	for kind := range failed {
		words := want[kind]
		var shown bool
		for _, text := range onTimeline {
			shown = shown || strings.HasPrefix(text, string(kind)+" failed: ") && strings.Contains(text, words)
		}
		if !shown {
			t.Errorf("no %s failure with %q on the timeline: %q", kind, words, onTimeline)
		}
		if !strings.Contains(status, "`"+string(kind)+"`: ") || !strings.Contains(status, words) {
			t.Errorf("/warroom status does not show %s failing with %q:\n%s", kind, words, status)
		}
	}
}
