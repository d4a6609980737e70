package slack_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	islack "github.com/warroom/warroom/integrations/slack"
)

const testToken = "xoxb-test-token"

// answer is what the fake Slack answers to one call.
type answer struct {
	status  int
	headers map[string]string
	body    string
	// hangUp drops the connection without an answer (a transport error).
	hangUp bool
}

// slackAPI is a one-answer Slack: it checks that the call is the expected
// method, posted with the bot token, and answers a.
func slackAPI(t *testing.T, method string, a answer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/"+method {
			t.Errorf("call %s %s, want POST /api/%s", r.Method, r.URL.Path, method)
			http.Error(w, "unexpected call", http.StatusNotFound)
			return
		}
		// slack-go sends the token as a form field, or as a bearer token
		// with a JSON body.
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		if tok := r.Form.Get("token"); tok != testToken && r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("call without the bot token (form %q, Authorization %q)", tok, r.Header.Get("Authorization"))
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
	return srv.URL + "/api/"
}

// The typed client turns each answer of Slack into the classification
// the war-room steps act on: wait for Retry-After, give up (permanent),
// or retry (a 5xx or no answer; for a create the channel may exist, which
// the retry learns from name_taken).
func TestClientErrorClassification(t *testing.T) {
	t.Parallel()
	create := func(ctx context.Context, c *islack.Client) error {
		_, err := c.CreateChannel(ctx, "inc-20261206-payments", false)
		return err
	}
	post := func(ctx context.Context, c *islack.Client) error {
		_, _, err := c.Post(ctx, "C0123", islack.Message{Text: "war room"})
		return err
	}
	tests := []struct {
		name       string
		method     string
		call       func(context.Context, *islack.Client) error
		answer     answer
		wantErr    bool
		code       string
		retryAfter time.Duration // > 0: RetryAfter must report it
		permanent  bool
		server     bool
	}{
		{name: "created", method: "conversations.create", call: create,
			answer: answer{status: 200, body: `{"ok":true,"channel":{"id":"C0123","name":"inc-20261206-payments"}}`}},
		{name: "posted", method: "chat.postMessage", call: post,
			answer: answer{status: 200, body: `{"ok":true,"channel":"C0123","ts":"1733450000.000100"}`}},
		{name: "bad token", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"invalid_auth"}`}, code: "invalid_auth", permanent: true},
		{name: "missing scope", method: "conversations.create", call: create, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"missing_scope","needed":"channels:manage"}`}, code: "missing_scope", permanent: true},
		{name: "refused payload", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"invalid_blocks"}`}, code: "invalid_blocks", permanent: true},
		{name: "channel gone", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"is_archived"}`}, code: "is_archived", permanent: true},
		{name: "name taken is a code the step handles, not a failure", method: "conversations.create", call: create, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"name_taken"}`}, code: "name_taken"},
		{name: "unknown code is retried", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 200, body: `{"ok":false,"error":"fatal_error"}`}, code: "fatal_error"},
		{name: "rate limited", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 429, headers: map[string]string{"Retry-After": "7"}, body: `{"ok":false,"error":"ratelimited"}`}, retryAfter: 7 * time.Second},
		{name: "rate limited create", method: "conversations.create", call: create, wantErr: true,
			answer: answer{status: 429, headers: map[string]string{"Retry-After": "30"}}, retryAfter: 30 * time.Second},
		{name: "server error on a create", method: "conversations.create", call: create, wantErr: true,
			answer: answer{status: 500, body: `oops`}, server: true},
		{name: "unavailable", method: "chat.postMessage", call: post, wantErr: true,
			answer: answer{status: 503, headers: map[string]string{"Retry-After": "5"}}, server: true},
		{name: "no answer", method: "conversations.create", call: create, wantErr: true,
			answer: answer{hangUp: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := islack.New(testToken, slackAPI(t, tt.method, tt.answer), nil)
			err := tt.call(t.Context(), c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := islack.ErrorCode(err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q (err %v)", got, tt.code, err)
			}
			wait, ok := islack.RetryAfter(err)
			if ok != (tt.retryAfter > 0) || wait != tt.retryAfter {
				t.Errorf("RetryAfter = %s, %v; want %s, %v (err %v)", wait, ok, tt.retryAfter, tt.retryAfter > 0, err)
			}
			if got := islack.Permanent(err); got != tt.permanent {
				t.Errorf("Permanent = %v, want %v (err %v)", got, tt.permanent, err)
			}
			if got := islack.ServerError(err); got != tt.server {
				t.Errorf("ServerError = %v, want %v (err %v)", got, tt.server, err)
			}
			if err != nil && errors.Is(err, context.Canceled) {
				t.Errorf("err %v claims a cancellation", err)
			}
		})
	}
}
