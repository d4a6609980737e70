package bot_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/clocktest"
)

const testToken = "s3cret-webhook-token"

// fixture reads a payload captured from a real Alertmanager (or Grafana).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "fixtures", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// harness is a whole warroom on a random port, as `warroom serve` runs it,
// on a test clock (see wait_test.go).
type harness struct {
	t      testing.TB
	srv    *bot.Server
	clock  *clocktest.Clock // nil: the real clock
	base   string
	dryRun string
	cancel context.CancelFunc
	done   chan error
	seq    atomic.Int64 // makes each signed Slack request unique
}

// start runs a warroom on a test clock of its own.
func start(t testing.TB, mutate func(*config.Config)) *harness {
	t.Helper()
	return startOn(t, newClock(), mutate)
}

// startOn runs a warroom on clock, which the test shares with the fakes
// whose time matters (Jira's search index); nil is the real clock, for
// the benchmarks, which measure it.
func startOn(t testing.TB, clock *clocktest.Clock, mutate func(*config.Config)) *harness {
	t.Helper()
	return startWith(t, clock, bot.Deps{}, mutate)
}

// startWith is startOn with deps (the clock aside).
func startWith(t testing.TB, clock *clocktest.Clock, deps bot.Deps, mutate func(*config.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Storage.DSN = filepath.Join(dir, "warroom.db")
	cfg.DryRunLog = filepath.Join(dir, "dryrun.jsonl")
	cfg.Webhook.BearerToken = testToken
	// Reminders are off unless a test turns them on: a nudge five
	// minutes in would be a side effect of every test that waits.
	off := config.Duration(0)
	cfg.Reminders.AckWithin, cfg.Reminders.UpdateEvery = &off, &off
	if mutate != nil {
		mutate(cfg)
	}
	if clock != nil {
		deps.Now = clock.Now
	}
	srv, err := bot.New(context.Background(), cfg, deps)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	return runServer(t, srv, clock, cfg)
}

// runServer runs srv until the test ends and waits until it listens.
func runServer(t testing.TB, srv *bot.Server, clock *clocktest.Clock, cfg *config.Config) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, clock: clock, dryRun: cfg.DryRunLog, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Run(ctx) }()
	if !eventually(func() bool { return srv.Addr() != "" || len(h.done) > 0 }, nil) || srv.Addr() == "" {
		t.Fatal("server did not start listening")
	}
	h.base = "http://" + srv.Addr()
	t.Cleanup(h.stop)
	return h
}

// stop shuts the server down and waits for it; it may be called twice.
func (h *harness) stop() {
	h.cancel()
	if h.done == nil {
		return
	}
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("server run: %v", err)
		}
	case <-time.After(15 * time.Second):
		h.t.Error("server did not shut down")
	}
	h.done = nil
}

type reply struct {
	code int
	body []byte
}

func (h *harness) post(path string, body []byte, hdr map[string]string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return h.do(req)
}

func (h *harness) get(path string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	return h.do(req)
}

// do sends req. A request that gets no answer is an error of the test
// (not fatal: do runs on the goroutines of the concurrent tests too) and
// a reply with code 0.
func (h *harness) do(req *http.Request) reply {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return reply{0, []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}
}

func decodeJSON[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

type webhookReply struct {
	Opened, Attached, Escalated, Reopened, Recorded, Resolved []string
	Alerts                                                    []incident.AlertResult
}

func (h *harness) deliver(name string) webhookReply {
	h.t.Helper()
	path := "/api/v1/alerts/alertmanager"
	if strings.HasPrefix(name, "grafana/") {
		path = "/api/v1/alerts/grafana"
	}
	r := h.post(path, fixture(h.t, name), nil)
	if r.code != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d %s", name, r.code, r.body)
	}
	return decodeJSON[webhookReply](h.t, r)
}

func (h *harness) incident(id string) httpapi.IncidentView {
	h.t.Helper()
	r := h.get("/api/v1/incidents/" + id)
	if r.code != http.StatusOK {
		h.t.Fatalf("GET %s: HTTP %d %s", id, r.code, r.body)
	}
	return decodeJSON[httpapi.IncidentView](h.t, r)
}

func (h *harness) list(query string) []*incident.Incident {
	h.t.Helper()
	r := h.get("/api/v1/incidents" + query)
	if r.code != http.StatusOK {
		h.t.Fatalf("list: HTTP %d %s", r.code, r.body)
	}
	return decodeJSON[struct{ Incidents []*incident.Incident }](h.t, r).Incidents
}

// dryRunCalls reads the dry-run log.
func (h *harness) dryRunCalls() []dryrun.Line {
	h.t.Helper()
	f, err := os.Open(h.dryRun)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	var calls []dryrun.Line
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c dryrun.Line
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			h.t.Fatalf("dry-run log line %q: %v", sc.Text(), err)
		}
		calls = append(calls, c)
	}
	return calls
}

// waitCall waits until the dry-run log holds the step with this job key,
// and returns its first line.
func (h *harness) waitCall(key string) dryrun.Line {
	h.t.Helper()
	var call dryrun.Line
	h.waitFor("the dry-run call "+key, func() bool {
		for _, c := range h.dryRunCalls() {
			if c.Key == key {
				call = c
				return true
			}
		}
		return false
	})
	return call
}

func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func ids(s []string) string { return fmt.Sprint(s) }

// The captured fixtures replayed in order, as Alertmanager sent them.
func TestFixtureReplay(t *testing.T) {
	t.Parallel()
	h := start(t, nil)

	day := h.now().Format("20060102") // the test clock's, which opens the war room
	r := h.deliver("alertmanager/firing-high-error-rate.json")
	eq(t, "opened", ids(r.Opened), "[INC-1]")
	inc := h.incident("INC-1")
	eq(t, "service", inc.Service, "payment-gateway")
	eq(t, "env", inc.Env, "prod")
	eq(t, "war room", inc.WarRoom, true)
	eq(t, "value", *inc.Value, 0.03107142857142857)
	eq(t, "threshold", *inc.Threshold, 0.008)
	eq(t, "channel", inc.SlackChannel, "inc-"+day+"-payment-gateway-1")

	r = h.deliver("alertmanager/firing-pod-error-rate-3-alerts.json")
	eq(t, "attached", ids(r.Attached), "[INC-1]")
	eq(t, "opened", ids(r.Opened), "[]")
	eq(t, "alerts on INC-1", len(h.incident("INC-1").Alerts), 4)
	// One delivery, one change: the group's three alerts are one event.
	var attachedEvents []string
	for _, e := range h.incident("INC-1").Timeline {
		if e.Kind == incident.EventAlertAttached {
			attachedEvents = append(attachedEvents, e.Text)
		}
	}
	if len(attachedEvents) != 1 || !strings.HasPrefix(attachedEvents[0], "3 alerts attached: PodErrorRate payment-gateway-0 (557f9062c190c068) at 3.39%; ") {
		t.Errorf("attached events %q, want one naming the 3 PodErrorRate alerts", attachedEvents)
	}

	// Let the opening steps finish (they enqueue their successors), so
	// that any change after the repeat is the repeat's doing.
	h.settle()
	before := h.incident("INC-1")
	r = h.deliver("alertmanager/repeat-high-error-rate.json")
	eq(t, "repeat outcome", r.Alerts[0].Outcome, incident.OutcomeUnchanged)
	after := h.incident("INC-1")
	eq(t, "timeline after repeat", len(after.Timeline), len(before.Timeline))
	eq(t, "jobs after repeat", len(after.Jobs), len(before.Jobs))

	r = h.deliver("alertmanager/firing-below-threshold.json")
	eq(t, "recorded", ids(r.Recorded), "[INC-2]")
	eq(t, "below threshold war room", h.incident("INC-2").WarRoom, false)
	eq(t, "war rooms listed", len(h.list("")), 1)
	eq(t, "all listed", len(h.list("?all=true")), 2)

	r = h.deliver("alertmanager/firing-truncated.json")
	eq(t, "truncated opened", ids(r.Opened), "[INC-3]")
	eq(t, "truncated count", h.incident("INC-3").TruncatedAlerts, 1)

	r = h.deliver("alertmanager/resolved-high-error-rate.json")
	eq(t, "resolved after first resolve", ids(r.Resolved), "[]")
	eq(t, "state after first resolve", h.incident("INC-1").State, incident.Triggered)
	r = h.deliver("alertmanager/resolved-pod-error-rate.json")
	eq(t, "resolved", ids(r.Resolved), "[INC-1]")
	inc = h.incident("INC-1")
	eq(t, "state", inc.State, incident.Resolved)
	eq(t, "peak", *inc.PeakValue, 0.034999999999999996)

	r = h.deliver("grafana/firing-error-rate.json")
	eq(t, "grafana escalated checkout", ids(r.Escalated), "[INC-2]")
	inc = h.incident("INC-2")
	eq(t, "checkout war room", inc.WarRoom, true)
	eq(t, "checkout value from Grafana values", *inc.Value, 0.0123)

	// Every war room's opening steps ran, in the dry run, once.
	for _, id := range []string{"INC-1", "INC-2", "INC-3"} {
		c := h.waitCall("slack.create_channel:" + id)
		eq(t, id+" create method", c.Method, "conversations.create")
		h.waitCall("jira.create_issue:" + id)
		h.waitCall("slack.post_summary:" + id)
	}
	// The archive waits archive_after (24h by default) after the resolve.
	archiveKey := "slack.archive:INC-1:" + fmt.Sprint(lastEvent(h.incident("INC-1"), incident.EventResolved))
	var archive *incident.JobStatus
	for _, j := range h.incident("INC-1").Jobs {
		if j.Key == archiveKey {
			archive = &j
		}
	}
	if archive == nil || archive.State != incident.JobPending || archive.RunAt.Sub(h.now()) < 23*time.Hour {
		t.Errorf("archive job %+v, want pending for ~24h", archive)
	}
	seen := map[string]int{}
	for _, c := range h.dryRunCalls() {
		line := fmt.Sprintf("%s call %d of %d", c.Key, c.N, c.Of)
		seen[line]++
		if seen[line] > 1 {
			t.Errorf("job %s logged twice", line)
		}
	}
	if got := h.list("?state=resolved"); len(got) != 1 || got[0].ID != "INC-1" {
		t.Errorf("state filter: %v", got)
	}
	if got := h.list("?service=search"); len(got) != 1 || got[0].ID != "INC-3" {
		t.Errorf("service filter: %v", got)
	}
}

func lastEvent(v httpapi.IncidentView, kind incident.EventKind) int64 {
	var id int64
	for _, e := range v.Timeline {
		if e.Kind == kind {
			id = e.ID
		}
	}
	return id
}

func TestIncidentActions(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	act := func(path, body string) reply { return h.post("/api/v1/incidents/"+path, []byte(body), nil) }

	eq(t, "ack", act("INC-1/ack", `{"actor":"alice"}`).code, http.StatusOK)
	eq(t, "ack again", act("INC-1/ack", ``).code, http.StatusConflict)
	eq(t, "note without text", act("INC-1/note", `{}`).code, http.StatusBadRequest)
	eq(t, "note", act("inc-1/note", `{"text":"failing over the db"}`).code, http.StatusOK)
	eq(t, "unknown field", act("INC-1/note", `{"txt":"x"}`).code, http.StatusBadRequest)
	eq(t, "unknown action", act("INC-1/explode", ``).code, http.StatusNotFound)
	eq(t, "unknown incident", act("INC-99/ack", ``).code, http.StatusNotFound)
	eq(t, "bad id", act("nope/ack", ``).code, http.StatusBadRequest)
	eq(t, "mitigate", act("INC-1/mitigate", ``).code, http.StatusOK)
	r := act("INC-1/resolve", `{"actor":"alice","text":"rolled back"}`)
	eq(t, "resolve", r.code, http.StatusOK)
	v := decodeJSON[httpapi.IncidentView](t, r)
	eq(t, "state", v.State, incident.Resolved)
	last := v.Timeline[len(v.Timeline)-1]
	eq(t, "resolve actor", last.Actor, "api:alice")
	eq(t, "resolve text", last.Text, "resolved by api:alice: rolled back")
	eq(t, "bad state filter", h.get("/api/v1/incidents?state=exploded").code, http.StatusBadRequest)

	// The API wants the same credentials as the webhooks.
	req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/incidents", nil)
	eq(t, "list without token", h.do(req).code, http.StatusUnauthorized)
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.deliver("alertmanager/firing-below-threshold.json")
	h.post("/api/v1/alerts/alertmanager", []byte(`{`), nil)
	eq(t, "healthz", h.get("/healthz").code, http.StatusOK)
	eq(t, "readyz", h.get("/readyz").code, http.StatusOK)
	h.waitCall("slack.create_channel:INC-1")
	// The job's outcome is counted just after the log line is written
	// (every kind's "failed" series is there from the start, at 0).
	var m string
	h.waitFor("the job's outcome in the metrics", func() bool {
		m = string(h.get("/metrics").body)
		return strings.Contains(m, `warroom_job_runs_total{kind="slack.create_channel",outcome="completed"}`)
	})
	for _, want := range []string{
		`warroom_webhooks_total{outcome="accepted",source="alertmanager"} 2`,
		`warroom_webhooks_total{outcome="bad_request",source="alertmanager"} 1`,
		`warroom_alerts_total{decision="war_room"} 1`,
		`warroom_alerts_total{decision="record"} 1`,
		`warroom_incidents{state="triggered",war_room="true"} 1`,
		`warroom_incidents{state="triggered",war_room="false"} 1`,
		`warroom_job_runs_total{kind="slack.create_channel",outcome="completed"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, "INC-1") || strings.Contains(m, "payment-gateway") {
		t.Error("metrics carry an unbounded label (incident ID or service)")
	}
}

// A store that cannot commit answers 503, so that Alertmanager retries.
func TestStoreDownIs503(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	if err := bot.StoreOf(h.srv).Close(); err != nil {
		t.Fatal(err)
	}
	r := h.post("/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-high-error-rate.json"), nil)
	eq(t, "status", r.code, http.StatusServiceUnavailable)
	eq(t, "readyz", h.get("/readyz").code, http.StatusServiceUnavailable)
}

// The archive waits archive_after past the resolve, and an incident that
// reopened in between keeps its channel: only the last resolve archives.
func TestArchiveAfterResolveUnlessReopened(t *testing.T) {
	t.Parallel()
	h := start(t, nil) // archive_after: a day
	firing := fixture(t, "alertmanager/firing-high-error-rate.json")
	h.deliver("alertmanager/firing-high-error-rate.json")
	eq(t, "resolve", h.post("/api/v1/incidents/INC-1/resolve", nil, nil).code, http.StatusOK)
	first := lastEvent(h.incident("INC-1"), incident.EventResolved)
	// Fires again at once: within reopen_window, the incident reopens.
	r := h.post("/api/v1/alerts/alertmanager", []byte(strings.Replace(string(firing), `"startsAt":"2026-11-26T04:24:38.185Z"`, `"startsAt":"2026-11-26T04:30:00Z"`, 1)), nil)
	eq(t, "refire", r.code, http.StatusOK)
	eq(t, "reopened", ids(decodeJSON[webhookReply](t, r).Reopened), "[INC-1]")
	h.settle()
	h.advance(config.DefaultArchiveAfter)
	skipped := h.waitCall(fmt.Sprintf("slack.archive:INC-1:%d", first))
	eq(t, "calls of the archive of the first resolve", skipped.Of, 0)
	eq(t, "resolve again", h.post("/api/v1/incidents/INC-1/resolve", nil, nil).code, http.StatusOK)
	second := lastEvent(h.incident("INC-1"), incident.EventResolved)
	h.settle()
	for _, c := range h.dryRunCalls() {
		if c.Key == fmt.Sprintf("slack.archive:INC-1:%d", second) {
			t.Fatalf("archived before archive_after: %+v", c)
		}
	}
	h.advance(config.DefaultArchiveAfter)
	archived := h.waitCall(fmt.Sprintf("slack.archive:INC-1:%d", second))
	eq(t, "archive of the last resolve", archived.Method, "conversations.archive")
}
