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

// GET /api/traces, as read in jaegertracing/jaeger cmd/query/app/:
// query_parser.go (parseTraceQueryParams, validateQuery), http_handler.go
// (search, handleError, structuredResponse) and model/json/model.go (the
// shapes); how an OTLP span looks there, in the OTLP → Jaeger translator
// (opentelemetry-collector-contrib pkg/translator/jaeger).

const (
	// defaultLimit is the limit of a search without one (defaultQueryLimit).
	defaultLimit = 100
	// defaultLookback is how far back a search without start looks
	// (defaultTraceQueryLookbackDuration; the value is from memory of
	// Jaeger's flags, not re-read).
	defaultLookback = 48 * time.Hour
)

type v1Response struct {
	Data   any           `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []v1ErrorItem `json:"errors"`
}

type v1ErrorItem struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// v1Error answers as handleError does: the status, and the error in the
// structured response, written by http.Error.
func v1Error(status int, msg string) reply {
	return textReply(status, string(mustJSON(v1Response{Errors: []v1ErrorItem{{Code: status, Msg: msg}}})))
}

type v1Query struct {
	service, operation string
	start, end         time.Time
	tags               map[string]string
	limit              int
	durMin, durMax     time.Duration
	traceIDs           []string
}

// searchV1 answers a search. The caller holds s.mu.
func (s *Server) searchV1(q url.Values) reply {
	query, err := s.parseV1(q)
	if err != nil {
		return v1Error(http.StatusBadRequest, err.Error())
	}
	var found []*trace
	var errs []v1ErrorItem
	if len(query.traceIDs) > 0 {
		for _, id := range query.traceIDs {
			if t := s.traceByID(id); t != nil {
				found = append(found, t)
			} else {
				errs = append(errs, v1ErrorItem{Msg: "trace not found", TraceID: id})
			}
		}
	} else {
		for _, t := range s.newestFirst() {
			if query.limit > 0 && len(found) == query.limit {
				break
			}
			for _, sp := range t.spans {
				if query.matches(sp) {
					found = append(found, t)
					break
				}
			}
		}
	}
	data := make([]v1Trace, 0, len(found))
	for _, t := range found {
		data = append(data, v1TraceOf(t))
	}
	return reply{
		status:      http.StatusOK,
		contentType: "application/json",
		body:        mustJSON(v1Response{Data: data, Errors: errs}),
	}
}

func (s *Server) parseV1(q url.Values) (v1Query, error) {
	query := v1Query{service: q.Get("service"), operation: q.Get("operation"), limit: defaultLimit, tags: map[string]string{}}
	now := s.now()
	var err error
	if query.start, err = parseMicros(q, "start", now.Add(-defaultLookback)); err != nil {
		return query, err
	}
	if query.end, err = parseMicros(q, "end", now); err != nil {
		return query, err
	}
	for _, tag := range q["tag"] {
		k, v, ok := strings.Cut(tag, ":")
		if !ok {
			return query, fmt.Errorf("malformed 'tag' parameter, expecting key:value, received: %s", tag)
		}
		query.tags[k] = v
	}
	for _, tags := range q["tags"] {
		var m map[string]string
		if err := json.Unmarshal([]byte(tags), &m); err != nil {
			return query, fmt.Errorf("malformed 'tags' parameter, cannot unmarshal JSON: %w", err)
		}
		for k, v := range m {
			query.tags[k] = v
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 32)
		if err != nil {
			return query, err // Jaeger returns strconv's error as it is
		}
		query.limit = int(n)
	}
	for _, d := range []struct {
		name string
		out  *time.Duration
	}{{"minDuration", &query.durMin}, {"maxDuration", &query.durMax}} {
		if v := q.Get(d.name); v != "" {
			if *d.out, err = time.ParseDuration(v); err != nil {
				return query, fmt.Errorf("unable to parse param '%s': %w", d.name, err)
			}
		}
	}
	for _, id := range q["traceID"] {
		if len(id) == 0 || len(id) > 32 || !isHex(id) {
			return query, fmt.Errorf("cannot parse traceID param: TraceID cannot be longer than 32 hex characters: %s", id)
		}
		query.traceIDs = append(query.traceIDs, strings.Repeat("0", 32-len(id))+strings.ToLower(id))
	}
	switch {
	case len(query.traceIDs) == 0 && query.service == "":
		return query, fmt.Errorf("parameter 'service' is required")
	case query.durMin != 0 && query.durMax != 0 && query.durMax < query.durMin:
		return query, fmt.Errorf("'maxDuration' should be greater than 'minDuration'")
	}
	return query, nil
}

func parseMicros(q url.Values, name string, def time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to parse param '%s': %w", name, err)
	}
	return time.UnixMicro(n).UTC(), nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

func (s *Server) traceByID(id string) *trace {
	for _, t := range s.traces {
		if t.id == id {
			return t
		}
	}
	return nil
}

// matches reports whether a span matches every predicate of the query on
// its own, as the v1 stores decide: service, operation, start in
// [start, end], duration, and each tag among the span's tags, its
// process's tags or its logs' fields.
func (q *v1Query) matches(sp *storedSpan) bool {
	switch {
	case sp.service != q.service,
		q.operation != "" && sp.operation != q.operation,
		sp.start.Before(q.start) || sp.start.After(q.end),
		q.durMin != 0 && sp.duration < q.durMin,
		q.durMax != 0 && sp.duration > q.durMax:
		return false
	}
	fields := v1Tags(sp)
	for _, l := range v1Logs(sp) {
		fields = append(fields, l.Fields...)
	}
	for k, want := range q.tags {
		found := false
		for _, kv := range fields {
			if kv.Key == k && fmt.Sprint(kv.Value) == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// The v1 JSON model (model/json/model.go).

type v1Trace struct {
	TraceID   string               `json:"traceID"`
	Spans     []v1Span             `json:"spans"`
	Processes map[string]v1Process `json:"processes"`
	Warnings  []string             `json:"warnings"`
}

type v1Span struct {
	TraceID       string        `json:"traceID"`
	SpanID        string        `json:"spanID"`
	Flags         uint32        `json:"flags,omitempty"`
	OperationName string        `json:"operationName"`
	References    []v1Reference `json:"references"`
	StartTime     int64         `json:"startTime"`
	Duration      int64         `json:"duration"`
	Tags          []v1KeyValue  `json:"tags"`
	Logs          []v1Log       `json:"logs"`
	ProcessID     string        `json:"processID,omitempty"`
	Warnings      []string      `json:"warnings"`
}

type v1Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type v1Process struct {
	ServiceName string       `json:"serviceName"`
	Tags        []v1KeyValue `json:"tags"`
}

type v1Log struct {
	Timestamp int64        `json:"timestamp"`
	Fields    []v1KeyValue `json:"fields"`
}

type v1KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type,omitempty"`
	Value any    `json:"value"`
}

// v1TraceID writes a trace ID as model.TraceID.String does: "%x%016x",
// the high half without leading zeros, or "%016x" when it is zero.
func v1TraceID(id string) string {
	hi, _ := strconv.ParseUint(id[:16], 16, 64)
	lo := id[16:]
	if hi == 0 {
		return lo
	}
	return strconv.FormatUint(hi, 16) + lo
}

func v1TraceOf(t *trace) v1Trace {
	out := v1Trace{TraceID: v1TraceID(t.id), Spans: []v1Span{}, Processes: map[string]v1Process{}}
	pids := map[string]string{}
	for i, service := range t.services() {
		pid := "p" + strconv.Itoa(i+1)
		pids[service] = pid
		out.Processes[pid] = v1Process{ServiceName: service, Tags: []v1KeyValue{}}
	}
	for _, sp := range t.spans {
		vs := v1Span{
			TraceID:       out.TraceID,
			SpanID:        sp.id,
			Flags:         1,
			OperationName: sp.operation,
			References:    []v1Reference{},
			StartTime:     sp.start.UnixMicro(),
			Duration:      sp.duration.Microseconds(),
			Tags:          v1Tags(sp),
			Logs:          v1Logs(sp),
			ProcessID:     pids[sp.service],
		}
		if sp.parent != "" {
			vs.References = append(vs.References, v1Reference{RefType: "CHILD_OF", TraceID: out.TraceID, SpanID: sp.parent})
		}
		out.Spans = append(out.Spans, vs)
	}
	return out
}

// v1Tags are the tags the translator gives an OTLP span: span.kind, and
// for status ERROR error=true, otel.status_code and
// otel.status_description.
func v1Tags(sp *storedSpan) []v1KeyValue {
	kind := "internal"
	if sp.parent == "" {
		kind = "server"
	}
	tags := []v1KeyValue{{Key: "span.kind", Type: "string", Value: kind}}
	if sp.err {
		tags = append(tags,
			v1KeyValue{Key: "error", Type: "bool", Value: true},
			v1KeyValue{Key: "otel.status_code", Type: "string", Value: "ERROR"})
		if sp.message != "" {
			tags = append(tags, v1KeyValue{Key: "otel.status_description", Type: "string", Value: sp.message})
		}
	}
	return tags
}

// v1Logs are the logs of an OTLP span's events: the event's name as the
// field "event", then its attributes.
func v1Logs(sp *storedSpan) []v1Log {
	if sp.exception == "" {
		return []v1Log{}
	}
	return []v1Log{{
		Timestamp: sp.end().UnixMicro(),
		Fields: []v1KeyValue{
			{Key: "event", Type: "string", Value: "exception"},
			{Key: "exception.message", Type: "string", Value: sp.exception},
		},
	}}
}
