package telemetry

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The outside APIs, as the api label names them.
const (
	APISlack        = "slack"
	APIJira         = "jira"
	APIGrafana      = "grafana"
	APIJaeger       = "jaeger"
	APIPrometheus   = "prometheus"
	APIAlertmanager = "alertmanager"
	APIRollback     = "rollback"
	APIPagerDuty    = "pagerduty"
)

// routes are the route patterns of the calls warroom makes, by API: the
// method label of a call is the pattern its path matches, so that a URL's
// IDs (an issue key, a silence ID) never become a label value. A path
// matches a pattern when its last segments do (a site may serve the API
// under a prefix); {name} matches one segment. Slack's methods are named
// by their path (slackMethod), the rollback webhook's by its HTTP method.
var routes = map[string][]string{
	APIJira: {
		"GET /rest/api/2/serverInfo", "GET /rest/api/2/myself", "GET /rest/api/2/priority",
		"POST /rest/api/2/issue", "GET /rest/api/2/issue/{key}", "PUT /rest/api/2/issue/{key}",
		"GET /rest/api/2/issue/{key}/comment", "POST /rest/api/2/issue/{key}/comment",
		"GET /rest/api/2/issue/{key}/transitions", "POST /rest/api/2/issue/{key}/transitions",
		"POST /rest/api/2/issueLink", "GET /rest/api/2/search", "GET /rest/api/2/search/jql",
		"POST /rest/api/2/issue/{key}/attachments",
		"GET /rest/api/2/issue/createmeta/{project}/issuetypes", "GET /rest/api/2/issue/createmeta/{project}/issuetypes/{id}",
	},
	APIGrafana:      {"GET /api/dashboards/uid/{uid}", "GET /api/search"},
	APIJaeger:       {"GET /api/v3/traces", "GET /api/traces"},
	APIPrometheus:   {"GET /api/v1/query", "POST /api/v1/query"},
	APIAlertmanager: {"GET /api/v2/silences", "POST /api/v2/silences", "GET /api/v2/silence/{id}", "DELETE /api/v2/silence/{id}"},
	APIPagerDuty:    {"POST /v2/enqueue"},
}

// other is the method label of a call no pattern names.
const other = "other"

// Method returns the method label of a call to api: a Slack Web API
// method ("chat.postMessage"), the route pattern of the path
// ("POST /rest/api/2/issue/{key}/comment"), the HTTP method of the
// rollback webhook, or "other".
func Method(api, method, path string) string {
	switch api {
	case APISlack:
		return slackMethod(path)
	case APIRollback:
		switch method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			return method
		}
		return other
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, p := range routes[api] {
		m, route, _ := strings.Cut(p, " ")
		if m == method && suffixMatch(segs, strings.Split(strings.Trim(route, "/"), "/")) {
			return p
		}
	}
	return other
}

// suffixMatch reports whether the last segments of path are pattern's.
func suffixMatch(path, pattern []string) bool {
	if len(path) < len(pattern) {
		return false
	}
	path = path[len(path)-len(pattern):]
	for i, p := range pattern {
		if !strings.HasPrefix(p, "{") && p != path[i] {
			return false
		}
	}
	return true
}

// slackMethod is the Web API method a path calls (".../api/chat.postMessage"):
// lower-case words joined by dots, the only shape Slack's methods have.
func slackMethod(path string) string {
	name := path[strings.LastIndexByte(path, '/')+1:]
	if !strings.Contains(name, ".") || len(name) > 64 {
		return other
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.') {
			return other
		}
	}
	return name
}

// Outcome is the outcome label of a call: ok (an answer below 400),
// rate_limited (429), client_error (another 4xx), server_error (5xx) or
// error (no answer: refused, timed out, cancelled). Slack answers most
// errors 200 with "ok": false; those count as ok here, and as the job's
// outcome in warroom_job_runs_total.
func Outcome(resp *http.Response, err error) string {
	switch {
	case err != nil || resp == nil:
		return "error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "rate_limited"
	case resp.StatusCode >= 500:
		return "server_error"
	case resp.StatusCode >= 400:
		return "client_error"
	}
	return "ok"
}

// Transport returns a RoundTripper for calls to api through base (nil:
// http.DefaultTransport) that counts and times each call and, with a
// tracer, makes it a client span of the context's trace and tells the
// callee the trace (traceparent).
func (m *Metrics) Transport(api string, base http.RoundTripper, tracer trace.Tracer) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{m: m, api: api, base: base, tracer: tracer}
}

type transport struct {
	m      *Metrics
	api    string
	base   http.RoundTripper
	tracer trace.Tracer // nil: tracing off
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := Method(t.api, req.Method, req.URL.Path)
	var span trace.Span
	if t.tracer != nil {
		var ctx = req.Context()
		ctx, span = t.tracer.Start(ctx, t.api+" "+method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("warroom.api", t.api), attribute.String("http.request.method", req.Method),
				attribute.String("http.route", method), attribute.String("server.address", req.URL.Hostname())))
		defer span.End()
		// A RoundTripper must not change the caller's request.
		req = req.Clone(ctx)
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	outcome := Outcome(resp, err)
	t.m.outbound.WithLabelValues(t.api, method, outcome).Observe(time.Since(start).Seconds())
	if outcome == "rate_limited" {
		t.m.rateLimited.WithLabelValues(t.api, method).Inc()
	}
	if span != nil {
		switch {
		case err != nil:
			span.SetStatus(codes.Error, err.Error())
		default:
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if resp.StatusCode >= 400 {
				span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
			}
		}
	}
	return resp, err
}
