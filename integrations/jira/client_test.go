package jira_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ijira "github.com/warroom/warroom/integrations/jira"
)

// answer is what the fake Jira answers to one call.
type answer struct {
	status  int
	headers map[string]string
	body    string
	// hangUp drops the connection without an answer (a transport error).
	hangUp bool
}

// jiraAPI is a one-answer Jira: it checks that the call is the expected
// method and path, authenticated, and answers a.
func jiraAPI(t *testing.T, method, path string, a answer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method || r.URL.Path != path {
			t.Errorf("call %s %s, want %s %s", r.Method, r.URL.Path, method, path)
			http.Error(w, "unexpected call", http.StatusNotFound)
			return
		}
		if user, pass, ok := r.BasicAuth(); !ok || user != "sre@example.com" || pass != "api-token" {
			t.Errorf("call without the account's credentials (Authorization %q)", r.Header.Get("Authorization"))
		}
		if a.hangUp {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close()
			return
		}
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The typed client turns each answer of Jira into the classification the
// ticket steps act on: wait for Retry-After (snooze), give up
// (permanent), or retry, and for a create whose outcome is unknown, search
// before filing again.
func TestClientErrorClassification(t *testing.T) {
	t.Parallel()
	create := func(ctx context.Context, c *ijira.Client) error {
		_, err := c.Create(ctx, ijira.NewIssue{Project: "OPS", IssueType: "Incident", Summary: "payments: HighErrorRate", Labels: []string{"warroom"}})
		return err
	}
	comment := func(ctx context.Context, c *ijira.Client) error {
		return c.AddComment(ctx, "OPS-7", "resolved")
	}
	search := func(ctx context.Context, c *ijira.Client) error {
		_, err := c.FindByLabel(ctx, "OPS", "warroom-inc-1")
		return err
	}
	const (
		issuePath   = "/rest/api/2/issue"
		commentPath = "/rest/api/2/issue/OPS-7/comment"
		searchPath  = "/rest/api/2/search/jql"
	)
	tests := []struct {
		name       string
		method     string
		path       string
		call       func(context.Context, *ijira.Client) error
		answer     answer
		wantErr    bool
		retryAfter bool
		wait       time.Duration
		permanent  bool
		unknown    bool
		message    string // the error names it
	}{
		{name: "created", method: http.MethodPost, path: issuePath, call: create,
			answer: answer{status: 201, body: `{"id":"10001","key":"OPS-7"}`}},
		{name: "unknown field", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer:    answer{status: 400, body: `{"errorMessages":[],"errors":{"customfield_10010":"Field 'customfield_10010' cannot be set."}}`},
			permanent: true, message: "customfield_10010: Field 'customfield_10010' cannot be set."},
		{name: "bad credentials", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{status: 401, body: `{"errorMessages":["You are not authenticated."]}`}, permanent: true, message: "You are not authenticated."},
		{name: "no permission", method: http.MethodPost, path: commentPath, call: comment, wantErr: true,
			answer: answer{status: 403, body: `{"errorMessages":["You do not have permission to comment."]}`}, permanent: true, message: "permission"},
		{name: "issue gone", method: http.MethodPost, path: commentPath, call: comment, wantErr: true,
			answer: answer{status: 404, body: `{"errorMessages":["Issue does not exist or you do not have permission to see it."]}`}, permanent: true, message: "does not exist"},
		{name: "rate limited", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{status: 429, headers: map[string]string{"Retry-After": "7"}}, retryAfter: true, wait: 7 * time.Second},
		{name: "unavailable with Retry-After", method: http.MethodPost, path: commentPath, call: comment, wantErr: true,
			answer: answer{status: 503, headers: map[string]string{"Retry-After": "20"}}, retryAfter: true, wait: 20 * time.Second},
		{name: "unavailable without Retry-After", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{status: 503}, retryAfter: true},
		{name: "server error on a create", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{status: 500, body: `{"errorMessages":["Internal server error"]}`}, unknown: true, message: "Internal server error"},
		{name: "bad gateway", method: http.MethodPost, path: commentPath, call: comment, wantErr: true,
			answer: answer{status: 502, body: `<html>bad gateway</html>`}, unknown: true, message: "HTTP 502"},
		{name: "request timeout", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{status: 408}, unknown: true},
		{name: "no answer", method: http.MethodPost, path: issuePath, call: create, wantErr: true,
			answer: answer{hangUp: true}, unknown: true},
		{name: "search found nothing", method: http.MethodGet, path: searchPath, call: search,
			answer: answer{status: 200, body: `{"issues":[]}`}},
		{name: "search refused", method: http.MethodGet, path: searchPath, call: search, wantErr: true,
			answer: answer{status: 400, body: `{"errorMessages":["Field 'labels' does not exist."],"errors":{}}`}, permanent: true, message: "Field 'labels' does not exist."},
		{name: "search rate limited", method: http.MethodGet, path: searchPath, call: search, wantErr: true,
			answer: answer{status: 429, headers: map[string]string{"Retry-After": "3"}}, retryAfter: true, wait: 3 * time.Second},
		{name: "search server error", method: http.MethodGet, path: searchPath, call: search, wantErr: true,
			answer: answer{status: 500, body: `{"errorMessages":["boom"]}`}, unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ijira.New(ijira.Options{URL: jiraAPI(t, tt.method, tt.path, tt.answer), Deployment: ijira.Cloud,
				Email: "sre@example.com", APIToken: "api-token", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(t.Context(), c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			wait, ok := ijira.RetryAfter(err)
			if ok != tt.retryAfter || wait != tt.wait {
				t.Errorf("RetryAfter = %s, %v; want %s, %v (err %v)", wait, ok, tt.wait, tt.retryAfter, err)
			}
			if got := ijira.Permanent(err); got != tt.permanent {
				t.Errorf("Permanent = %v, want %v (err %v)", got, tt.permanent, err)
			}
			if got := ijira.OutcomeUnknown(err); got != tt.unknown {
				t.Errorf("OutcomeUnknown = %v, want %v (err %v)", got, tt.unknown, err)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not name %q", err, tt.message)
			}
		})
	}
}

// A cancelled call is neither permanent nor of unknown outcome: the job
// did not run to an answer, and is run again as it was.
func TestClientCancelled(t *testing.T) {
	t.Parallel()
	c, err := ijira.New(ijira.Options{URL: jiraAPI(t, http.MethodPost, "/rest/api/2/issue", answer{status: 201, body: `{"key":"OPS-7"}`}),
		Deployment: ijira.Cloud, Email: "sre@example.com", APIToken: "api-token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Create(ctx, ijira.NewIssue{Project: "OPS", IssueType: "Incident", Summary: "s"})
	if err == nil {
		t.Fatal("a cancelled create succeeded")
	}
	if ijira.Permanent(err) || ijira.OutcomeUnknown(err) {
		t.Errorf("cancelled create: Permanent %v, OutcomeUnknown %v; want neither (err %v)", ijira.Permanent(err), ijira.OutcomeUnknown(err), err)
	}
	if _, ok := ijira.RetryAfter(err); ok {
		t.Errorf("cancelled create asks to wait (err %v)", err)
	}
}
