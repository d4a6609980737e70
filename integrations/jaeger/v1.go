package jaeger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The internal HTTP API the Jaeger UI used before v3, GET /api/traces.
//
// Checked against the sources of jaegertracing/jaeger:
//
//   - Parameters (cmd/query/app/query_parser.go, parseTraceQueryParams):
//     service, operation, start and end in microseconds since the epoch,
//     limit, minDuration, maxDuration, tag=key:value and tags=<JSON object
//     of strings>. Without service (and without traceID) it is 400
//     "parameter 'service' is required"; a bad time is 400 "unable to parse
//     param 'start': …".
//   - Errors (cmd/query/app/http_handler.go, handleError): the status with
//     {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,
//     "msg":"…"}]}, sent by http.Error (text/plain).
//   - The answer (model/json/model.go): {"data":[{"traceID","spans":[{
//     "traceID","spanID","operationName","references":[{"refType":
//     "CHILD_OF","traceID","spanID"}],"startTime"µs,"duration"µs,"tags":[{
//     "key","type","value"}],"logs":[{"timestamp","fields":[…]}],
//     "processID"}],"processes":{"p1":{"serviceName","tags"}}}],…}. An empty
//     search is 200 with "data":[]. The trace ID is written "%x%016x" (the
//     high half without leading zeros), so it can be shorter than 32 digits.
//   - An OTLP span with status ERROR reaches this API with the tags
//     error=true (bool), otel.status_code="ERROR" and
//     otel.status_description=<message>; its events become logs whose
//     "event" field is the event name (the OTLP → Jaeger translator,
//     opentelemetry-collector-contrib pkg/translator/jaeger). Spans from
//     Jaeger's own clients carry error=true and error logs
//     (event=error, message or error.object).
//   - Jaeger 2.x's query service answers an unknown /api/ path with a plain
//     404 ("invalid /api/* routes return 404 directly", static_handler.go);
//     API-NOTES says /api/traces is gone after v2.20 (not confirmed here).

// v1Tags is the filter on a failing span.
const v1Tags = `{"error":"true"}`

func (c *Client) searchV1(ctx context.Context, service string, start, end time.Time, limit int) ([]span, error) {
	q := url.Values{}
	q.Set("service", service)
	q.Set("start", strconv.FormatInt(start.UnixMicro(), 10))
	q.Set("end", strconv.FormatInt(end.UnixMicro(), 10))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("tags", v1Tags)

	const path = "/api/traces"
	a, err := c.get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	var res v1Response
	jsonErr := json.Unmarshal(a.body, &res)
	switch {
	case a.status == http.StatusOK && a.isPage():
		return nil, &absentError{path, "answered with an HTML page"}
	case a.status == http.StatusOK && jsonErr != nil:
		return nil, fmt.Errorf("jaeger GET %s: decoding the answer: %w", path, jsonErr)
	case a.status == http.StatusOK:
		if len(res.Data) == 0 && len(res.Errors) > 0 {
			return nil, &Error{Path: path, Status: a.status, Message: res.Errors[0].Msg}
		}
		return res.spans(), nil
	case (a.status == http.StatusNotFound && (jsonErr != nil || len(res.Errors) == 0)) ||
		a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotImplemented:
		return nil, &absentError{path, fmt.Sprintf("HTTP %d", a.status)}
	}
	msg := a.bodyMessage()
	if jsonErr == nil && len(res.Errors) > 0 && res.Errors[0].Msg != "" {
		msg = res.Errors[0].Msg
	}
	return nil, &Error{Path: path, Status: a.status, Message: msg}
}

type v1Response struct {
	Data   []v1Trace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type v1Trace struct {
	TraceID   string               `json:"traceID"`
	Spans     []v1Span             `json:"spans"`
	Processes map[string]v1Process `json:"processes"`
}

type v1Process struct {
	ServiceName string `json:"serviceName"`
}

type v1Span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	ParentSpanID  string `json:"parentSpanID"` // deprecated, before references
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime uint64       `json:"startTime"` // µs since the epoch
	Duration  uint64       `json:"duration"`  // µs
	Tags      []v1KeyValue `json:"tags"`
	Logs      []struct {
		Fields []v1KeyValue `json:"fields"`
	} `json:"logs"`
	ProcessID string     `json:"processID"`
	Process   *v1Process `json:"process"`
}

type v1KeyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func v1Value(kvs []v1KeyValue, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			switch v := kv.Value.(type) {
			case string:
				return v, true
			case nil:
				return "", true
			default:
				return fmt.Sprint(v), true
			}
		}
	}
	return "", false
}

func (r *v1Response) spans() []span {
	var out []span
	for _, t := range r.Data {
		for _, s := range t.Spans {
			traceID := s.TraceID
			if traceID == "" {
				traceID = t.TraceID
			}
			service := t.Processes[s.ProcessID].ServiceName
			if s.Process != nil && service == "" {
				service = s.Process.ServiceName
			}
			sp := span{
				traceID: normalizeID(traceID, 16),
				id:      normalizeID(s.SpanID, 8),
				parent:  normalizeID(s.ParentSpanID, 8),
				service: service,
				name:    s.OperationName,
				start:   time.UnixMicro(int64(s.StartTime)).UTC(),
				dur:     time.Duration(s.Duration) * time.Microsecond,
				failed:  v1Failed(s.Tags),
			}
			if parent := v1Parent(s); parent != "" {
				sp.parent = normalizeID(parent, 8)
			}
			if strings.Trim(sp.parent, "0") == "" {
				sp.parent = ""
			}
			if sp.failed {
				sp.msg = v1Message(s)
			}
			out = append(out, sp)
		}
	}
	return out
}

// v1Parent is the span a span is a child of: its CHILD_OF reference, else
// its first FOLLOWS_FROM one.
func v1Parent(s v1Span) string {
	parent := ""
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
		if parent == "" {
			parent = r.SpanID
		}
	}
	return parent
}

func v1Failed(tags []v1KeyValue) bool {
	if v, ok := v1Value(tags, "error"); ok && strings.EqualFold(v, "true") {
		return true
	}
	// otel.status_code was an int (2) before it became a name.
	v, _ := v1Value(tags, "otel.status_code")
	return v == "ERROR" || v == "2"
}

func v1Message(s v1Span) string {
	if m, _ := v1Value(s.Tags, "otel.status_description"); m != "" {
		return m
	}
	for _, l := range s.Logs {
		ev, _ := v1Value(l.Fields, "event")
		if ev != "error" && ev != "exception" {
			continue
		}
		for _, k := range []string{"exception.message", "message", "error.object", "error.message", "exception.type"} {
			if m, _ := v1Value(l.Fields, k); m != "" {
				return m
			}
		}
	}
	for _, k := range []string{"exception.message", "error.message"} {
		if m, _ := v1Value(s.Tags, k); m != "" {
			return m
		}
	}
	return ""
}
