package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Query API v3 over HTTP, GET /api/v3/traces.
//
// Checked against the sources (jaegertracing/jaeger, jaegertracing/jaeger-idl):
//
//   - The route and its parameters: the hand-written gateway that replaced
//     grpc-gateway (jaeger#5054, December 2023,
//     https://github.com/jaegertracing/jaeger/pull/5054), in
//     cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/http_gateway.go:
//     query.service_name, query.operation_name, query.start_time_min and
//     query.start_time_max (RFC 3339 with nanoseconds, both required, else
//     400 "query.start_time_min and query.start_time_max are required"),
//     query.num_traces, query.duration_min/max, query.raw_traces. That
//     gateway set Attributes to an empty map ("most curiously not supported
//     by grpc-gateway"): query.attributes was silently ignored, so an older
//     v2 answers failing and passing traces alike. This client therefore
//     asks for more traces than it needs and keeps the failing ones itself.
//   - Newer releases (query_parser.go, param_resolver.go, deprecation.go in
//     the same directory) read camelCase names first (query.serviceName,
//     query.startTimeMin, query.startTimeMax, query.searchDepth) and take the
//     snake_case ones as deprecated aliases, answered with Deprecation and
//     Sunset headers; the aliases are to go in Jaeger v2.20.0 (Sunset
//     "Mon, 01 Nov 2026 00:00:00 GMT"). When both are sent the canonical one
//     wins and nothing is flagged (paramResolver.Resolve), and older
//     releases ignore names they do not know, so the client sends both.
//     They also read query.attributes as a JSON object of strings, as the
//     IDL documents it ("The HTTP API expects this as a URL-encoded JSON
//     string map. Example: {"http.status_code":"200","error":"true"}",
//     proto/api_v3/query_service.proto in jaeger-idl); the memory store
//     matches "error" against the span status (StatusCodeError),
//     internal/storage/v2/memory/tenant.go. A span must match service,
//     time window and attributes together.
//   - The answer: {"result":{"resourceSpans":[…]}} (GRPCGatewayWrapper in
//     query_service.proto; snapshots/FindTraces.json), all matching traces
//     in one TracesData, written by gogo jsonpb with no Content-Type set (so
//     Go sniffs text/plain). In it traceId and spanId are hex, enums are
//     numbers ("status":{"code":2}, STATUS_CODE_ERROR), and the uint64 times
//     are decimal strings ("startTimeUnixNano":"…").
//   - No trace found is 404 {"error":{"httpCode":404,"message":"No traces
//     found"}} (returnTraces in http_gateway.go; GRPCGatewayError in the
//     IDL: {"error":{"grpcCode":…,"httpCode":…,"message":…,"httpStatus":…}}),
//     sent by http.Error, so as text/plain.
//   - "The results have no guaranteed ordering" (TraceQueryParameters in
//     the IDL); the client sorts.
//   - Streaming: the RPC is server-streaming and the IDL says the HTTP
//     server "may return multiple responses using Transfer-Encoding:
//     chunked". Under grpc-gateway (from jaeger#3178, August 2021, which put
//     it under /api/v3, until jaeger#5054) each message was its own
//     {"result":…}, and the UI's v3 client is being taught to read a single
//     object, a JSON array or concatenated objects (jaeger-ui#4129); so does
//     decodeV3, and it takes an empty 200 for no trace.
//   - Older answers differ in shape: a 2023 trace from Jaeger's /api/v3, as
//     relayed in jambonz-api-server#93, had base64 traceId/spanId, enum
//     names ("SPAN_KIND_INTERNAL") and instrumentationLibrarySpans, and no
//     "result" envelope. decodeV3 reads both spellings and both ID
//     encodings; Jaeger itself accepts base64 trace IDs on input since
//     jaeger#8828 (2026).

// v3Attributes is the filter on a failing span.
const v3Attributes = `{"error":"true"}`

// Search depth: how many traces v3 is asked for, since an older v2 ignores
// query.attributes and answers the newest traces whether they failed or
// not.
const (
	v3Overfetch = 4
	v3MinDepth  = 20
	v3MaxDepth  = 100
)

func v3Depth(limit int) int {
	return max(limit, min(max(limit*v3Overfetch, v3MinDepth), v3MaxDepth))
}

func (c *Client) searchV3(ctx context.Context, service string, start, end time.Time, limit int) ([]span, error) {
	q := url.Values{}
	set := func(value string, names ...string) {
		for _, n := range names {
			q.Set(n, value)
		}
	}
	set(service, "query.serviceName", "query.service_name")
	set(start.UTC().Format(time.RFC3339Nano), "query.startTimeMin", "query.start_time_min")
	set(end.UTC().Format(time.RFC3339Nano), "query.startTimeMax", "query.start_time_max")
	set(strconv.Itoa(v3Depth(limit)), "query.searchDepth", "query.num_traces")
	q.Set("query.attributes", v3Attributes)

	const path = "/api/v3/traces"
	a, err := c.get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	switch {
	case a.status == http.StatusOK && a.isPage():
		return nil, &absentError{path, "answered with an HTML page"}
	case a.status == http.StatusOK:
		spans, err := decodeV3(a.body)
		if err != nil {
			var je *Error
			if errors.As(err, &je) {
				je.Path = path
				return nil, je
			}
			return nil, fmt.Errorf("jaeger GET %s: %w", path, err)
		}
		return spans, nil
	case a.status == http.StatusNotFound:
		if _, ok := v3ErrorMessage(a.body); ok {
			return nil, nil // "No traces found"
		}
		return nil, &absentError{path, "HTTP 404 without Jaeger's error body"}
	case a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotImplemented:
		return nil, &absentError{path, fmt.Sprintf("HTTP %d", a.status)}
	}
	msg, ok := v3ErrorMessage(a.body)
	if !ok {
		msg = a.bodyMessage()
	}
	return nil, &Error{Path: path, Status: a.status, Message: msg}
}

// v3ErrorMessage reads an error body of the v3 gateway: the hand-written
// one's {"error":{"httpCode":…,"message":…}}, grpc-gateway's stream error
// {"error":{"http_code":…,"message":…}} or its unary one
// {"error":"…","code":…,"message":"…"}.
func v3ErrorMessage(body []byte) (string, bool) {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &e) != nil || len(e.Error) == 0 {
		return "", false
	}
	var details struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(e.Error, &details) == nil && details.Message != "" {
		return details.Message, true
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil && s != "" {
		return s, true
	}
	if e.Message != "" {
		return e.Message, true
	}
	return "", false
}

// OTLP JSON, as far as warroom reads it.

type otlpTracesData struct {
	ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
}

type otlpResourceSpans struct {
	Resource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
	// OTLP before 0.15 (2022) named them so.
	LibrarySpans []otlpScopeSpans `json:"instrumentationLibrarySpans"`
}

type otlpScopeSpans struct {
	Spans []otlpSpan `json:"spans"`
}

type otlpSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId"`
	Name              string         `json:"name"`
	StartTimeUnixNano flexUint       `json:"startTimeUnixNano"`
	EndTimeUnixNano   flexUint       `json:"endTimeUnixNano"`
	Attributes        []otlpKeyValue `json:"attributes"`
	Events            []otlpEvent    `json:"events"`
	Status            struct {
		Code    statusCode `json:"code"`
		Message string     `json:"message"`
	} `json:"status"`
}

type otlpEvent struct {
	Name       string         `json:"name"`
	Attributes []otlpKeyValue `json:"attributes"`
}

type otlpKeyValue struct {
	Key   string       `json:"key"`
	Value otlpAnyValue `json:"value"`
}

type otlpAnyValue struct {
	StringValue *string         `json:"stringValue"`
	BoolValue   *bool           `json:"boolValue"`
	IntValue    json.RawMessage `json:"intValue"` // a decimal string in proto JSON, a number elsewhere
	DoubleValue *float64        `json:"doubleValue"`
}

func (v otlpAnyValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return strconv.FormatBool(*v.BoolValue)
	case len(v.IntValue) > 0:
		return strings.Trim(string(v.IntValue), `"`)
	case v.DoubleValue != nil:
		return strconv.FormatFloat(*v.DoubleValue, 'g', -1, 64)
	}
	return ""
}

func otlpAttr(kvs []otlpKeyValue, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// flexUint is a uint64 written as a decimal string (proto3 JSON) or a number.
type flexUint uint64

func (u *flexUint) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*u = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("time %s: %w", b, err)
	}
	*u = flexUint(n)
	return nil
}

// statusCode is an OTLP span status code, a number (2) or a name
// ("STATUS_CODE_ERROR").
type statusCode int

const statusError statusCode = 2

func (c *statusCode) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch strings.TrimPrefix(strings.ToUpper(s), "STATUS_CODE_") {
	case "ERROR", "2":
		*c = statusError
	case "OK", "1":
		*c = 1
	default:
		*c = 0
	}
	return nil
}

// decodeV3 reads a 200 answer of GET /api/v3/traces: one JSON object, a
// JSON array of them, or objects one after another (chunks), each
// {"result":{"resourceSpans":…}}, a bare {"resourceSpans":…}, or an error
// chunk. An empty body is no trace. A chunk saying no trace was found is
// skipped; any other error chunk is returned as an *Error.
func decodeV3(body []byte) ([]span, error) {
	body = bytes.TrimSpace(body)
	var chunks []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &chunks); err != nil {
			return nil, fmt.Errorf("decoding the answer: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("decoding the answer: %w", err)
			}
			chunks = append(chunks, raw)
		}
	}
	var spans []span
	for _, raw := range chunks {
		var chunk struct {
			Result *otlpTracesData `json:"result"`
			otlpTracesData
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(raw, &chunk); err != nil {
			return nil, fmt.Errorf("decoding the answer: %w", err)
		}
		switch {
		case len(chunk.Error) > 0:
			msg, _ := v3ErrorMessage(raw)
			var code struct {
				HTTPCode  int `json:"httpCode"`
				HTTPCode2 int `json:"http_code"`
			}
			_ = json.Unmarshal(chunk.Error, &code)
			status := max(code.HTTPCode, code.HTTPCode2)
			if status == http.StatusNotFound || msg == "No traces found" {
				continue
			}
			if status == 0 {
				status = http.StatusInternalServerError
			}
			return nil, &Error{Status: status, Message: msg}
		case chunk.Result != nil:
			spans = appendOTLP(spans, chunk.Result)
		case chunk.ResourceSpans != nil:
			spans = appendOTLP(spans, &chunk.otlpTracesData)
		default:
			return nil, fmt.Errorf("decoding the answer: neither result nor error in %.100s", raw)
		}
	}
	return spans, nil
}

func appendOTLP(spans []span, td *otlpTracesData) []span {
	for _, rs := range td.ResourceSpans {
		service, _ := otlpAttr(rs.Resource.Attributes, "service.name")
		for _, ss := range slices.Concat(rs.ScopeSpans, rs.LibrarySpans) {
			for _, s := range ss.Spans {
				start := time.Unix(0, int64(s.StartTimeUnixNano)).UTC()
				var dur time.Duration
				if s.EndTimeUnixNano > s.StartTimeUnixNano {
					dur = time.Duration(s.EndTimeUnixNano - s.StartTimeUnixNano)
				}
				errAttr, _ := otlpAttr(s.Attributes, "error")
				failed := s.Status.Code == statusError || errAttr == "true"
				sp := span{
					traceID: normalizeID(s.TraceID, 16),
					id:      normalizeID(s.SpanID, 8),
					service: service,
					name:    s.Name,
					start:   start,
					dur:     dur,
					failed:  failed,
				}
				if p := normalizeID(s.ParentSpanID, 8); p != "" && strings.Trim(p, "0") != "" {
					sp.parent = p
				}
				if failed {
					sp.msg = otlpMessage(s)
				}
				spans = append(spans, sp)
			}
		}
	}
	return spans
}

// otlpMessage is what a failing span says about its error: its status
// message, else an "exception" event (OpenTelemetry's semantic
// conventions: exception.message, exception.type), else an error attribute.
func otlpMessage(s otlpSpan) string {
	if s.Status.Message != "" {
		return s.Status.Message
	}
	for _, ev := range s.Events {
		if ev.Name != "exception" {
			continue
		}
		if m, _ := otlpAttr(ev.Attributes, "exception.message"); m != "" {
			return m
		}
		if t, _ := otlpAttr(ev.Attributes, "exception.type"); t != "" {
			return t
		}
	}
	for _, k := range []string{"exception.message", "error.message", "otel.status_description"} {
		if m, _ := otlpAttr(s.Attributes, k); m != "" {
			return m
		}
	}
	return ""
}
