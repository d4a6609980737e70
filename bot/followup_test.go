package bot_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
)

// followups waits until the incident has n follow-ups, each filed, and
// returns them as incident.Followups reads them from the timeline.
func (h *harness) followups(id string, n int) []incident.Followup {
	h.t.Helper()
	var got []incident.Followup
	h.waitFor(id+"'s follow-ups filed", func() bool {
		got = incident.Followups(h.incident(id).Timeline)
		return len(got) == n && !slices.ContainsFunc(got, func(f incident.Followup) bool { return f.Key == "" }) && h.jiraSettled(id)
	})
	return got
}

// creates counts the issues Jira was asked to file.
func creates(fake *jiratest.Server) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Method == http.MethodPost && c.Path == "/rest/api/2/issue" {
			n++
		}
	}
	return n
}

// linkedTo reports whether issue key of fake relates to the ticket.
func linkedTo(fake *jiratest.Server, key, ticket string) bool {
	is, _ := fake.Issue(key)
	return slices.Contains(is.Links, jiratest.Link{Type: "Relates", Direction: "outward", Key: ticket})
}

// A follow-up asked for in Slack and one through the API, the second
// after the resolve: each is one Jira task in the ticket's project,
// naming the incident and the text, linked to the ticket, and on the
// timeline twice (asked, filed), where incident.Followups finds it.
func TestFollowupsFiledAndLinked(t *testing.T) {
	t.Parallel()
	fake := jiratest.New()
	t.Cleanup(fake.Close)
	fake.AddProject("OPS", "Operations", "Task")
	h := startJira(t, fake, "cloud", nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	ticket := h.ticket(t, fake, "INC-1")

	reply := h.command("followup INC-1 alert on the connection\npool")
	if want := "<@U0LOAD> asked for a follow-up on *INC-1*: alert on the connection pool\nwarroom files it in Jira, linked to " + ticket.Key + "."; reply != want {
		t.Errorf("/warroom followup: %q, want %q", reply, want)
	}
	h.followups("INC-1", 1)
	h.deliver("alertmanager/resolved-high-error-rate.json")
	r := h.post("/api/v1/incidents/INC-1/followups", []byte(`{"actor": "alice", "text": "resize the pool by default"}`), nil)
	if r.code != http.StatusCreated {
		t.Fatalf("POST followups: HTTP %d %s", r.code, r.body)
	}
	if v := decodeJSON[struct{ Timeline []incident.Event }](t, r); len(incident.Followups(v.Timeline)) != 2 {
		t.Errorf("the answer's timeline lacks the follow-up: %+v", v.Timeline)
	}

	got := h.followups("INC-1", 2)
	want := []struct{ actor, text string }{{"U0LOAD", "alert on the connection pool"}, {"api:alice", "resize the pool by default"}}
	for i, f := range got {
		if f.Actor != want[i].actor || f.Text != want[i].text {
			t.Errorf("follow-up %d = %+v, want %+v", i, f, want[i])
		}
		is, ok := fake.Issue(f.Key)
		if !ok {
			t.Fatalf("follow-up %s is not in Jira", f.Key)
		}
		eq(t, f.Key+" type", is.IssueType, "Task")
		eq(t, f.Key+" project", is.Project, "OPS")
		eq(t, f.Key+" summary", is.Summary, "[INC-1] Follow-up: "+f.Text)
		if !slices.Contains(is.Labels, "warroom-followup") || slices.Contains(is.Labels, "warroom-inc-1") {
			t.Errorf("%s labels %v: want warroom-followup, never the ticket's label", f.Key, is.Labels)
		}
		if !strings.Contains(is.Description, "Its ticket is "+ticket.Key) {
			t.Errorf("%s description:\n%s", f.Key, is.Description)
		}
		if !linkedTo(fake, f.Key, ticket.Key) {
			t.Errorf("%s links %+v, want relates to %s", f.Key, is.Links, ticket.Key)
		}
	}
	if one, _ := fake.Issue(ticket.Key); len(one.Links) != 2 {
		t.Errorf("the ticket's links %+v, want the two follow-ups", one.Links)
	}
	eq(t, "issues (the ticket and two follow-ups)", len(fake.Issues()), 3)
	eq(t, "creates", creates(fake), 3)
	eq(t, "searches (first runs file without one)", searchCount(t, fake), 0)
	var filed []string
	for _, e := range h.incident("INC-1").Timeline {
		if e.Kind == incident.EventFollowupFiled {
			filed = append(filed, e.Text)
		}
	}
	if len(filed) != 2 || filed[0] != incident.FollowupFiledText(got[0].Key, got[0].Text) {
		t.Errorf("filed events %q", filed)
	}
}

// What a follow-up cannot be is said precisely, and changes nothing.
func TestFollowupRefusals(t *testing.T) {
	t.Parallel()
	fake := jiratest.New()
	t.Cleanup(fake.Close)
	fake.AddProject("OPS", "Operations", "Task")
	h := startJira(t, fake, "cloud", nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.deliver("alertmanager/firing-below-threshold.json") // checkout, recorded: no war room
	h.ticket(t, fake, "INC-1")
	before := len(h.incident("INC-1").Timeline)

	long := strings.Repeat("x", incident.MaxFollowupText+1)
	for _, tc := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"INC-1", `{"actor": "alice"}`, 400, "a follow-up needs text"},
		{"INC-1", `{"text": " \n "}`, 400, "a follow-up needs text"},
		{"INC-1", `{"text": "` + long + `"}`, 400, "a follow-up is at most 200 characters (this one has 201): it becomes the summary of a Jira issue; put the detail in a note"},
		{"INC-1", `{"text": "x", "jira": true}`, 400, `a follow-up takes "actor" and "text" only`},
		{"INC-1", `{"text": "x", "priority": "high"}`, 400, `malformed JSON: json: unknown field "priority"`},
		{"INC-99", `{"text": "x"}`, 404, "no incident INC-99"},
		{"INC-2", `{"text": "x"}`, 409, "INC-2 has no war room, so no Jira ticket to link a follow-up to"},
	} {
		r := h.post("/api/v1/incidents/"+tc.path+"/followups", []byte(tc.body), nil)
		if r.code != tc.code || decodeJSON[struct{ Error string }](t, r).Error != tc.msg {
			t.Errorf("POST %s %s: HTTP %d %s, want %d %q", tc.path, tc.body, r.code, r.body, tc.code, tc.msg)
		}
	}
	for text, want := range map[string]string{
		"followup INC-1":           "a follow-up needs text\nUsage: `/warroom followup [INC-n] <text>`",
		"followup INC-1 " + long:   "a follow-up is at most 200 characters",
		"followup INC-404 add one": "no incident INC-404",
	} {
		if reply := h.command(text); !strings.Contains(reply, want) {
			t.Errorf("/warroom %.40s: %q, want %q", text, reply, want)
		}
	}
	h.settle()
	eq(t, "events written", len(h.incident("INC-1").Timeline), before)
	eq(t, "issues", len(fake.Issues()), 1)
}

// A project without the follow-ups' issue type is Jira's field error:
// the step fails for good, the timeline and /warroom status say why, and
// nothing is filed.
func TestFollowupIssueTypeTheProjectLacks(t *testing.T) {
	t.Parallel()
	fake := jiratest.New() // OPS has Incident and Bug, not Task
	t.Cleanup(fake.Close)
	h := startJira(t, fake, "cloud", nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.ticket(t, fake, "INC-1")
	if r := h.post("/api/v1/incidents/INC-1/followups", []byte(`{"text": "add a canary"}`), nil); r.code != http.StatusCreated {
		t.Fatalf("HTTP %d %s", r.code, r.body)
	}
	h.waitFor("the follow-up to fail", func() bool { return strings.Contains(h.incident("INC-1").LastError, "jira.followup") })
	if msg := h.incident("INC-1").LastError; !strings.Contains(msg, "issuetype: Specify a valid issue type") {
		t.Errorf("last error %q does not carry Jira's field error", msg)
	}
	if status := h.command("status INC-1"); !strings.Contains(status, "`jira.followup`") {
		t.Errorf("/warroom status does not name the step:\n%s", status)
	}
	h.settle()
	eq(t, "issues", len(fake.Issues()), 1)
	if f := incident.Followups(h.incident("INC-1").Timeline); len(f) != 1 || f[0].Key != "" {
		t.Errorf("follow-ups %+v: want the one asked for, unfiled", f)
	}
}

// warroom dies while Jira files the follow-up (the issue is made, the
// answer never comes back); the next life's run searches for the
// follow-up's label, adopts the issue, links and records it: one issue.
func TestFollowupKilledBetweenCreateAndRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := newClock()
	fake := jiratest.New(jiratest.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddProject("OPS", "Operations", "Task")
	settings := jiraSettings(t, fake, "cloud", func(c *config.Config) {
		c.Storage.DSN, c.DryRunLog = filepath.Join(dir, "w.db"), filepath.Join(dir, "dry.jsonl")
		c.Jobs.ShutdownGrace = config.Duration(1) // cut the hung call short at once
	})
	h := startOn(t, clock, settings)
	h.deliver("alertmanager/firing-high-error-rate.json")
	ticket := h.ticket(t, fake, "INC-1")
	h.waitFor("the ticket's steps", func() bool { return h.jiraSettled("INC-1") })

	fake.FailNext("POST /rest/api/2/issue", jiratest.Fault{Lost: true, Hang: true})
	if r := h.post("/api/v1/incidents/INC-1/followups", []byte(`{"text": "add a canary"}`), nil); r.code != http.StatusCreated {
		t.Fatalf("HTTP %d %s", r.code, r.body)
	}
	h.waitFor("Jira to file the follow-up", func() bool { return len(fake.Issues()) == 2 })
	h.stop() // mid-call: the run is cut short, its attempt spent

	h2 := startOn(t, clock, settings)
	got := h2.followups("INC-1", 1)
	eq(t, "issues", len(fake.Issues()), 2)
	eq(t, "creates", creates(fake), 2)
	eq(t, "the issue adopted", got[0].Key, fake.Issues()[1].Key)
	if searchCount(t, fake) < 1 {
		t.Error("the second run filed without searching")
	}
	if !linkedTo(fake, got[0].Key, ticket.Key) {
		is, _ := fake.Issue(got[0].Key)
		t.Errorf("%s links %+v, want relates to %s", got[0].Key, is.Links, ticket.Key)
	}
	filed := 0
	for _, e := range h2.incident("INC-1").Timeline {
		if e.Kind == incident.EventFollowupFiled {
			filed++
		}
	}
	eq(t, "filed events", filed, 1)
}
