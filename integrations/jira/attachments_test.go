package jira_test

import (
	"context"
	"net/http"
	"testing"

	ijira "github.com/warroom/warroom/integrations/jira"
	"github.com/warroom/warroom/integrations/jira/jiratest"
)

// Attach sends what Jira asks of a multipart request (the XSRF header as
// documented, the part named "file"), on both deployments; Attachments
// lists what the issue has.
func TestAttach(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{ijira.Cloud, ijira.DataCenter} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			fake := jiratest.New(jiratest.WithDeployment(mode))
			t.Cleanup(fake.Close)
			o := ijira.Options{URL: fake.URL(), Deployment: mode, Email: jiratest.DefaultEmail, APIToken: jiratest.DefaultAPIToken}
			if mode == ijira.DataCenter {
				o = ijira.Options{URL: fake.URL(), Deployment: mode, PAT: jiratest.DefaultPAT}
			}
			c, err := ijira.New(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			key, err := c.Create(ctx, ijira.NewIssue{Project: "OPS", IssueType: "Incident", Summary: "pool exhausted"})
			if err != nil {
				t.Fatal(err)
			}
			if as, err := c.Attachments(ctx, key); err != nil || len(as) != 0 {
				t.Fatalf("attachments of a new issue: %v, %v", as, err)
			}
			if err := c.Attach(ctx, key, "INC-1-postmortem-9.md", []byte("# Postmortem\n")); err != nil {
				t.Fatal(err)
			}
			as, err := c.Attachments(ctx, key)
			if err != nil || len(as) != 1 || as[0].Filename != "INC-1-postmortem-9.md" || as[0].Size != 13 {
				t.Fatalf("attachments %+v, %v", as, err)
			}
			if is, _ := fake.Issue(key); string(is.Attachments[0].Content) != "# Postmortem\n" {
				t.Errorf("content %q", is.Attachments[0].Content)
			}
			// A lost answer may have attached the file: the caller looks.
			fake.FailNext("POST /rest/api/2/issue/{key}/attachments", jiratest.Fault{Lost: true})
			err = c.Attach(ctx, key, "again.md", []byte("x"))
			if !ijira.OutcomeUnknown(err) {
				t.Errorf("lost answer: %v, want an unknown outcome", err)
			}
			if err := c.Attach(ctx, "OPS-999", "x.md", []byte("x")); !ijira.Permanent(err) {
				t.Errorf("unknown issue: %v, want a failure for good", err)
			}
			if n := fake.CallCount(http.MethodPost, "/rest/api/2/issue/"+key+"/attachments"); n != 2 {
				t.Errorf("%d attach calls, want 2", n)
			}
		})
	}
}
