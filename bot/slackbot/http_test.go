package slackbot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/integrations/alertmanager"
	"github.com/warroom/warroom/integrations/alertmanager/amtest"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/rules"
)

const testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// testEnv is what the Slack surface works on, wired as the composition
// root wires it: a SQLite store, the incident service with the default
// channel names and archive delay, and the actions executor for silences
// (with Alertmanager at amURL, or none), all on one test clock. The clock
// stands at the present, since slack-go checks a request's timestamp
// against the wall clock too.
type testEnv struct {
	store *sqlstore.Store
	svc   *incident.Service
	deps  Deps
	clock *clocktest.Clock
}

func newTestEnv(tb testing.TB, perms map[string][]string, dir Directory, secret, amURL string) testEnv {
	tb.Helper()
	store, err := sqlstore.Open(context.Background(), "sqlite", filepath.Join(tb.TempDir(), "warroom.db"), sqlstore.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	set, err := rules.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
	svc := incident.NewService(store, set, incident.Options{
		Now:          clock.Now,
		ArchiveAfter: config.DefaultArchiveAfter,
		ChannelName: func(inc *incident.Incident, n int64) string {
			return slackmsg.ChannelName(config.DefaultChannelPrefix, inc.OpenedAt, inc.Service, n)
		},
	})
	var silences *alertmanager.SilenceClient
	if amURL != "" {
		silences = alertmanager.NewSilenceClient(amURL, nil)
	}
	log := slog.New(slog.DiscardHandler)
	silencer := actions.New(steps.Deps{Store: store, Service: svc, Rules: set, Log: log, Now: clock.Now}, silences, "", nil)
	return testEnv{store: store, svc: svc, clock: clock, deps: Deps{Service: svc, Store: store,
		Settings:      Static(Settings{Rules: set, Hosts: render.NewHosts(nil, amURL), Permissions: perms, Directory: dir, Silencer: silencer}),
		SigningSecret: secret, Log: log, Now: clock.Now}}
}

// slackFixture is a Slack surface on a store, with a fake directory and a
// recorder standing in for hooks.slack.com.
type slackFixture struct {
	t     *testing.T
	bot   *Surface
	svc   *incident.Service
	store incident.Store
	h     http.Handler
	dir   *fakeDirectory
	hooks *hookRecorder
	am    *amtest.Server
	clock *clocktest.Clock
	seq   atomic.Int64
}

func newSlackFixture(t *testing.T, perms map[string][]string) *slackFixture {
	t.Helper()
	am := amtest.New()
	t.Cleanup(am.Close)
	f := &slackFixture{t: t, dir: &fakeDirectory{groups: map[string][]string{}}, hooks: newHookRecorder(t), am: am}
	env := newTestEnv(t, perms, f.dir, testSigningSecret, am.URL())
	f.svc, f.store, f.clock = env.svc, env.store, env.clock
	f.bot = New(env.deps)
	f.bot.responsePrefix = f.hooks.srv.URL + "/"
	mux := http.NewServeMux()
	f.bot.Routes(mux)
	f.h = mux
	return f
}

// fakeDirectory is a Directory with fixed groups that counts lookups.
type fakeDirectory struct {
	mu     sync.Mutex
	groups map[string][]string
	calls  map[string]int
	err    error
}

var _ Directory = (*fakeDirectory)(nil)

func (d *fakeDirectory) UserGroupMembers(_ context.Context, handle string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls == nil {
		d.calls = map[string]int{}
	}
	d.calls[handle]++
	if d.err != nil {
		return nil, d.err
	}
	members, ok := d.groups[handle]
	if !ok {
		return nil, fmt.Errorf("usergroups: no group %q", handle)
	}
	return members, nil
}

func (d *fakeDirectory) lookups(handle string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[handle]
}

// hookRecorder stands in for hooks.slack.com: it records what is posted
// to a response_url and rejects what Slack would reject.
type hookRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
}

func newHookRecorder(t *testing.T) *hookRecorder {
	r := &hookRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("response_url: %s with content type %q; want a JSON POST", req.Method, req.Header.Get("Content-Type"))
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var m map[string]any
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			t.Errorf("response_url: body is not JSON: %v", err)
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		m["_path"] = req.URL.Path
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookRecorder) messages() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.msgs...)
}

// signSlack returns the v0 signature Slack would send.
func signSlack(secret, ts, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// signedRequest is a request to a Slack endpoint signed as Slack would.
func signedRequest(path, body string, at time.Time) *http.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(hdrSlackTimestamp, ts)
	req.Header.Set(hdrSlackSignature, signSlack(testSigningSecret, ts, body))
	return req
}

// clone copies req with a fresh body, so that it can be sent again.
func clone(req *http.Request, body string) *http.Request {
	c := req.Clone(context.Background())
	c.Body = io.NopCloser(strings.NewReader(body))
	return c
}

func (f *slackFixture) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// commandBody is the form Slack posts for a /warroom invocation; each has
// its own trigger_id, as in Slack.
func (f *slackFixture) commandBody(user, channel, text string) string {
	return url.Values{
		"token": {"legacy"}, "team_id": {"T1"}, "channel_id": {channel}, "channel_name": {"general"},
		"user_id": {user}, "user_name": {strings.ToLower(user)}, "command": {"/warroom"}, "text": {text},
		"response_url": {f.hooks.srv.URL + "/commands/1"}, "trigger_id": {fmt.Sprintf("trig.%d", f.seq.Add(1))},
	}.Encode()
}

// command sends a signed /warroom invocation and decodes the reply.
func (f *slackFixture) command(user, channel, text string) slackMessage {
	f.t.Helper()
	w := f.serve(signedRequest("/slack/commands", f.commandBody(user, channel, text), f.clock.Now()))
	if w.Code != http.StatusOK {
		f.t.Fatalf("/warroom %s: status %d: %s", text, w.Code, w.Body)
	}
	var msg slackMessage
	if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil {
		f.t.Fatalf("/warroom %s: reply %q: %v", text, w.Body, err)
	}
	if msg.ResponseType != "ephemeral" && msg.ResponseType != "in_channel" {
		f.t.Errorf("/warroom %s: response_type %q", text, msg.ResponseType)
	}
	return msg
}

// pressBody is the form Slack posts for a button press.
func (f *slackFixture) pressBody(user, actionID, value, responseURL string) string {
	n := f.seq.Add(1)
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "someone"},
		"team": map[string]any{"id": "T1"}, "channel": map[string]any{"id": "CROOM"},
		"response_url": responseURL, "trigger_id": fmt.Sprintf("trig.%d", n),
		"container": map[string]any{"type": "message", "message_ts": "1700000000.000100"},
		"actions": []map[string]any{{
			"action_id": actionID, "block_id": "summary_actions", "type": "button", "value": value,
			"action_ts": fmt.Sprintf("1700000000.%06d", n),
		}},
	})
	return url.Values{"payload": {string(payload)}}.Encode()
}

// press sends a signed button press; the reply goes to the hook recorder.
func (f *slackFixture) press(user, actionID, value string) {
	f.t.Helper()
	w := f.serve(signedRequest("/slack/interactions", f.pressBody(user, actionID, value, f.hooks.srv.URL+"/actions/1"), f.clock.Now()))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		f.t.Fatalf("press %s: status %d, body %q; want 200 and no body", actionID, w.Code, w.Body)
	}
	f.bot.Drain()
}

// declare opens INC-n for service by hand, with commander as its commander.
func (f *slackFixture) declare(service, commander string) *incident.Incident {
	f.t.Helper()
	inc, err := f.svc.Declare(context.Background(), service, "prod", service+" is failing", commander)
	if err != nil {
		f.t.Fatalf("declare: %v", err)
	}
	return inc
}

// room makes channel the war room of id, as the channel step does.
func (f *slackFixture) room(id, channel string) {
	f.t.Helper()
	_, err := f.svc.RecordStep(context.Background(), id, func(inc *incident.Incident) (string, error) {
		inc.SlackChannelID = channel
		return "channel created", nil
	})
	if err != nil {
		f.t.Fatalf("record channel: %v", err)
	}
}

func (f *slackFixture) incident(id string) *incident.Incident {
	f.t.Helper()
	inc, err := f.store.Incident(context.Background(), id)
	if err != nil {
		f.t.Fatalf("incident %s: %v", id, err)
	}
	return inc
}

func (f *slackFixture) timeline(id string) []incident.Event {
	f.t.Helper()
	ev, err := f.store.Timeline(context.Background(), id)
	if err != nil {
		f.t.Fatalf("timeline %s: %v", id, err)
	}
	return ev
}

// events returns the events of kind on id's timeline.
func (f *slackFixture) events(id string, kind incident.EventKind) []incident.Event {
	var out []incident.Event
	for _, e := range f.timeline(id) {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestSlackRejectsUnverifiedRequests(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	before := len(f.timeline(inc.ID))
	body := f.commandBody("UALICE", "CGENERAL", "ack "+inc.ID)
	now := f.clock.Now()
	ts := strconv.FormatInt(now.Unix(), 10)

	tests := []struct {
		name string
		edit func(r *http.Request)
		body string // sent instead of the signed body, if set
	}{
		{"bad signature", func(r *http.Request) { r.Header.Set(hdrSlackSignature, signSlack("not-the-secret", ts, body)) }, ""},
		{"signature without v0", func(r *http.Request) {
			r.Header.Set(hdrSlackSignature, strings.TrimPrefix(signSlack(testSigningSecret, ts, body), "v0="))
		}, ""},
		{"signature not hex", func(r *http.Request) { r.Header.Set(hdrSlackSignature, "v0=zz") }, ""},
		{"missing signature", func(r *http.Request) { r.Header.Del(hdrSlackSignature) }, ""},
		{"missing timestamp", func(r *http.Request) { r.Header.Del(hdrSlackTimestamp) }, ""},
		{"malformed timestamp", func(r *http.Request) { r.Header.Set(hdrSlackTimestamp, "yesterday") }, ""},
		{"body changed after signing", nil, strings.Replace(body, "UALICE", "UMALLORY", 1)},
		{"timestamp changed after signing", func(r *http.Request) {
			r.Header.Set(hdrSlackTimestamp, strconv.FormatInt(now.Unix()+1, 10))
		}, ""},
		{"stale: signed 6 minutes ago", func(r *http.Request) {
			old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
			r.Header.Set(hdrSlackTimestamp, old)
			r.Header.Set(hdrSlackSignature, signSlack(testSigningSecret, old, body))
		}, ""},
		{"from the future: 6 minutes ahead", func(r *http.Request) {
			later := strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10)
			r.Header.Set(hdrSlackTimestamp, later)
			r.Header.Set(hdrSlackSignature, signSlack(testSigningSecret, later, body))
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := signedRequest("/slack/commands", body, now)
			if tc.body != "" {
				req = clone(req, tc.body)
			}
			if tc.edit != nil {
				tc.edit(req)
			}
			w := f.serve(req)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status %d (%s); want 401", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), "acknowledged") {
				t.Errorf("body %s: the command ran", w.Body)
			}
		})
	}
	if got := f.incident(inc.ID).State; got != incident.Triggered {
		t.Errorf("state %s after rejected requests; want triggered", got)
	}
	if got := len(f.timeline(inc.ID)); got != before {
		t.Errorf("timeline has %d events after rejected requests; want %d", got, before)
	}
	// The same request, untouched, is accepted: the cases above failed for
	// their own reason.
	if w := f.serve(signedRequest("/slack/commands", body, now)); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "acknowledged") {
		t.Errorf("untouched request: %d %s; want 200 acknowledged", w.Code, w.Body)
	}
}

// The window is checked against the server's clock, not only the wall
// clock that slack.NewSecretsVerifier reads.
func TestSlackTimestampWindowUsesServerClock(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	signed := f.clock.Now() // now by the wall clock too
	f.clock.Add(6 * time.Minute)
	if w := f.serve(signedRequest("/slack/commands", f.commandBody("UALICE", "C1", "help"), signed)); w.Code != http.StatusUnauthorized {
		t.Errorf("signed 6 minutes before the server's clock: %d %s; want 401", w.Code, w.Body)
	}
}

func TestSlackReplayIsRejected(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	body := f.commandBody("UALICE", "CGENERAL", "note "+inc.ID+" restarted the pods")
	first := signedRequest("/slack/commands", body, f.clock.Now())
	replay := clone(first, body)

	if w := f.serve(first); w.Code != http.StatusOK {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	w := f.serve(replay)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("replay: status %d (%s); want 401", w.Code, w.Body)
	}
	if n := len(f.events(inc.ID, incident.EventNote)); n != 1 {
		t.Errorf("%d notes after a replay; want 1", n)
	}
}

func TestSlackRetryGetsTheFirstAnswer(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	body := f.commandBody("UALICE", "CGENERAL", "ack "+inc.ID)
	first := signedRequest("/slack/commands", body, f.clock.Now())
	retry := clone(first, body)
	retry.Header.Set(hdrSlackRetryNum, "1")
	retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	// A retry Slack signed again, a second later, with the same body.
	resigned := signedRequest("/slack/commands", body, f.clock.Now().Add(time.Second))
	resigned.Header.Set(hdrSlackRetryNum, "2")

	w1 := f.serve(first)
	if w1.Code != http.StatusOK || !strings.Contains(w1.Body.String(), "acknowledged") {
		t.Fatalf("first: %d %s", w1.Code, w1.Body)
	}
	for _, req := range []*http.Request{retry, resigned} {
		w := f.serve(req)
		if w.Code != http.StatusOK || w.Body.String() != w1.Body.String() {
			t.Errorf("retry %s: %d %s; want the first answer %s", req.Header.Get(hdrSlackRetryNum), w.Code, w.Body, w1.Body)
		}
	}
	if n := len(f.events(inc.ID, incident.EventAcknowledged)); n != 1 {
		t.Errorf("%d acknowledged events after retries; want 1", n)
	}
}

func TestSlackOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	body := f.commandBody("UALICE", "CGENERAL", "note "+inc.ID+" "+strings.Repeat("x", maxSlackBody))
	w := f.serve(signedRequest("/slack/commands", body, f.clock.Now()))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d; want 413", w.Code)
	}
	if n := len(f.events(inc.ID, incident.EventNote)); n != 0 {
		t.Errorf("%d notes; want none", n)
	}
}

func TestSlackNotConfiguredIs503(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	f.bot.secret = ""
	for _, path := range []string{"/slack/commands", "/slack/interactions"} {
		w := f.serve(signedRequest(path, f.commandBody("UALICE", "C1", "help"), f.clock.Now()))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "slack is not configured") {
			t.Errorf("%s without a signing secret: %d %s; want 503 slack is not configured", path, w.Code, w.Body)
		}
	}
	var none *Surface
	mux := http.NewServeMux()
	none.Routes(mux)
	f.h = mux
	if w := f.serve(signedRequest("/slack/commands", f.commandBody("UALICE", "C1", "help"), f.clock.Now())); w.Code != http.StatusServiceUnavailable {
		t.Errorf("without a slack surface: %d; want 503", w.Code)
	}
}

func TestSlackButtons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action string
		state  incident.State
		kind   incident.EventKind
		reply  string
	}{
		{slackmsg.ActionAck, incident.Acknowledged, incident.EventAcknowledged, "You acknowledged INC-1."},
		{slackmsg.ActionMitigate, incident.Mitigated, incident.EventMitigated, "You marked INC-1 mitigated."},
		{slackmsg.ActionResolve, incident.Resolved, incident.EventResolved, "You resolved INC-1."},
		{slackmsg.ActionRollback, incident.Triggered, incident.EventRollbackRequested, "there is nothing to roll back"},
		{slackmsg.ActionSilence, incident.Triggered, incident.EventSilenceRequested, "Done: silenced for 1h by UBOB: silence "},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			t.Parallel()
			f := newSlackFixture(t, nil)
			inc := f.declare("payments", "UCMDR")
			f.press("UBOB", tc.action, inc.ID)

			if got := f.incident(inc.ID).State; got != tc.state {
				t.Errorf("state %s; want %s", got, tc.state)
			}
			ev := f.events(inc.ID, tc.kind)
			if len(ev) != 1 || ev[0].Actor != "UBOB" {
				t.Errorf("%s events %+v; want one by UBOB", tc.kind, ev)
			}
			msgs := f.hooks.messages()
			if len(msgs) != 1 {
				t.Fatalf("response_url got %d messages; want 1", len(msgs))
			}
			m := msgs[0]
			if m["response_type"] != "ephemeral" || m["replace_original"] != false || m["_path"] != "/actions/1" {
				t.Errorf("response_url message %v; want ephemeral, replace_original false, to /actions/1", m)
			}
			if text, _ := m["text"].(string); !strings.Contains(text, tc.reply) {
				t.Errorf("reply %q; want it to contain %q", text, tc.reply)
			}
		})
	}
}

func TestSlackButtonRefusalAndConflict(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, map[string][]string{"resolve": {"@sre-oncall", "commander"}})
	f.dir.groups["sre-oncall"] = []string{"UONCALL"}
	inc := f.declare("payments", "UCMDR")

	f.press("UBOB", slackmsg.ActionResolve, inc.ID)
	if got := f.incident(inc.ID).State; got != incident.Triggered {
		t.Errorf("state %s after a refused press; want triggered", got)
	}
	f.press("UONCALL", slackmsg.ActionAck, inc.ID)
	f.press("UONCALL", slackmsg.ActionAck, inc.ID) // already acknowledged: refused by the service
	f.press("UONCALL", slackmsg.ActionAck, "not-an-id")
	f.press("UONCALL", "someone_elses_button", inc.ID)

	want := []string{
		"Only @sre-oncall or the incident commander may resolve INC-1.",
		"You acknowledged INC-1.",
		"INC-1 is already acknowledged",
		"That button names no incident; nothing done.",
		"That button is not one of warroom's; nothing done.",
	}
	msgs := f.hooks.messages()
	if len(msgs) != len(want) {
		t.Fatalf("response_url got %d messages; want %d: %v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		if text, _ := msgs[i]["text"].(string); !strings.Contains(text, w) {
			t.Errorf("reply %d: %q; want %q", i, text, w)
		}
	}
	if n := len(f.events(inc.ID, incident.EventAcknowledged)); n != 1 {
		t.Errorf("%d acknowledged events; want 1", n)
	}
}

func TestSlackForgedResponseURLIsNotCalled(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer evil.Close()

	w := f.serve(signedRequest("/slack/interactions", f.pressBody("UBOB", slackmsg.ActionAck, inc.ID, evil.URL+"/steal"), f.clock.Now()))
	if w.Code != http.StatusOK {
		t.Fatalf("press: %d %s", w.Code, w.Body)
	}
	f.bot.Drain()
	if hits.Load() != 0 {
		t.Errorf("the forged response_url was called %d times", hits.Load())
	}
	if len(f.hooks.messages()) != 0 {
		t.Errorf("hook recorder got %v; want nothing", f.hooks.messages())
	}
}

func TestSlackInteractionRetryRunsOnce(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	inc := f.declare("payments", "UCMDR")
	body := f.pressBody("UBOB", slackmsg.ActionRollback, inc.ID, f.hooks.srv.URL+"/actions/1")
	first := signedRequest("/slack/interactions", body, f.clock.Now())
	retry := clone(first, body)
	retry.Header.Set(hdrSlackRetryNum, "1")
	for _, req := range []*http.Request{first, retry} {
		if w := f.serve(req); w.Code != http.StatusOK {
			t.Errorf("status %d; want 200", w.Code)
		}
	}
	f.bot.Drain()
	if n := len(f.events(inc.ID, incident.EventRollbackRequested)); n != 1 {
		t.Errorf("%d rollback requests; want 1", n)
	}
	if n := len(f.hooks.messages()); n != 1 {
		t.Errorf("%d response_url posts; want 1", n)
	}
}

func TestSlackMalformedInteraction(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	for _, body := range []string{"", "payload=", "payload=%7Bnot-json", "%zz"} {
		if w := f.serve(signedRequest("/slack/interactions", body, f.clock.Now())); w.Code != http.StatusBadRequest {
			t.Errorf("body %q: status %d; want 400", body, w.Code)
		}
	}
	// Another kind of interaction is accepted and ignored.
	payload := url.Values{"payload": {`{"type":"view_closed","user":{"id":"UBOB"}}`}}.Encode()
	if w := f.serve(signedRequest("/slack/interactions", payload, f.clock.Now())); w.Code != http.StatusOK {
		t.Errorf("view_closed: status %d; want 200", w.Code)
	}
}

func TestAllowedResponseURL(t *testing.T) {
	t.Parallel()
	sl := &Surface{responsePrefix: slackResponseURLPrefix}
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.slack.com/actions/T1/123/abc", true},
		{"https://hooks.slack.com/commands/T1/123/abc", true},
		{"http://hooks.slack.com/actions/T1/123/abc", false},
		{"https://hooks.slack.com.evil.example/actions", false},
		{"https://hooks.slack.com@evil.example/actions", false},
		{"https://evil.example/https://hooks.slack.com/", false},
		{"https://HOOKS.slack.com/actions", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := sl.allowedResponseURL(tc.url); got != tc.ok {
			t.Errorf("allowedResponseURL(%q) = %v; want %v", tc.url, got, tc.ok)
		}
	}
}

func TestAnswerCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := newAnswerCache(10*time.Minute, 3, func() time.Time { return now })

	e, fresh, seen := c.claim("a", "sig1")
	if !fresh || seen {
		t.Fatalf("first claim: fresh %v seen %v; want fresh", fresh, seen)
	}
	e.finish(slackAnswer{code: 200, body: []byte(`{"text":"first"}`)})
	if e2, fresh, seen := c.claim("a", "sig1"); fresh || !seen || string(e2.wait(context.Background(), time.Second).body) != `{"text":"first"}` {
		t.Errorf("same signature: fresh %v seen %v; want a seen signature with the first answer", fresh, seen)
	}
	if _, fresh, seen := c.claim("a", "sig2"); fresh || seen {
		t.Errorf("same body, new signature: fresh %v seen %v; want known body, unseen signature", fresh, seen)
	}
	if _, _, seen := c.claim("a", "sig2"); !seen {
		t.Error("the second signature was not remembered")
	}

	now = now.Add(10*time.Minute + time.Second)
	if _, fresh, _ := c.claim("a", "sig1"); !fresh {
		t.Error("an answer older than the TTL is still known")
	}

	// The bound: the oldest entries go first.
	for _, k := range []string{"b", "c", "d"} {
		c.claim(k, "")
	}
	if len(c.byKey) > 3 || len(c.order) > 3 {
		t.Errorf("cache holds %d keys (%d ordered); want at most 3", len(c.byKey), len(c.order))
	}
	if _, ok := c.byKey["a"]; ok {
		t.Error("the oldest entry survived the bound")
	}

	// A retry of a request still running gets an empty 200 after the wait.
	p, _, _ := c.claim("pending", "")
	if got := p.wait(context.Background(), 10*time.Millisecond); got.code != http.StatusOK || len(got.body) != 0 {
		t.Errorf("wait on a pending answer: %+v; want an empty 200", got)
	}
}

func TestGroupCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	dir := &fakeDirectory{groups: map[string][]string{"sre": {"U1"}}}
	g := &groupCache{ttl: time.Minute, now: func() time.Time { return now }, m: map[string]groupEntry{}}
	ctx := context.Background()
	for range 3 {
		if m, err := g.members(ctx, dir, "sre"); err != nil || len(m) != 1 {
			t.Fatalf("members: %v %v", m, err)
		}
	}
	if n := dir.lookups("sre"); n != 1 {
		t.Errorf("%d lookups within a minute; want 1", n)
	}
	now = now.Add(61 * time.Second)
	_, _ = g.members(ctx, dir, "sre")
	if n := dir.lookups("sre"); n != 2 {
		t.Errorf("%d lookups after a minute; want 2", n)
	}
	dir.err = errors.New("slack down")
	now = now.Add(61 * time.Second)
	if _, err := g.members(ctx, dir, "sre"); err == nil {
		t.Error("a failed lookup answered from the expired cache")
	}
	if _, err := (&groupCache{}).members(ctx, nil, "sre"); !errors.Is(err, errNoDirectory) {
		t.Errorf("no directory: %v; want errNoDirectory", err)
	}
}
