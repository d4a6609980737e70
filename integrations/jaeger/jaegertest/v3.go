package jaegertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GET /api/v3/traces, as read in jaegertracing/jaeger,
// cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/ (http_gateway.go;
// query_parser.go, param_resolver.go and deprecation.go in newer releases),
// cmd/jaeger/internal/extension/jaegerquery/querysvc/ (the query's envelope
// checks and errors.go), internal/storage/v2/memory/tenant.go (how a search
// matches) and jaeger-idl proto/api_v3/query_service.proto (the shapes).

const (
	// defaultSearchDepth is what a search without a depth gets
	// (querysvc.DefaultSearchDepth).
	defaultSearchDepth = 100
	// errServiceNameRequired is querysvc.ErrServiceNameRequired, answered
	// with 501 by a backend that cannot search without a service (the fake
	// is one; Jaeger's memory store searches all services instead).
	errServiceNameRequired = "this storage backend requires a service name to search; searching all services is not supported"
	// errFilterDisabled is querysvc.ErrFilterDisabled, 501: the fake has
	// no structured filters (query.filter), like a Jaeger with the
	// jaeger.query.structuredFilters feature gate off, the default.
	errFilterDisabled = "the structured query filter is disabled"
	// Deprecation headers (deprecation.go).
	deprecatedSunset = "Mon, 01 Nov 2026 00:00:00 GMT"
	deprecatedLink   = `<https://github.com/jaegertracing/jaeger/blob/main/docs/apis/api_v3_http.md>; rel="deprecation"`
)

// param is one v3 parameter: its canonical camelCase name, its deprecated
// aliases, and the name the snake_case gateway read.
type param struct {
	canonical string
	aliases   []string
	legacy    string
}

var (
	pService   = param{"query.serviceName", []string{"query.service_name"}, "query.service_name"}
	pOperation = param{"query.operationName", []string{"query.operation_name"}, "query.operation_name"}
	pTimeMin   = param{"query.startTimeMin", []string{"query.start_time_min"}, "query.start_time_min"}
	pTimeMax   = param{"query.startTimeMax", []string{"query.start_time_max"}, "query.start_time_max"}
	pDepth     = param{"query.searchDepth", []string{"query.search_depth", "query.num_traces"}, "query.num_traces"}
	pDurMin    = param{"query.durationMin", []string{"query.duration_min"}, "query.duration_min"}
	pDurMax    = param{"query.durationMax", []string{"query.duration_max"}, "query.duration_max"}
	pRaw       = param{"query.rawTraces", []string{"query.raw_traces"}, "query.raw_traces"}
)

// v3Query is a parsed v3 search.
type v3Query struct {
	service, operation string
	min, max           time.Time
	depth              int
	durMin, durMax     time.Duration
	attributes         map[string]string // nil: none, or ignored
}

// resolve reads p from q under the names s.params reads, noting a
// deprecated alias used without its canonical name.
func (s *Server) resolve(q url.Values, p param, deprecated *[]string) (value, name string) {
	switch s.params {
	case SnakeCaseParams:
		return q.Get(p.legacy), p.legacy
	case CamelCaseParams:
		return q.Get(p.canonical), p.canonical
	}
	if v := q.Get(p.canonical); v != "" {
		return v, p.canonical
	}
	for _, a := range p.aliases {
		if v := q.Get(a); v != "" {
			*deprecated = append(*deprecated, a)
			return v, a
		}
	}
	return "", p.canonical
}

// findTracesV3 answers a search. The caller holds s.mu.
func (s *Server) findTracesV3(q url.Values) reply {
	var deprecated []string
	query, rep, ok := s.parseV3(q, &deprecated)
	if ok {
		rep = s.searchV3(query)
	}
	if len(deprecated) > 0 {
		if rep.header == nil {
			rep.header = http.Header{}
		}
		rep.header.Set("Deprecation", "true")
		rep.header.Set("Sunset", deprecatedSunset)
		rep.header.Set("Link", deprecatedLink)
		rep.header.Set("Deprecated-Params", strings.Join(deprecated, ","))
	}
	return rep
}

func (s *Server) parseV3(q url.Values, deprecated *[]string) (v3Query, reply, bool) {
	bad := func(format string, args ...any) (v3Query, reply, bool) {
		return v3Query{}, v3Error(http.StatusBadRequest, fmt.Sprintf(format, args...)), false
	}
	var query v3Query
	query.service, _ = s.resolve(q, pService, deprecated)
	query.operation, _ = s.resolve(q, pOperation, deprecated)
	minStr, minName := s.resolve(q, pTimeMin, deprecated)
	maxStr, maxName := s.resolve(q, pTimeMax, deprecated)

	if s.params == SnakeCaseParams {
		// That gateway checked the bounds first and ignored query.attributes.
		if minStr == "" || maxStr == "" {
			return bad("%s and %s are required", pTimeMin.legacy, pTimeMax.legacy)
		}
	} else {
		if a := q.Get("query.attributes"); a != "" {
			if err := json.Unmarshal([]byte(a), &query.attributes); err != nil {
				return bad("malformed parameter query.attributes: %v", err)
			}
		}
		if q.Get("query.filter") != "" {
			return v3Query{}, v3Error(http.StatusNotImplemented, errFilterDisabled), false
		}
	}
	var err error
	if minStr != "" {
		if query.min, err = time.Parse(time.RFC3339Nano, minStr); err != nil {
			return bad("malformed parameter %s: %v", minName, err)
		}
	}
	if maxStr != "" {
		if query.max, err = time.Parse(time.RFC3339Nano, maxStr); err != nil {
			return bad("malformed parameter %s: %v", maxName, err)
		}
	}
	if n, name := s.resolve(q, pDepth, deprecated); n != "" {
		var depth uint64
		if s.params == SnakeCaseParams {
			var d int
			d, err = strconv.Atoi(n)
			depth = uint64(max(d, 0))
		} else {
			depth, err = strconv.ParseUint(n, 10, 32)
		}
		if err != nil {
			return bad("malformed parameter %s: %v", name, err)
		}
		query.depth = int(depth)
	}
	for _, d := range []struct {
		p   param
		out *time.Duration
	}{{pDurMin, &query.durMin}, {pDurMax, &query.durMax}} {
		if v, name := s.resolve(q, d.p, deprecated); v != "" {
			if *d.out, err = time.ParseDuration(v); err != nil {
				return bad("malformed parameter %s: %v", name, err)
			}
		}
	}
	if v, name := s.resolve(q, pRaw, deprecated); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return bad("malformed parameter %s: %v", name, err)
		}
	}
	if query.depth == 0 {
		query.depth = defaultSearchDepth
	}
	if s.params == SnakeCaseParams {
		return query, reply{}, true
	}
	// The query service's envelope checks (querysvc), then the service name.
	switch {
	case query.min.IsZero() || query.max.IsZero():
		return bad("min and max start time are required")
	case !query.min.Before(query.max):
		return bad("min start time must be before max start time")
	case query.durMin < 0 || query.durMax < 0:
		return bad("min and max duration cannot be negative")
	case query.durMin > 0 && query.durMax > 0 && query.durMax < query.durMin:
		return bad("max duration cannot be less than min duration")
	case query.service == "":
		return v3Query{}, v3Error(http.StatusNotImplemented, errServiceNameRequired), false
	}
	return query, reply{}, true
}

// matches reports whether a span matches every predicate of the query, as
// the memory store's validSpan decides: service, operation, start in
// [min, max], duration, and attributes, where "error" is matched against
// the status (true: ERROR; false: OK, which no span here has).
func (q *v3Query) matches(sp *storedSpan) bool {
	switch {
	case q.service != "" && sp.service != q.service,
		q.operation != "" && sp.operation != q.operation,
		!q.min.IsZero() && sp.start.Before(q.min),
		!q.max.IsZero() && sp.start.After(q.max),
		q.durMin != 0 && sp.duration < q.durMin,
		q.durMax != 0 && sp.duration > q.durMax:
		return false
	}
	for k, v := range q.attributes {
		if k != "error" {
			return false // the fake's spans have no other attributes
		}
		want, err := strconv.ParseBool(v)
		if err != nil || !want || !sp.err {
			return false
		}
	}
	return true
}

func (s *Server) searchV3(q v3Query) reply {
	var found []*trace
	for _, t := range s.newestFirst() {
		if len(found) == q.depth {
			break
		}
		for _, sp := range t.spans {
			if q.matches(sp) {
				found = append(found, t)
				break
			}
		}
	}
	if s.chunks {
		rep := reply{status: http.StatusOK, contentType: "application/json", chunks: [][]byte{}}
		for _, t := range found {
			rep.chunks = append(rep.chunks, append(mustJSON(map[string]any{"result": tracesData(t)}), '\n'))
		}
		return rep
	}
	if len(found) == 0 {
		return v3Error(http.StatusNotFound, "No traces found")
	}
	data := tracesData(found...)
	return reply{status: http.StatusOK, body: mustJSON(map[string]any{"result": data})}
}

// v3Error is the gateway's error: GRPCGatewayError with httpCode and
// message, written by http.Error.
func v3Error(status int, msg string) reply {
	type details struct {
		HTTPCode int    `json:"httpCode,omitempty"`
		Message  string `json:"message,omitempty"`
	}
	return textReply(status, string(mustJSON(map[string]details{"error": {HTTPCode: status, Message: msg}})))
}

// OTLP JSON as gogo jsonpb writes Jaeger's TracesData: hex IDs, enums as
// numbers, 64-bit times as decimal strings, zero fields left out.

type otlpData struct {
	ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
}

type otlpResourceSpans struct {
	Resource   otlpResource     `json:"resource"`
	ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
}

type otlpResource struct {
	Attributes []otlpKeyValue `json:"attributes,omitempty"`
}

type otlpScopeSpans struct {
	Scope struct{}   `json:"scope"`
	Spans []otlpSpan `json:"spans"`
}

type otlpSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId,omitempty"`
	Name              string         `json:"name"`
	Kind              int            `json:"kind,omitempty"`
	StartTimeUnixNano string         `json:"startTimeUnixNano"`
	EndTimeUnixNano   string         `json:"endTimeUnixNano"`
	Events            []otlpEvent    `json:"events,omitempty"`
	Status            otlpStatus     `json:"status"`
	Attributes        []otlpKeyValue `json:"attributes,omitempty"`
}

type otlpEvent struct {
	TimeUnixNano string         `json:"timeUnixNano"`
	Name         string         `json:"name"`
	Attributes   []otlpKeyValue `json:"attributes,omitempty"`
}

type otlpStatus struct {
	Message string `json:"message,omitempty"`
	Code    int    `json:"code,omitempty"`
}

type otlpKeyValue struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

// OTLP span kinds.
const (
	kindInternal = 1
	kindServer   = 2
)

func tracesData(traces ...*trace) otlpData {
	data := otlpData{ResourceSpans: []otlpResourceSpans{}}
	for _, t := range traces {
		for _, service := range t.services() {
			rs := otlpResourceSpans{
				Resource: otlpResource{Attributes: []otlpKeyValue{
					{Key: "service.name", Value: map[string]string{"stringValue": service}},
				}},
			}
			var spans []otlpSpan
			for _, sp := range t.spans {
				if sp.service == service {
					spans = append(spans, otlpSpanOf(t, sp))
				}
			}
			rs.ScopeSpans = []otlpScopeSpans{{Spans: spans}}
			data.ResourceSpans = append(data.ResourceSpans, rs)
		}
	}
	return data
}

func otlpSpanOf(t *trace, sp *storedSpan) otlpSpan {
	out := otlpSpan{
		TraceID:           t.id,
		SpanID:            sp.id,
		ParentSpanID:      sp.parent,
		Name:              sp.operation,
		Kind:              kindInternal,
		StartTimeUnixNano: strconv.FormatInt(sp.start.UnixNano(), 10),
		EndTimeUnixNano:   strconv.FormatInt(sp.end().UnixNano(), 10),
	}
	if sp.parent == "" {
		out.Kind = kindServer
	}
	if sp.err {
		out.Status = otlpStatus{Code: 2, Message: sp.message} // STATUS_CODE_ERROR
	}
	if sp.exception != "" {
		out.Events = []otlpEvent{{
			TimeUnixNano: out.EndTimeUnixNano,
			Name:         "exception",
			Attributes: []otlpKeyValue{
				{Key: "exception.message", Value: map[string]string{"stringValue": sp.exception}},
			},
		}}
	}
	return out
}
