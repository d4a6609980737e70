package bot_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// otlpReceiver is an OTLP/HTTP trace receiver, as a collector or Jaeger
// serves it on /v1/traces: it decodes the protobuf requests and keeps
// the spans.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s (%s)", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "not OTLP/HTTP protobuf", http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var msg coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &msg)
		}
		if err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range msg.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				r.spans = append(r.spans, ss.GetSpans()...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// received returns the spans received so far.
func (r *otlpReceiver) received() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// startReal runs warroom with real Slack and Jira executors against the
// fakes, with deps.
func startReal(t *testing.T, slack *slacktest.Server, jira *jiratest.Server, deps bot.Deps) *harness {
	t.Helper()
	withSlack, withJira := slackSettings(t, slack), jiraSettings(t, jira, "cloud", nil)
	return startWith(t, newClock(), deps, func(c *config.Config) { withSlack(c); withJira(c) })
}

// roomReady waits until id's war room has its channel, summary and ticket.
func (h *harness) roomReady(id string) {
	h.t.Helper()
	h.waitFor(id+"'s war room ready", func() bool {
		inc := h.incident(id)
		return inc.SlackChannelID != "" && inc.SummaryTS != "" && inc.JiraKey != ""
	})
}

// One webhook that opens a war room is one trace: the webhook's span, the
// ingest, the jobs it caused and their calls to Slack and Jira, sent over
// OTLP/HTTP to the endpoint of OTEL_EXPORTER_OTLP_ENDPOINT.
func TestWebhookTrace(t *testing.T) {
	t.Parallel()
	recv := newOTLPReceiver(t)
	slack, jira := slacktest.New(), jiratest.New()
	t.Cleanup(slack.Close)
	t.Cleanup(jira.Close)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.srv.URL}
	h := startReal(t, slack, jira, bot.Deps{Getenv: func(k string) string { return env[k] }})

	eq(t, "opened", ids(h.deliver("alertmanager/firing-high-error-rate.json").Opened), "[INC-1]")
	h.roomReady("INC-1")
	h.settle()
	h.stop() // sends the spans still batched

	spans := recv.received()
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		if _, ok := byName[s.GetName()]; !ok {
			byName[s.GetName()] = s
		}
	}
	webhook := byName["POST /api/v1/alerts/alertmanager"]
	if webhook == nil {
		t.Fatalf("no webhook span among %d spans: %v", len(spans), names(spans))
	}
	trace := webhook.GetTraceId()
	for _, name := range []string{"incident.Ingest", "job slack.create_channel", "job slack.post_summary", "job jira.create_issue",
		"slack conversations.create", "slack chat.postMessage", "jira POST /rest/api/2/issue"} {
		s := byName[name]
		switch {
		case s == nil:
			t.Errorf("no span %q among %v", name, names(spans))
		case !bytes.Equal(s.GetTraceId(), trace):
			t.Errorf("span %q is in trace %s, the webhook's is %s", name, hex.EncodeToString(s.GetTraceId()), hex.EncodeToString(trace))
		}
	}
	if in := byName["incident.Ingest"]; in != nil && !bytes.Equal(in.GetParentSpanId(), webhook.GetSpanId()) {
		t.Error("the ingest is not a child of the webhook's span")
	}
	// A call is a child of its job's run, and a step that follows another
	// (the summary after the channel) a child of that run.
	if c, j := byName["slack conversations.create"], byName["job slack.create_channel"]; c != nil && j != nil &&
		!bytes.Equal(c.GetParentSpanId(), j.GetSpanId()) {
		t.Error("conversations.create is not a child of its job's span")
	}
	if s, j := byName["job slack.post_summary"], byName["job slack.create_channel"]; s != nil && j != nil &&
		!bytes.Equal(s.GetParentSpanId(), j.GetSpanId()) {
		t.Error("post_summary is not a child of the run of create_channel, which it follows")
	}
	for _, s := range spans {
		if !bytes.Equal(s.GetTraceId(), trace) {
			t.Errorf("span %q is outside the webhook's trace", s.GetName())
		}
	}
}

func names(spans []*tracepb.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.GetName()
	}
	return out
}

// /metrics has what a team alerts on: the Go and process collectors, the
// build, the job queue, outside calls by API and method, and the time to
// a ready war room.
func TestMetricsToAlertOn(t *testing.T) {
	t.Parallel()
	slack, jira := slacktest.New(), jiratest.New()
	t.Cleanup(slack.Close)
	t.Cleanup(jira.Close)
	h := startReal(t, slack, jira, bot.Deps{Version: "v1.2.3"})
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.roomReady("INC-1")
	h.settle()
	m := string(h.get("/metrics").body)
	for _, want := range []string{
		"\ngo_goroutines ",
		"\nprocess_resident_memory_bytes ",
		"\nprocess_start_time_seconds ",
		`warroom_build_info{goversion="go`,
		`revision="`,
		`version="v1.2.3"} 1`,
		`warroom_jobs{kind="slack.create_channel",state="available"} 0`,
		`warroom_jobs{kind="jira.create_issue",state="failed"} 0`,
		"\nwarroom_jobs_oldest_due_age_seconds 0\n",
		`warroom_outbound_request_duration_seconds_count{api="slack",method="conversations.create",outcome="ok"} 1`,
		`warroom_outbound_request_duration_seconds_count{api="slack",method="chat.postMessage",outcome="ok"} `,
		`warroom_outbound_request_duration_seconds_count{api="jira",method="POST /rest/api/2/issue",outcome="ok"} 1`,
		"\nwarroom_war_room_ready_seconds_count 1\n",
		`warroom_webhooks_total{outcome="unavailable",source="grafana"} 0`,
		`warroom_job_runs_total{kind="jira.create_issue",outcome="failed"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "INC-1") || strings.Contains(m, "OPS-1") || strings.Contains(m, `method="other"`) {
		t.Error("metrics carry an ID or a call no route names")
	}
}
