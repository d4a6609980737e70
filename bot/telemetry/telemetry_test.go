package telemetry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/warroom/warroom/bot/telemetry"
)

// A call's method label is its API method or route pattern: never an ID
// from the URL, and "other" for a path no pattern names.
func TestMethod(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ api, method, path, want string }{
		{"slack", "POST", "/api/chat.postMessage", "chat.postMessage"},
		{"slack", "POST", "/slack/api/conversations.create", "conversations.create"},
		{"slack", "POST", "/api/C0123ABC", "other"},
		{"slack", "POST", "/api/chat.post-1234", "other"},
		{"jira", "POST", "/rest/api/2/issue", "POST /rest/api/2/issue"},
		{"jira", "PUT", "/rest/api/2/issue/OPS-17", "PUT /rest/api/2/issue/{key}"},
		{"jira", "POST", "/jira/rest/api/2/issue/OPS-17/comment", "POST /rest/api/2/issue/{key}/comment"},
		{"jira", "GET", "/rest/api/2/issue/OPS-17/transitions", "GET /rest/api/2/issue/{key}/transitions"},
		{"jira", "GET", "/rest/api/2/issue/createmeta/OPS/issuetypes/10001", "GET /rest/api/2/issue/createmeta/{project}/issuetypes/{id}"},
		{"jira", "GET", "/rest/api/2/search/jql", "GET /rest/api/2/search/jql"},
		{"jira", "DELETE", "/rest/api/2/issue/OPS-17", "other"},
		{"jira", "GET", "/rest/api/2/issue/OPS-17/watchers", "other"},
		{"alertmanager", "DELETE", "/api/v2/silence/5f3c-11aa", "DELETE /api/v2/silence/{id}"},
		{"alertmanager", "POST", "/api/v2/silences", "POST /api/v2/silences"},
		{"grafana", "GET", "/grafana/api/dashboards/uid/abc123", "GET /api/dashboards/uid/{uid}"},
		{"jaeger", "GET", "/api/v3/traces", "GET /api/v3/traces"},
		{"prometheus", "POST", "/api/v1/query", "POST /api/v1/query"},
		{"rollback", "POST", "/hooks/rollback/payment-gateway/7", "POST"},
		{"rollback", "BREW", "/", "other"},
		{"unknown", "GET", "/x", "other"},
	} {
		if got := telemetry.Method(c.api, c.method, c.path); got != c.want {
			t.Errorf("Method(%s, %s %s) = %q, want %q", c.api, c.method, c.path, got, c.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{200: "ok", 302: "ok", 404: "client_error", 429: "rate_limited", 503: "server_error"} {
		if got := telemetry.Outcome(&http.Response{StatusCode: code}, nil); got != want {
			t.Errorf("HTTP %d: %s, want %s", code, got, want)
		}
	}
	if got := telemetry.Outcome(nil, errors.New("connection refused")); got != "error" {
		t.Errorf("no answer: %s, want error", got)
	}
}

// The transport counts and times each call by API, method and outcome,
// counts 429s, and with a tracer makes the call a client span of the
// caller's trace and tells the callee (traceparent).
func TestTransport(t *testing.T) {
	t.Parallel()
	var traceparent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceparent = r.Header.Get("Traceparent")
		if strings.HasSuffix(r.URL.Path, "/comment") {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewPedanticRegistry()
	m := telemetry.NewMetrics(reg, "v1.2.3")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tracer := tp.Tracer("test")
	hc := &http.Client{Transport: m.Transport(telemetry.APIJira, nil, tracer)}

	ctx, parent := tracer.Start(context.Background(), "job jira.comment")
	for _, path := range []string{"/rest/api/2/issue", "/rest/api/2/issue/OPS-1/comment", "/rest/api/2/issue/OPS-2/comment"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if req.Header.Get("Traceparent") != "" {
			t.Error("the transport changed the caller's request")
		}
	}
	parent.End()

	const comment = "POST /rest/api/2/issue/{key}/comment"
	want := `
# HELP warroom_outbound_rate_limited_total Calls to outside systems answered 429 Too Many Requests, by API and method.
# TYPE warroom_outbound_rate_limited_total counter
warroom_outbound_rate_limited_total{api="jira",method="POST /rest/api/2/issue/{key}/comment"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "warroom_outbound_rate_limited_total"); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(reg, "warroom_outbound_request_duration_seconds")
	if err != nil || n != 2 {
		t.Errorf("duration series: %d (%v), want 2 (issue ok, comment rate_limited)", n, err)
	}
	if out := gather(t, reg); !strings.Contains(out, `warroom_outbound_request_duration_seconds_count{api="jira",method="POST /rest/api/2/issue",outcome="ok"} 1`) ||
		!strings.Contains(out, `warroom_outbound_request_duration_seconds_count{api="jira",method="`+comment+`",outcome="rate_limited"} 2`) ||
		strings.Contains(out, "OPS-1") {
		t.Errorf("durations:\n%s", out)
	}

	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 3 calls and their parent", len(spans))
	}
	for _, s := range spans[:3] {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %q: parent %v, kind %v", s.Name(), s.Parent().SpanID(), s.SpanKind())
		}
	}
	if spans[1].Name() != "jira "+comment {
		t.Errorf("span name %q", spans[1].Name())
	}
	last := spans[2].SpanContext()
	if wantTP := "00-" + last.TraceID().String() + "-" + last.SpanID().String() + "-01"; traceparent != wantTP {
		t.Errorf("the callee was told %q, want %q", traceparent, wantTP)
	}
}

// Without a tracer the transport sends no traceparent and makes no span.
func TestTransportWithoutTracing(t *testing.T) {
	t.Parallel()
	var seen http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	t.Cleanup(srv.Close)
	m := telemetry.NewMetrics(prometheus.NewRegistry(), "")
	hc := &http.Client{Transport: m.Transport(telemetry.APISlack, nil, nil)}
	resp, err := hc.Post(srv.URL+"/api/chat.postMessage", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if seen.Get("Traceparent") != "" {
		t.Errorf("traceparent sent with tracing off: %q", seen.Get("Traceparent"))
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	read := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.9.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}}}, true
	}
	if got := telemetry.Build("", read); got != (telemetry.BuildInfo{Version: "v0.9.0", Revision: "0123456789abcdef", GoVersion: "go1.26.8"}) {
		t.Errorf("from build info: %+v", got)
	}
	if got := telemetry.Build("v1.0.0", read); got.Version != "v1.0.0" {
		t.Errorf("stamped: %+v", got)
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	if got := telemetry.Build("", none); got.Version != "(unknown)" || got.Revision != "unknown" || got.GoVersion == "" {
		t.Errorf("no build info: %+v", got)
	}
}

// Tracing is off unless an OTLP endpoint is configured, and off when the
// SDK is disabled.
func TestTracingOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env map[string]string
		on  bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "warroom"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		tr, err := telemetry.NewTracing(context.Background(), func(k string) string { return c.env[k] }, "")
		if err != nil {
			t.Fatal(err)
		}
		if on := tr.Tracer() != nil; on != c.on {
			t.Errorf("%v: tracing on %v, want %v", c.env, on, c.on)
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

// gather renders the sample counts of reg's histograms.
func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
				}
				b.WriteString(mf.GetName() + "_count{" + strings.Join(labels, ",") + "} " + strconv.FormatUint(h.GetSampleCount(), 10) + "\n")
			}
		}
	}
	return b.String()
}
