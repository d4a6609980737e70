package jiratest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jira "github.com/andygrunwald/go-jira"
	"github.com/trivago/tgo/tcontainer"

	"github.com/warroom/warroom/integrations/jira/jiratest"
)

// start returns a fresh fake and a real go-jira client pointed at it, with
// the credentials the deployment takes: basic auth with email and API token
// on Cloud, a personal access token on Data Center.
func start(t *testing.T, opts ...jiratest.Option) (*jiratest.Server, *jira.Client) {
	t.Helper()
	s := jiratest.New(opts...)
	t.Cleanup(s.Close)
	var hc *http.Client
	if isDataCenter(t, s) {
		hc = (&jira.PATAuthTransport{Token: jiratest.DefaultPAT}).Client()
	} else {
		hc = (&jira.BasicAuthTransport{Username: jiratest.DefaultEmail, Password: jiratest.DefaultAPIToken}).Client()
	}
	c, err := jira.NewClient(hc, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func isDataCenter(t *testing.T, s *jiratest.Server) bool {
	t.Helper()
	resp, err := http.Get(s.URL() + "/rest/api/2/serverInfo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ DeploymentType string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.DeploymentType == "DataCenter"
}

var deployments = []string{jiratest.Cloud, jiratest.DataCenter}

// apiError reads Jira's error body out of a failed call. go-jira's Create
// returns the bare HTTP error; the other methods wrap it already.
func apiError(t *testing.T, resp *jira.Response, err error) *jira.Error {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded; want an error")
	}
	var je *jira.Error
	if errors.As(err, &je) {
		return je
	}
	if errors.As(jira.NewJiraError(resp, err), &je) {
		return je
	}
	t.Fatalf("no Jira error body in %v", err)
	return nil
}

func status(resp *jira.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// incident is a valid create request for OPS; change it to make it invalid.
func incident(summary string) *jira.Issue {
	return &jira.Issue{Fields: &jira.IssueFields{
		Project:  jira.Project{Key: "OPS"},
		Type:     jira.IssueType{Name: "Incident"},
		Summary:  summary,
		Priority: &jira.Priority{Name: "Highest"},
		Labels:   []string{"warroom", "warroom-inc-142", "payment-gateway"},
	}}
}

func create(t *testing.T, c *jira.Client, is *jira.Issue) *jira.Issue {
	t.Helper()
	got, resp, err := c.Issue.Create(is)
	if err != nil {
		t.Fatalf("create: %v (%v)", err, apiError(t, resp, err).LongError())
	}
	return got
}

// raw sends a request with the client's credentials and decodes a 2xx
// answer into v (when not nil).
func raw(t *testing.T, c *jira.Client, method, path string, body, v any) (*jira.Response, error) {
	t.Helper()
	req, err := c.NewRequest(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req, v)
	if err != nil && resp == nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, err
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, jiratest.WithDeployment(d))
			s.AddComponent("OPS", "payments")
			in := incident("[INC-142] payment-gateway error rate 3.1% (prod)")
			in.Fields.Description = "h2. Rollback suggestion\n* suspect {{abc1234}}"
			in.Fields.Components = []*jira.Component{{Name: "payments"}}
			in.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10001": "sre-payments"}
			got, resp, err := c.Issue.Create(in)
			if err != nil || status(resp) != http.StatusCreated {
				t.Fatalf("create: %d %v", status(resp), err)
			}
			if got.Key != "OPS-1" || got.ID == "" || !strings.HasSuffix(got.Self, "/rest/api/2/issue/"+got.ID) {
				t.Errorf("created %+v, want OPS-1 with an id and self", got)
			}
			if second := create(t, c, incident("second")); second.Key != "OPS-2" {
				t.Errorf("second key %q, want OPS-2", second.Key)
			}

			fetched, _, err := c.Issue.Get("OPS-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			f := fetched.Fields
			if f.Summary != in.Fields.Summary || f.Description != in.Fields.Description || f.Priority.Name != "Highest" ||
				f.Status.Name != "To Do" || f.Resolution != nil || f.Type.Name != "Incident" || f.Project.Key != "OPS" ||
				!slices.Equal(f.Labels, in.Fields.Labels) || len(f.Components) != 1 || f.Components[0].Name != "payments" ||
				f.Unknowns["customfield_10001"] != "sre-payments" {
				t.Errorf("got fields %+v", f)
			}
			if time.Time(f.Created).IsZero() {
				t.Error("created time missing or not in Jira's format")
			}

			stored, found := s.Issue("OPS-1")
			if !found || stored.Summary != in.Fields.Summary || stored.Status != "To Do" || stored.Priority != "Highest" ||
				stored.Custom["customfield_10001"] != "sre-payments" || !slices.Equal(stored.Components, []string{"payments"}) {
				t.Errorf("stored %+v", stored)
			}
			if len(s.Issues()) != 2 {
				t.Errorf("%d issues stored, want 2", len(s.Issues()))
			}

			// fields= narrows the answer.
			narrow, _, err := c.Issue.Get("OPS-1", &jira.GetQueryOptions{Fields: "summary"})
			if err != nil || narrow.Fields.Summary == "" || narrow.Fields.Status != nil || narrow.Fields.Labels != nil {
				t.Errorf("fields=summary answered %+v, %v", narrow.Fields, err)
			}
		})
	}
}

func TestCreateDefaultsPriorityToMedium(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	in := incident("no priority")
	in.Fields.Priority = nil
	create(t, c, in)
	if is, _ := s.Issue("OPS-1"); is.Priority != "Medium" {
		t.Errorf("priority %q, want Medium", is.Priority)
	}
}

func TestGetUnknownIssue(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	_, resp, err := c.Issue.Get("OPS-99", nil)
	je := apiError(t, resp, err)
	if status(resp) != http.StatusNotFound || !slices.Equal(je.ErrorMessages, []string{"Issue does not exist or you do not have permission to see it."}) || len(je.Errors) != 0 {
		t.Errorf("GET OPS-99: %d %+v", status(resp), je)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	// 128 emoji are 128 runes but 256 UTF-16 units: Jira counts the latter.
	emoji := strings.Repeat("😀", 128)
	tests := []struct {
		name   string
		change func(*jira.Issue)
		field  string
		cloud  string
		dc     string // "" when the same as cloud
	}{
		{"unknown project", func(is *jira.Issue) { is.Fields.Project.Key = "NOPE" }, "project",
			"Specify a valid project ID or key", "project is required"},
		{"no project", func(is *jira.Issue) { is.Fields.Project = jira.Project{} }, "project",
			"Specify a valid project ID or key", "project is required"},
		{"project as a string", func(is *jira.Issue) { is.Fields.Unknowns = tcontainer.MarshalMap{"project": "OPS"} }, "project",
			"Could not find valid 'id' or 'key' in project object.", ""},
		{"no issue type", func(is *jira.Issue) { is.Fields.Type = jira.IssueType{} }, "issuetype",
			"Specify an issue type", "issue type is required"},
		{"issue type not in the project", func(is *jira.Issue) { is.Fields.Type.Name = "Story" }, "issuetype",
			"Specify a valid issue type", "valid issue type is required"},
		{"no summary", func(is *jira.Issue) { is.Fields.Summary = "" }, "summary",
			"You must specify a summary of the issue.", ""},
		{"blank summary", func(is *jira.Issue) { is.Fields.Summary = "   " }, "summary",
			"You must specify a summary of the issue.", ""},
		{"summary with a line break", func(is *jira.Issue) { is.Fields.Summary = "error rate\nprod" }, "summary",
			"The summary is invalid because it contains newline characters.", ""},
		{"summary with a carriage return", func(is *jira.Issue) { is.Fields.Summary = "error rate\rprod" }, "summary",
			"The summary is invalid because it contains newline characters.", ""},
		{"summary of 256 characters", func(is *jira.Issue) { is.Fields.Summary = long }, "summary",
			"Summary can't exceed 255 characters.", "Summary must be less than 255 characters."},
		{"summary of 256 UTF-16 units", func(is *jira.Issue) { is.Fields.Summary = emoji }, "summary",
			"Summary can't exceed 255 characters.", "Summary must be less than 255 characters."},
		{"unknown priority", func(is *jira.Issue) { is.Fields.Priority = &jira.Priority{Name: "Critical"} }, "priority",
			"The priority selected is invalid.", ""},
		{"priority as a string", func(is *jira.Issue) {
			is.Fields.Priority = nil
			is.Fields.Unknowns = tcontainer.MarshalMap{"priority": "High"}
		}, "priority", "Could not find valid 'id' or 'name' in priority object.", ""},
		{"label with a space", func(is *jira.Issue) { is.Fields.Labels = []string{"warroom", "payment gateway"} }, "labels",
			"The label 'payment gateway' can't contain spaces.", "The label 'payment gateway' contains spaces which is invalid."},
		{"description in ADF", func(is *jira.Issue) {
			is.Fields.Unknowns = tcontainer.MarshalMap{"description": map[string]any{"type": "doc", "version": 1, "content": []any{}}}
		}, "description", "Operation value must be a string", ""},
		{"description too long", func(is *jira.Issue) { is.Fields.Description = strings.Repeat("d", 32768) }, "description",
			"The entered text is too long. It exceeds the allowed limit of 32,767 characters.", ""},
		{"unknown component", func(is *jira.Issue) { is.Fields.Components = []*jira.Component{{Name: "billing"}} }, "components",
			"Component name 'billing' is not valid", ""},
		{"custom field not on the screen", func(is *jira.Issue) {
			is.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10010": "x"}
		}, "customfield_10010", "Field 'customfield_10010' cannot be set. It is not on the appropriate screen, or unknown.", ""},
		{"Team on a Bug", func(is *jira.Issue) {
			is.Fields.Type.Name = "Bug"
			is.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10001": "sre"}
		}, "customfield_10001", "Field 'customfield_10001' cannot be set. It is not on the appropriate screen, or unknown.", ""},
		{"Team not a string", func(is *jira.Issue) { is.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10001": 7} }, "customfield_10001",
			"Operation value must be a string", ""},
		{"assignee is not on the screen", func(is *jira.Issue) { is.Fields.Assignee = &jira.User{Name: "alice"} }, "assignee",
			"Field 'assignee' cannot be set. It is not on the appropriate screen, or unknown.", ""},
	}
	for _, d := range deployments {
		for _, tc := range tests {
			t.Run(d+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s, c := start(t, jiratest.WithDeployment(d))
				in := incident("valid summary")
				tc.change(in)
				_, resp, err := c.Issue.Create(in)
				je := apiError(t, resp, err)
				want := tc.cloud
				if d == jiratest.DataCenter && tc.dc != "" {
					want = tc.dc
				}
				if status(resp) != http.StatusBadRequest || je.Errors[tc.field] != want {
					t.Errorf("answered %d %v, want 400 with %s: %q", status(resp), je.Errors, tc.field, want)
				}
				if je.ErrorMessages == nil || len(je.ErrorMessages) != 0 {
					t.Errorf("errorMessages %#v, want [] as Jira sends with field errors", je.ErrorMessages)
				}
				if n := len(s.Issues()); n != 0 {
					t.Errorf("%d issues stored after a rejected create", n)
				}
			})
		}
	}
}

// Issue types are the project's: a type the site has (Task, in DEV) but
// the project lacks is refused with the field error Jira sends, and
// creates nothing; once the project has it, the same create files.
func TestIssueTypeOfAnotherProject(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, jiratest.WithDeployment(d))
			s.AddProject("DEV", "Development", "Task")
			task := incident("add a canary")
			task.Fields.Type.Name = "Task"
			_, resp, err := c.Issue.Create(task)
			je := apiError(t, resp, err)
			want := map[string]string{jiratest.Cloud: "Specify a valid issue type", jiratest.DataCenter: "valid issue type is required"}[d]
			if status(resp) != http.StatusBadRequest || len(je.Errors) != 1 || je.Errors["issuetype"] != want || je.ErrorMessages == nil || len(je.ErrorMessages) != 0 {
				t.Errorf("answered %d %#v %#v, want 400 with issuetype: %q", status(resp), je.ErrorMessages, je.Errors, want)
			}
			if n := len(s.Issues()); n != 0 {
				t.Errorf("%d issues stored after a rejected create", n)
			}
			s.AddProject("OPS", "Operations", "Task")
			if got := create(t, c, task); got.Key != "OPS-1" {
				t.Errorf("created %s, want OPS-1", got.Key)
			}
		})
	}
}

func TestCreateAcceptsTheLimits(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	in := incident(strings.Repeat("s", 255))
	in.Fields.Description = strings.Repeat("d", 32767)
	in.Fields.Labels = []string{"a_b-c.d:e", strings.Repeat("l", 255)}
	create(t, c, in)
	if is, _ := s.Issue("OPS-1"); len(is.Summary) != 255 || len(is.Description) != 32767 {
		t.Errorf("stored a summary of %d and a description of %d characters", len(is.Summary), len(is.Description))
	}
}

func TestCreateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	in := incident("")
	in.Fields.Labels = []string{"two words"}
	in.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10010": "x"}
	_, resp, err := c.Issue.Create(in)
	je := apiError(t, resp, err)
	for _, field := range []string{"summary", "labels", "customfield_10010"} {
		if je.Errors[field] == "" {
			t.Errorf("no error for %s in %v", field, je.Errors)
		}
	}
}

func TestEdit(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, jiratest.WithDeployment(d))
			create(t, c, incident("first summary"))

			resp, err := c.Issue.UpdateIssue("OPS-1", map[string]any{"fields": map[string]any{"description": "updated {code}x{code}"}})
			if err != nil || status(resp) != http.StatusNoContent {
				t.Fatalf("PUT description: %d %v", status(resp), err)
			}
			if _, _, err := c.Issue.Update(&jira.Issue{Key: "OPS-1", Fields: &jira.IssueFields{Summary: "second summary", Labels: []string{"warroom", "resolved-soon"}}}); err != nil {
				t.Fatalf("go-jira Update: %v", err)
			}
			resp, err = c.Issue.UpdateIssue("OPS-1", map[string]any{"update": map[string]any{"labels": []any{map[string]any{"add": "added"}, map[string]any{"remove": "resolved-soon"}}}})
			if err != nil || status(resp) != http.StatusNoContent {
				t.Fatalf("PUT update labels: %d %v", status(resp), err)
			}
			is, _ := s.Issue("OPS-1")
			if is.Description != "updated {code}x{code}" || is.Summary != "second summary" || !slices.Equal(is.Labels, []string{"warroom", "added"}) {
				t.Errorf("after edits: %+v", is)
			}

			rejected := []struct {
				fields map[string]any
				field  string
				want   string
			}{
				{map[string]any{"summary": "two\nlines"}, "summary", "The summary is invalid because it contains newline characters."},
				{map[string]any{"summary": ""}, "summary", "You must specify a summary of the issue."},
				{map[string]any{"labels": []string{"a b"}}, "labels", ""},
				{map[string]any{"resolution": map[string]any{"name": "Done"}}, "resolution", "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."},
				{map[string]any{"status": map[string]any{"name": "Done"}}, "status", "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."},
				{map[string]any{"project": map[string]any{"key": "OPS"}}, "project", "Field 'project' cannot be set. It is not on the appropriate screen, or unknown."},
				{map[string]any{"customfield_10010": "x"}, "customfield_10010", "Field 'customfield_10010' cannot be set. It is not on the appropriate screen, or unknown."},
			}
			for _, tc := range rejected {
				resp, err := c.Issue.UpdateIssue("OPS-1", map[string]any{"fields": tc.fields})
				je := apiError(t, resp, err)
				if status(resp) != http.StatusBadRequest || je.Errors[tc.field] == "" || (tc.want != "" && je.Errors[tc.field] != tc.want) {
					t.Errorf("PUT %v: %d %v, want 400 with %s %q", tc.fields, status(resp), je.Errors, tc.field, tc.want)
				}
			}
			if after, _ := s.Issue("OPS-1"); after.Summary != "second summary" || after.Resolution != "" || after.Status != "To Do" {
				t.Errorf("a rejected edit changed the issue: %+v", after)
			}

			resp, err = c.Issue.UpdateIssue("OPS-404", map[string]any{"fields": map[string]any{"description": "x"}})
			if status(resp) != http.StatusNotFound || err == nil {
				t.Errorf("PUT on a missing issue: %d %v", status(resp), err)
			}
		})
	}
}

type commentPage struct {
	StartAt, MaxResults, Total int
	Comments                   []jira.Comment
}

func TestComments(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	create(t, c, incident("comments"))
	for _, body := range []string{"acknowledged by <@U1>", "mitigated: rolled back to {{abc1234}}"} {
		got, resp, err := c.Issue.AddComment("OPS-1", &jira.Comment{Body: body})
		if err != nil || status(resp) != http.StatusCreated || got.ID == "" || got.Body != body {
			t.Fatalf("add comment: %d %+v %v", status(resp), got, err)
		}
	}
	var page commentPage
	if _, err := raw(t, c, "GET", "rest/api/2/issue/OPS-1/comment", nil, &page); err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Comments) != 2 || page.Comments[0].Body != "acknowledged by <@U1>" || page.Comments[1].Created == "" {
		t.Errorf("comment list %+v, want both, oldest first", page)
	}
	if _, err := raw(t, c, "GET", "rest/api/2/issue/OPS-1/comment?startAt=1&maxResults=1", nil, &page); err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || page.StartAt != 1 || len(page.Comments) != 1 || !strings.HasPrefix(page.Comments[0].Body, "mitigated") {
		t.Errorf("second page %+v", page)
	}

	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"body": ""}, "Comment body can not be empty!"},
		{map[string]any{}, "Comment body can not be empty!"},
		{map[string]any{"body": strings.Repeat("c", 32768)}, "The entered text is too long. It exceeds the allowed limit of 32,767 characters."},
	} {
		resp, err := raw(t, c, "POST", "rest/api/2/issue/OPS-1/comment", tc.body, nil)
		je := apiError(t, resp, err)
		if status(resp) != http.StatusBadRequest || je.Errors["comment"] != tc.want {
			t.Errorf("comment %.40v: %d %v, want %q", tc.body, status(resp), je.Errors, tc.want)
		}
	}
	if _, resp, err := c.Issue.AddComment("OPS-9", &jira.Comment{Body: "x"}); status(resp) != http.StatusNotFound || err == nil {
		t.Errorf("comment on a missing issue: %d %v", status(resp), err)
	}
	if is, _ := s.Issue("OPS-1"); len(is.Comments) != 2 {
		t.Errorf("%d comments stored, want 2", len(is.Comments))
	}
}

func transitionNames(ts []jira.Transition) []string {
	var out []string
	for _, tr := range ts {
		out = append(out, tr.Name+"→"+tr.To.Name)
	}
	return out
}

func transitionID(t *testing.T, c *jira.Client, key, name string) string {
	t.Helper()
	ts, _, err := c.Issue.GetTransitions(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ts {
		if tr.Name == name {
			return tr.ID
		}
	}
	t.Fatalf("%s has no transition %q now: %v", key, name, transitionNames(ts))
	return ""
}

func resolve(c *jira.Client, key, id, resolution string) (*jira.Response, error) {
	return c.Issue.DoTransitionWithPayload(key, jira.CreateTransitionPayload{
		Transition: jira.TransitionPayload{ID: id},
		Fields:     jira.TransitionPayloadFields{Resolution: &jira.Resolution{Name: resolution}},
	})
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, jiratest.WithDeployment(d))
			create(t, c, incident("workflow"))

			ts, _, err := c.Issue.GetTransitions("OPS-1")
			if err != nil {
				t.Fatal(err)
			}
			if got := transitionNames(ts); !slices.Equal(got, []string{"Start Progress→In Progress", "Done→Done"}) {
				t.Errorf("from To Do: %v", got)
			}
			for _, tr := range ts {
				if _, has := tr.Fields["resolution"]; has != (tr.Name == "Done") || (has && !tr.Fields["resolution"].Required) {
					t.Errorf("transition %s fields %v: only Done has resolution, required", tr.Name, tr.Fields)
				}
			}
			start, done := transitionID(t, c, "OPS-1", "Start Progress"), transitionID(t, c, "OPS-1", "Done")

			// Rejections: none may change the issue. Each is answered either
			// with an errorMessages entry or with an error on the resolution field.
			rejections := []struct {
				name          string
				payload       any
				message       string
				resolutionErr string
			}{
				{"unknown id", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: "999"}},
					"Transition id '999' is not valid for this issue.", ""},
				{"not a number", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: "Done"}},
					"'transition' identifier must be an integer", ""},
				{"Reopen from To Do", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: "31"}},
					"It seems that you have tried to perform a workflow operation (Reopen) that is not valid for the current state of this issue (OPS-1). " +
						"The likely cause is that somebody has changed the issue recently, please look at the issue history for details.", ""},
				{"Done without a resolution", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: done}},
					"Field Resolution is required.", ""},
				{"resolution on Start Progress", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: start},
					Fields: jira.TransitionPayloadFields{Resolution: &jira.Resolution{Name: "Done"}}},
					"", "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."},
				{"unknown resolution", jira.CreateTransitionPayload{Transition: jira.TransitionPayload{ID: done},
					Fields: jira.TransitionPayloadFields{Resolution: &jira.Resolution{Name: "Fixed"}}},
					"", "The resolution selected is invalid."},
			}
			for _, tc := range rejections {
				resp, err := c.Issue.DoTransitionWithPayload("OPS-1", tc.payload)
				je := apiError(t, resp, err)
				if status(resp) != http.StatusBadRequest || je.Errors["resolution"] != tc.resolutionErr ||
					(tc.message != "" && !slices.Equal(je.ErrorMessages, []string{tc.message})) {
					t.Errorf("%s: %d %q %v", tc.name, status(resp), je.ErrorMessages, je.Errors)
				}
			}
			if is, _ := s.Issue("OPS-1"); is.Status != "To Do" || is.Resolution != "" {
				t.Fatalf("rejected transitions moved the issue: %s/%s", is.Status, is.Resolution)
			}

			if resp, err := c.Issue.DoTransition("OPS-1", start); err != nil || status(resp) != http.StatusNoContent {
				t.Fatalf("Start Progress: %d %v", status(resp), err)
			}
			if resp, err := resolve(c, "OPS-1", done, "Done"); err != nil || status(resp) != http.StatusNoContent {
				t.Fatalf("Done: %d %v", status(resp), err)
			}
			got, _, _ := c.Issue.Get("OPS-1", nil)
			if got.Fields.Status.Name != "Done" || got.Fields.Resolution == nil || got.Fields.Resolution.Name != "Done" || time.Time(got.Fields.Resolutiondate).IsZero() {
				t.Errorf("after Done: status %v resolution %v", got.Fields.Status, got.Fields.Resolution)
			}
			ts, _, _ = c.Issue.GetTransitions("OPS-1")
			if names := transitionNames(ts); !slices.Equal(names, []string{"Reopen→To Do"}) {
				t.Errorf("from Done: %v", names)
			}
			// Done again is not available from Done.
			resp, err := resolve(c, "OPS-1", done, "Done")
			if je := apiError(t, resp, err); status(resp) != http.StatusBadRequest || !strings.Contains(je.ErrorMessages[0], "workflow operation (Done)") {
				t.Errorf("Done from Done: %d %v", status(resp), je.ErrorMessages)
			}

			if resp, err := c.Issue.DoTransition("OPS-1", transitionID(t, c, "OPS-1", "Reopen")); err != nil || status(resp) != http.StatusNoContent {
				t.Fatalf("Reopen: %d %v", status(resp), err)
			}
			if is, _ := s.Issue("OPS-1"); is.Status != "To Do" || is.Resolution != "" {
				t.Errorf("after Reopen: %s/%q, want To Do and no resolution", is.Status, is.Resolution)
			}
			// Resolved as Won't Do, straight from To Do, with a comment.
			_, err = c.Issue.DoTransitionWithPayload("OPS-1", map[string]any{
				"transition": map[string]any{"id": done},
				"fields":     map[string]any{"resolution": map[string]any{"name": "Won't Do"}},
				"update":     map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": "false alarm"}}}},
			})
			if err != nil {
				t.Fatalf("Done with Won't Do and a comment: %v", err)
			}
			if is, _ := s.Issue("OPS-1"); is.Resolution != "Won't Do" || len(is.Comments) != 1 || is.Comments[0].Body != "false alarm" {
				t.Errorf("after Won't Do: %+v", is)
			}
		})
	}
}

func TestIssueLink(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, jiratest.WithDeployment(d))
			create(t, c, incident("one"))
			create(t, c, incident("two"))
			link := &jira.IssueLink{Type: jira.IssueLinkType{Name: "Blocks"}, InwardIssue: &jira.Issue{Key: "OPS-1"}, OutwardIssue: &jira.Issue{Key: "OPS-2"}}
			for range 2 { // the second is a no-op, as in Jira
				if resp, err := c.Issue.AddLink(link); err != nil || status(resp) != http.StatusCreated {
					t.Fatalf("link: %d %v", status(resp), err)
				}
			}
			one, _ := s.Issue("OPS-1")
			two, _ := s.Issue("OPS-2")
			if !slices.Equal(one.Links, []jiratest.Link{{Type: "Blocks", Direction: "outward", Key: "OPS-2"}}) ||
				!slices.Equal(two.Links, []jiratest.Link{{Type: "Blocks", Direction: "inward", Key: "OPS-1"}}) {
				t.Errorf("links: OPS-1 %v, OPS-2 %v", one.Links, two.Links)
			}
			got, _, _ := c.Issue.Get("OPS-1", nil)
			if l := got.Fields.IssueLinks; len(l) != 1 || l[0].OutwardIssue == nil || l[0].OutwardIssue.Key != "OPS-2" || l[0].Type.Outward != "blocks" {
				t.Errorf("OPS-1 issuelinks %+v", l)
			}

			if _, err := c.Issue.AddLink(&jira.IssueLink{Type: jira.IssueLinkType{Name: "Relates"}, InwardIssue: &jira.Issue{Key: "OPS-2"}, OutwardIssue: &jira.Issue{Key: "OPS-1"}}); err != nil {
				t.Fatal(err)
			}
			if one, _ := s.Issue("OPS-1"); len(one.Links) != 2 || one.Links[1] != (jiratest.Link{Type: "Relates", Direction: "inward", Key: "OPS-2"}) {
				t.Errorf("OPS-1 links %v", one.Links)
			}

			resp, err := c.Issue.AddLink(&jira.IssueLink{Type: jira.IssueLinkType{Name: "Duplicates"}, InwardIssue: &jira.Issue{Key: "OPS-1"}, OutwardIssue: &jira.Issue{Key: "OPS-2"}})
			if je := apiError(t, resp, err); status(resp) != http.StatusNotFound || !slices.Equal(je.ErrorMessages, []string{"No issue link type with name 'Duplicates' found."}) {
				t.Errorf("unknown type: %d %v", status(resp), je.ErrorMessages)
			}
			resp, err = c.Issue.AddLink(&jira.IssueLink{Type: jira.IssueLinkType{Name: "Relates"}, InwardIssue: &jira.Issue{Key: "OPS-1"}, OutwardIssue: &jira.Issue{Key: "OPS-77"}})
			if je := apiError(t, resp, err); status(resp) != http.StatusNotFound || len(je.ErrorMessages) != 1 {
				t.Errorf("unknown issue: %d %v", status(resp), je.ErrorMessages)
			}
			if one, _ := s.Issue("OPS-1"); len(one.Links) != 2 {
				t.Errorf("a rejected link was stored: %v", one.Links)
			}
		})
	}
}

// searchAll pages through /rest/api/2/search/jql with nextPageToken.
func searchAll(t *testing.T, c *jira.Client, jql string, opts jira.SearchOptionsV2) (keys []string, pages int) {
	t.Helper()
	for {
		issues, resp, err := c.Issue.SearchV2JQL(jql, &opts)
		if err != nil {
			t.Fatalf("search %q: %v", jql, err)
		}
		pages++
		for _, is := range issues {
			keys = append(keys, is.Key)
		}
		if resp.IsLast {
			if resp.NextPageToken != "" {
				t.Errorf("last page carries nextPageToken %q", resp.NextPageToken)
			}
			return keys, pages
		}
		if resp.NextPageToken == "" || pages > 20 {
			t.Fatalf("page %d is not the last but has no usable nextPageToken", pages)
		}
		opts.NextPageToken = resp.NextPageToken
	}
}

func TestSearchCloud(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	for i := range 5 {
		in := incident(fmt.Sprintf("issue %d", i+1))
		if i == 2 {
			in.Fields.Labels = []string{"warroom", "warroom-inc-7"}
		}
		create(t, c, in)
	}
	s.AddProject("DEV", "Development", "Bug")
	create(t, c, &jira.Issue{Fields: &jira.IssueFields{Project: jira.Project{Key: "DEV"}, Type: jira.IssueType{Name: "Bug"}, Summary: "dev", Labels: []string{"warroom-inc-142"}}})

	keys, pages := searchAll(t, c, `project = OPS AND labels = "warroom-inc-142" ORDER BY created ASC`,
		jira.SearchOptionsV2{MaxResults: 2, Fields: []string{"summary", "labels"}})
	if want := []string{"OPS-1", "OPS-2", "OPS-4", "OPS-5"}; !slices.Equal(keys, want) || pages != 2 {
		t.Errorf("found %v in %d pages, want %v in 2", keys, pages, want)
	}
	keys, _ = searchAll(t, c, `labels = warroom-inc-142 ORDER BY created DESC`, jira.SearchOptionsV2{MaxResults: 3, Fields: []string{"key"}})
	if want := []string{"DEV-1", "OPS-5", "OPS-4", "OPS-2", "OPS-1"}; !slices.Equal(keys, want) {
		t.Errorf("newest first across projects: %v, want %v", keys, want)
	}
	keys, _ = searchAll(t, c, `project = "Operations" AND labels in (warroom-inc-7, "nope")`, jira.SearchOptionsV2{Fields: []string{"summary"}})
	if !slices.Equal(keys, []string{"OPS-3"}) {
		t.Errorf("labels in (...): %v", keys)
	}

	// Without fields, Jira Cloud answers the issue id only.
	issues, _, err := c.Issue.SearchV2JQL("project = OPS", nil)
	if err != nil || len(issues) != 5 || issues[0].ID == "" || issues[0].Key != "" || issues[0].Fields != nil {
		t.Errorf("no fields: %+v %v, want ids only", issues, err)
	}
	// POST takes the same arguments in the body.
	var page struct {
		Issues        []jira.Issue
		IsLast        bool
		NextPageToken string
	}
	resp, err := raw(t, c, "POST", "rest/api/2/search/jql", map[string]any{"jql": "project = OPS AND labels = warroom-inc-7", "fields": []string{"summary"}, "maxResults": 10}, &page)
	if err != nil || status(resp) != http.StatusOK || len(page.Issues) != 1 || page.Issues[0].Fields.Summary != "issue 3" || !page.IsLast {
		t.Errorf("POST search/jql: %d %+v", status(resp), page)
	}

	// A token belongs to its query.
	_, resp1, _ := c.Issue.SearchV2JQL("project = OPS", &jira.SearchOptionsV2{MaxResults: 1, Fields: []string{"key"}})
	_, resp2, err := c.Issue.SearchV2JQL("project = DEV", &jira.SearchOptionsV2{NextPageToken: resp1.NextPageToken})
	if je := apiError(t, resp2, err); status(resp2) != http.StatusBadRequest || len(je.ErrorMessages) == 0 {
		t.Errorf("token of another query: %d %v", status(resp2), je)
	}

	// The old endpoint is gone on Cloud.
	_, resp, err = c.Issue.Search("project = OPS", nil)
	je := apiError(t, resp, err)
	if status(resp) != http.StatusGone || len(je.ErrorMessages) != 1 || !strings.Contains(je.ErrorMessages[0], "The requested API has been removed") {
		t.Errorf("GET /search on Cloud: %d %v, want 410", status(resp), je.ErrorMessages)
	}
	resp, _ = raw(t, c, "POST", "rest/api/2/search", map[string]any{"jql": "project = OPS"}, nil)
	if status(resp) != http.StatusGone {
		t.Errorf("POST /search on Cloud: %d, want 410", status(resp))
	}
}

// Jira Cloud may answer fewer issues than maxResults when fields are asked
// for; the fake pages those by 100, so only nextPageToken gets them all.
func TestSearchCloudPageSize(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	for i := range 120 {
		create(t, c, incident(fmt.Sprintf("issue %d", i)))
	}
	issues, resp, err := c.Issue.SearchV2JQL("project = OPS", &jira.SearchOptionsV2{MaxResults: 500, Fields: []string{"summary"}})
	if err != nil || len(issues) != 100 || resp.IsLast || resp.NextPageToken == "" {
		t.Errorf("maxResults 500 with fields: %d issues, isLast %v, %v", len(issues), resp.IsLast, err)
	}
	keys, pages := searchAll(t, c, "project = OPS", jira.SearchOptionsV2{MaxResults: 500, Fields: []string{"summary"}})
	if len(keys) != 120 || pages != 2 {
		t.Errorf("%d issues in %d pages, want 120 in 2", len(keys), pages)
	}
	// Asking for ids or keys only, a page holds up to 5000.
	if issues, _, _ := c.Issue.SearchV2JQL("project = OPS", &jira.SearchOptionsV2{MaxResults: 500, Fields: []string{"key"}}); len(issues) != 120 {
		t.Errorf("keys only: %d issues in one page, want 120", len(issues))
	}
}

func TestSearchDataCenter(t *testing.T) {
	t.Parallel()
	_, c := start(t, jiratest.WithDeployment(jiratest.DataCenter))
	for i := range 5 {
		create(t, c, incident(fmt.Sprintf("issue %d", i+1)))
	}
	var keys []string
	err := c.Issue.SearchPages(`project = OPS AND labels = "warroom-inc-142" ORDER BY created ASC`,
		&jira.SearchOptions{MaxResults: 2, Fields: []string{"summary"}}, func(is jira.Issue) error {
			keys = append(keys, is.Key)
			return nil
		})
	if err != nil || !slices.Equal(keys, []string{"OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5"}) {
		t.Errorf("SearchPages: %v %v", keys, err)
	}
	issues, resp, err := c.Issue.Search("project = OPS", &jira.SearchOptions{StartAt: 4, MaxResults: 2})
	if err != nil || resp.Total != 5 || resp.StartAt != 4 || len(issues) != 1 || issues[0].Key != "OPS-1" || issues[0].Fields.Summary != "issue 1" {
		t.Errorf("startAt 4: total %d, %d issues, %v", resp.Total, len(issues), err)
	}

	// Data Center's SearchRequestBean refuses properties it does not know.
	resp, err = raw(t, c, "POST", "rest/api/2/search", map[string]any{"jql": "project = OPS", "nextPageToken": "x"}, nil)
	if je := apiError(t, resp, err); status(resp) != http.StatusBadRequest || !strings.HasPrefix(je.ErrorMessages[0], `Unrecognized field "nextPageToken"`) {
		t.Errorf("POST /search with nextPageToken: %d %v", status(resp), je.ErrorMessages)
	}
	// There is no enhanced search on Data Center.
	_, resp, err = c.Issue.SearchV2JQL("project = OPS", nil)
	if status(resp) != http.StatusNotFound || err == nil {
		t.Errorf("search/jql on Data Center: %d %v, want 404", status(resp), err)
	}
}

func TestSearchJQLSubset(t *testing.T) {
	t.Parallel()
	refused := []struct {
		jql  string
		want string // part of the message
	}{
		{`project = OPS OR labels = x`, "only AND"},
		{`project != OPS`, "operator"},
		{`status = Done`, `field "status"`},
		{`summary ~ "error"`, `field "summary"`},
		{`text ~ "error"`, `field "text"`},
		{`labels not in (a)`, "operator"},
		{`project = OPS ORDER BY updated DESC`, "only created"},
		{`project in (OPS)`, "operator"},
		{`labels = currentUser()`, "functions"},
		{`project = NOPE`, "The value 'NOPE' does not exist for the field 'project'."},
		{`labels = warroom.inc`, "The character '.' is a reserved JQL character."},
		{`labels = empty`, "is a reserved JQL word"},
		{`labels = "unterminated`, "has not been completed"},
		{`project =`, "Expecting either a value"},
		{`project = OPS AND`, "Expecting a field name"},
		{``, "Unbounded JQL"},
		{`ORDER BY created DESC`, "Unbounded JQL"},
	}
	s, c := start(t)
	create(t, c, incident("x"))
	for _, tc := range refused {
		_, resp, err := c.Issue.SearchV2JQL(tc.jql, &jira.SearchOptionsV2{Fields: []string{"key"}})
		if status(resp) != http.StatusBadRequest || err == nil {
			t.Errorf("%q: answered %d, want 400", tc.jql, status(resp))
			continue
		}
		if je := apiError(t, resp, err); len(je.ErrorMessages) != 1 || !strings.Contains(je.ErrorMessages[0], tc.want) {
			t.Errorf("%q: %v, want a message with %q", tc.jql, je.ErrorMessages, tc.want)
		}
	}
	// Data Center would match everything for an empty query; the fake refuses.
	_, dc := start(t, jiratest.WithDeployment(jiratest.DataCenter))
	if _, resp, _ := dc.Issue.Search("", nil); status(resp) != http.StatusBadRequest {
		t.Errorf("empty JQL on Data Center: %d, want 400", status(resp))
	}
	if n := s.CallCount("GET", "/rest/api/2/search/jql"); n != len(refused) {
		t.Errorf("CallCount = %d, want %d", n, len(refused))
	}
}

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSearchLag(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	_, c := start(t, jiratest.WithSearchLag(30*time.Second), jiratest.WithClock(clk.Now))
	created := create(t, c, incident("lagging"))

	const jql = `labels = "warroom-inc-142"`
	opts := &jira.SearchOptionsV2{Fields: []string{"key"}}
	if issues, _, err := c.Issue.SearchV2JQL(jql, opts); err != nil || len(issues) != 0 {
		t.Errorf("right after create: %v %v, want nothing yet", issues, err)
	}
	if _, _, err := c.Issue.Get(created.Key, nil); err != nil {
		t.Errorf("GET right after create: %v", err)
	}
	var id int
	if _, err := fmt.Sscan(created.ID, &id); err != nil {
		t.Fatalf("issue id %q: %v", created.ID, err)
	}
	if issues, _, _ := c.Issue.SearchV2JQL(jql, &jira.SearchOptionsV2{Fields: []string{"key"}, ReconcileIssues: []int{id}}); len(issues) != 1 {
		t.Errorf("with reconcileIssues: %d issues, want 1", len(issues))
	}
	clk.Add(29 * time.Second)
	if issues, _, _ := c.Issue.SearchV2JQL(jql, opts); len(issues) != 0 {
		t.Errorf("after 29s: %d issues, want 0", len(issues))
	}
	clk.Add(time.Second)
	if issues, _, _ := c.Issue.SearchV2JQL(jql, opts); len(issues) != 1 || issues[0].Key != created.Key {
		t.Errorf("after 30s: %v, want %s", issues, created.Key)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		deployment string
		auth       func(*http.Request)
	}{
		{"cloud without credentials", jiratest.Cloud, func(*http.Request) {}},
		{"cloud wrong token", jiratest.Cloud, func(r *http.Request) { r.SetBasicAuth(jiratest.DefaultEmail, "wrong") }},
		{"cloud wrong email", jiratest.Cloud, func(r *http.Request) { r.SetBasicAuth("other@example.com", jiratest.DefaultAPIToken) }},
		{"cloud bearer", jiratest.Cloud, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+jiratest.DefaultAPIToken) }},
		{"datacenter without credentials", jiratest.DataCenter, func(*http.Request) {}},
		{"datacenter wrong PAT", jiratest.DataCenter, func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }},
		{"datacenter basic", jiratest.DataCenter, func(r *http.Request) { r.SetBasicAuth(jiratest.DefaultEmail, jiratest.DefaultPAT) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := jiratest.New(jiratest.WithDeployment(tc.deployment))
			defer s.Close()
			for _, path := range []string{"/rest/api/2/myself", "/rest/api/2/issue"} {
				method, body := "GET", ""
				if path == "/rest/api/2/issue" {
					method, body = "POST", `{"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Bug"},"summary":"x"}}`
				}
				req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				tc.auth(req)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s: %d, want 401", method, path, resp.StatusCode)
				}
				wantType := "text/plain" // Jira Cloud's 401 is not in its JSON error shape
				if tc.deployment == jiratest.DataCenter {
					wantType = "application/json"
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) || len(b) == 0 {
					t.Errorf("%s %s: 401 as %q %q", method, path, ct, b)
				}
			}
			if len(s.Issues()) != 0 {
				t.Error("an unauthenticated create made an issue")
			}
		})
	}

	// The right credentials work, and serverInfo answers anyone, as Jira's does.
	for _, d := range deployments {
		_, c := start(t, jiratest.WithDeployment(d))
		me, _, err := c.User.GetSelf()
		if err != nil || me.DisplayName == "" {
			t.Errorf("%s myself: %+v %v", d, me, err)
		}
	}
	s, _ := start(t, jiratest.WithBasicAuth("ops@example.com", "tok"))
	c, _ := jira.NewClient((&jira.BasicAuthTransport{Username: "ops@example.com", Password: "tok"}).Client(), s.URL())
	if _, _, err := c.User.GetSelf(); err != nil {
		t.Errorf("WithBasicAuth credentials refused: %v", err)
	}
	s, _ = start(t, jiratest.WithDeployment(jiratest.DataCenter), jiratest.WithBearer("pat-2"))
	c, _ = jira.NewClient((&jira.PATAuthTransport{Token: "pat-2"}).Client(), s.URL())
	if _, _, err := c.User.GetSelf(); err != nil {
		t.Errorf("WithBearer token refused: %v", err)
	}
}

func TestServerInfo(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]string{jiratest.Cloud: "Cloud", jiratest.DataCenter: "DataCenter"} {
		s, _ := start(t, jiratest.WithDeployment(d))
		resp, err := http.Get(s.URL() + "/rest/api/2/serverInfo") // anonymous
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ DeploymentType, BaseURL string }
		err = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || info.DeploymentType != want || info.BaseURL != s.URL() {
			t.Errorf("%s serverInfo: %d %+v", d, resp.StatusCode, info)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.FailNext("POST /rest/api/2/issue", jiratest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	_, resp, err := c.Issue.Create(incident("limited"))
	if err == nil || status(resp) != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("answered %d Retry-After %q, want 429 with Retry-After 2", status(resp), resp.Header.Get("Retry-After"))
	}
	if len(s.Issues()) != 0 {
		t.Fatal("a rate-limited create made an issue")
	}
	if got := create(t, c, incident("after the limit")); got.Key != "OPS-1" {
		t.Errorf("next create made %s, want OPS-1", got.Key)
	}

	// Queued faults fail the next calls in order; a 5xx may carry Retry-After.
	s.FailNext("GET /rest/api/2/issue/{key}", jiratest.Fault{Status: http.StatusTooManyRequests})
	s.FailNext("GET /rest/api/2/issue/{key}", jiratest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second})
	_, r1, _ := c.Issue.Get("OPS-1", nil)
	_, r2, _ := c.Issue.Get("OPS-1", nil)
	_, _, err = c.Issue.Get("OPS-1", nil)
	if status(r1) != 429 || r1.Header.Get("Retry-After") != "1" || status(r2) != 503 || r2.Header.Get("Retry-After") != "3" || err != nil {
		t.Errorf("queued faults: %d %q, %d %q, then %v", status(r1), r1.Header.Get("Retry-After"), status(r2), r2.Header.Get("Retry-After"), err)
	}
	calls := s.Calls()
	if last := calls[len(calls)-3]; last.Status != 429 || last.Route != "GET /rest/api/2/issue/{key}" {
		t.Errorf("recorded %+v", last)
	}
}

func TestLostAnswer(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	s, c := start(t, jiratest.WithSearchLag(5*time.Second), jiratest.WithClock(clk.Now))
	s.FailNext("POST /rest/api/2/issue", jiratest.Fault{Lost: true})
	_, resp, err := c.Issue.Create(incident("made, answer lost"))
	if err == nil || status(resp) != http.StatusInternalServerError {
		t.Fatalf("lost create answered %d %v, want 500", status(resp), err)
	}
	if issues := s.Issues(); len(issues) != 1 || issues[0].Key != "OPS-1" {
		t.Fatalf("the lost create should have taken effect: %+v", issues)
	}
	// A retry that searches first finds it once the index has caught up.
	clk.Add(5 * time.Second)
	found, _, err := c.Issue.SearchV2JQL(`project = OPS AND labels = "warroom-inc-142"`, &jira.SearchOptionsV2{Fields: []string{"key"}})
	if err != nil || len(found) != 1 || found[0].Key != "OPS-1" {
		t.Errorf("search after the lost create: %v %v", found, err)
	}

	s.FailNext("POST /rest/api/2/issue/{key}/comment", jiratest.Fault{Lost: true, Status: http.StatusBadGateway})
	_, resp, _ = c.Issue.AddComment("OPS-1", &jira.Comment{Body: "once"})
	if is, _ := s.Issue("OPS-1"); status(resp) != http.StatusBadGateway || len(is.Comments) != 1 {
		t.Errorf("lost comment: %d, %d comments stored", status(resp), len(is.Comments))
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.FailNext("POST /rest/api/2/issue", jiratest.Fault{Delay: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Issue.CreateWithContext(ctx, incident("slow")); err == nil {
		t.Fatal("the client should have given up")
	}
	// The call is recorded once the server has seen the client go: then
	// it has ended, without effect.
	deadline := time.Now().Add(5 * time.Second)
	for s.CallCount(http.MethodPost, "/rest/api/2/issue") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned call was not recorded once its client went away")
		}
		time.Sleep(5 * time.Millisecond) // polling the record
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Status != 0 || last.Route != "POST /rest/api/2/issue" {
		t.Errorf("recorded %+v, want status 0 for a client that went away", last)
	}
	if len(s.Issues()) != 0 {
		t.Error("a call whose client gave up during the delay took effect")
	}
	// A delay alone lets the call through.
	s.FailNext("POST /rest/api/2/issue", jiratest.Fault{Delay: 10 * time.Millisecond})
	if got := create(t, c, incident("delayed")); got.Key != "OPS-1" {
		t.Errorf("delayed create made %s", got.Key)
	}
}

func TestFailNextUnknownRoute(t *testing.T) {
	t.Parallel()
	s, _ := start(t)
	defer func() {
		if recover() == nil {
			t.Error("FailNext on an unknown route should panic")
		}
	}()
	s.FailNext("POST /rest/api/2/issues", jiratest.Fault{Status: 500})
}

func TestRequestChecks(t *testing.T) {
	t.Parallel()
	s, _ := start(t)
	send := func(contentType string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.URL()+"/rest/api/2/issue", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.SetBasicAuth(jiratest.DefaultEmail, jiratest.DefaultAPIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	big := append([]byte(`{"fields":{"summary":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, `"}}`...)
	if code, _ := send("application/json", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d, want 413", code)
	}
	code, out := send("application/json", []byte(`{"fields":`))
	if msgs, _ := out["errorMessages"].([]any); code != http.StatusBadRequest || len(msgs) != 1 {
		t.Errorf("malformed JSON: %d %v, want 400 with an errorMessages entry", code, out)
	}
	if code, _ := send("text/plain", []byte(`{"fields":{}}`)); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d, want 415", code)
	}
	if len(s.Issues()) != 0 {
		t.Error("a refused request made an issue")
	}
}

func TestCreateMeta(t *testing.T) {
	t.Parallel()
	type field struct {
		FieldID  string
		Name     string
		Required bool
	}
	for _, d := range deployments {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			_, c := start(t, jiratest.WithDeployment(d))
			// Cloud names the list, Data Center calls it values.
			var types struct {
				IssueTypes, Values []jira.IssueType
				Total              int
			}
			if _, err := raw(t, c, "GET", "rest/api/2/issue/createmeta/OPS/issuetypes", nil, &types); err != nil {
				t.Fatal(err)
			}
			list := types.IssueTypes
			if d == jiratest.DataCenter {
				list = types.Values
			}
			if types.Total != 2 || len(list) != 2 || list[0].Name != "Incident" || list[1].Name != "Bug" {
				t.Fatalf("issue types %+v", types)
			}
			fieldsOf := func(typeID string) map[string]field {
				var page struct{ Fields, Values []field }
				if _, err := raw(t, c, "GET", "rest/api/2/issue/createmeta/OPS/issuetypes/"+typeID, nil, &page); err != nil {
					t.Fatal(err)
				}
				out := map[string]field{}
				for _, f := range append(page.Fields, page.Values...) {
					out[f.FieldID] = f
				}
				return out
			}
			incidentFields, bugFields := fieldsOf(list[0].ID), fieldsOf(list[1].ID)
			if f := incidentFields["customfield_10001"]; f.Name != "Team" || f.Required {
				t.Errorf("Incident's Team field: %+v", f)
			}
			if !incidentFields["summary"].Required || !incidentFields["project"].Required || incidentFields["labels"].Required {
				t.Errorf("Incident fields %+v", incidentFields)
			}
			if _, has := bugFields["customfield_10001"]; has || len(bugFields) == 0 {
				t.Errorf("Bug fields %+v: Team is on Incident's screen only", bugFields)
			}
			if resp, _ := raw(t, c, "GET", "rest/api/2/issue/createmeta/NOPE/issuetypes", nil, nil); status(resp) != http.StatusNotFound {
				t.Errorf("unknown project: %d, want 404", status(resp))
			}
			if resp, _ := raw(t, c, "GET", "rest/api/2/issue/createmeta/OPS/issuetypes/1", nil, nil); status(resp) != http.StatusNotFound {
				t.Errorf("unknown issue type: %d, want 404", status(resp))
			}
		})
	}
}

func TestPrioritiesAndProject(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	ps, _, err := c.Priority.GetList()
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if err != nil || !slices.Equal(names, []string{"Highest", "High", "Medium", "Low", "Lowest"}) {
		t.Errorf("priorities %v %v", names, err)
	}
	p, _, err := c.Project.Get("OPS")
	if err != nil || p.Name != "Operations" || len(p.IssueTypes) != 2 {
		t.Errorf("project %+v %v", p, err)
	}
	_, resp, err := c.Project.Get("NOPE")
	if je := apiError(t, resp, err); status(resp) != http.StatusNotFound || !slices.Equal(je.ErrorMessages, []string{"No project could be found with key 'NOPE'."}) {
		t.Errorf("unknown project: %d %v", status(resp), je.ErrorMessages)
	}
	s.AddCustomField("customfield_10020", "Service", true)
	in := incident("with service")
	in.Fields.Type.Name = "Bug"
	in.Fields.Unknowns = tcontainer.MarshalMap{"customfield_10020": "payments"}
	create(t, c, in)
	s.AddCustomField("customfield_10020", "Service", false)
	if _, resp, err := c.Issue.Create(in); status(resp) != http.StatusBadRequest || apiError(t, resp, err).Errors["customfield_10020"] == "" {
		t.Errorf("a field taken off the screen was accepted: %d", status(resp))
	}
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	var wg sync.WaitGroup
	keys := make(chan string, 20)
	for i := range 20 {
		wg.Go(func() {
			got, _, err := c.Issue.Create(incident(fmt.Sprintf("concurrent %d", i)))
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			keys <- got.Key
		})
	}
	wg.Wait()
	close(keys)
	seen := map[string]bool{}
	for k := range keys {
		seen[k] = true
	}
	if len(seen) != 20 || len(s.Issues()) != 20 || !seen["OPS-1"] || !seen["OPS-20"] {
		t.Errorf("%d distinct keys, %d issues", len(seen), len(s.Issues()))
	}
	if n := s.CallCount("POST", "/rest/api/2/issue"); n != 20 {
		t.Errorf("CallCount = %d, want 20", n)
	}
}

// Hang files the issue and then answers nothing until the client goes
// away: a process killed in the middle of a create that reached Jira.
func TestHang(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.FailNext("POST /rest/api/2/issue", jiratest.Fault{Lost: true, Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.Issue.CreateWithContext(ctx, incident("hung")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung create: %v, want the client's deadline", err)
	}
	if issues := s.Issues(); len(issues) != 1 {
		t.Fatalf("the hung create should have taken effect: %+v", issues)
	}
	creates := func() (out []jiratest.Call) {
		for _, call := range s.Calls() {
			if call.Route == "POST /rest/api/2/issue" {
				out = append(out, call)
			}
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(creates()) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the hung call was not recorded once its client went away")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if call := creates()[0]; call.Status != 0 {
		t.Errorf("recorded %+v, want status 0 (no answer)", call)
	}
}
