package jaegertest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/jaeger/jaegertest"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func start(t *testing.T, opts ...jaegertest.Option) *jaegertest.Server {
	t.Helper()
	s := jaegertest.New(opts...)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, s *jaegertest.Server, path string, q url.Values) answer {
	t.Helper()
	u := s.URL() + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// v3Query is a well-formed search of checkout in [t0, t0+1h], in the names
// given (camelCase or snake_case).
func v3Query(snake bool, extra ...string) url.Values {
	names := map[bool][3]string{
		false: {"query.serviceName", "query.startTimeMin", "query.startTimeMax"},
		true:  {"query.service_name", "query.start_time_min", "query.start_time_max"},
	}[snake]
	q := url.Values{names[0]: {"checkout"}, names[1]: {rfc(t0)}, names[2]: {rfc(t0.Add(time.Hour))}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q
}

// v3Err reads the v3 gateway's error body.
func v3Err(t *testing.T, a answer) (code int, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			HTTPCode int    `json:"httpCode"`
			Message  string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("not the v3 error shape: %q: %v", a.body, err)
	}
	if ct := a.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("error Content-Type %q, want http.Error's text/plain", ct)
	}
	return e.Error.HTTPCode, e.Error.Message
}

func TestV3Rejects(t *testing.T) {
	for _, tt := range []struct {
		name   string
		params jaegertest.Params
		q      url.Values
		status int
		msg    string
	}{
		{"nothing", jaegertest.CurrentParams, url.Values{}, 400, "min and max start time are required"},
		{"no end", jaegertest.CurrentParams, v3Query(false, "query.startTimeMax", ""), 400, "min and max start time are required"},
		{"bad time", jaegertest.CurrentParams, v3Query(false, "query.startTimeMin", "2026-03-04 10:00"), 400,
			`malformed parameter query.startTimeMin: parsing time "2026-03-04 10:00"`},
		{"bad time, alias", jaegertest.CurrentParams, v3Query(true, "query.start_time_min", "1772618400"), 400,
			"malformed parameter query.start_time_min: parsing time"},
		{"start after end", jaegertest.CurrentParams, v3Query(false, "query.startTimeMin", rfc(t0.Add(2*time.Hour))), 400,
			"min start time must be before max start time"},
		{"start at end", jaegertest.CurrentParams, v3Query(false, "query.startTimeMin", rfc(t0.Add(time.Hour))), 400,
			"min start time must be before max start time"},
		{"no service", jaegertest.CurrentParams, v3Query(false, "query.serviceName", ""), 501, "requires a service name to search"},
		{"bad attributes", jaegertest.CurrentParams, v3Query(false, "query.attributes", "error=true"), 400,
			"malformed parameter query.attributes"},
		{"attributes not strings", jaegertest.CurrentParams, v3Query(false, "query.attributes", `{"error":true}`), 400,
			"malformed parameter query.attributes"},
		{"bad depth", jaegertest.CurrentParams, v3Query(false, "query.searchDepth", "-1"), 400, "malformed parameter query.searchDepth"},
		{"bad depth, alias", jaegertest.CurrentParams, v3Query(false, "query.num_traces", "ten"), 400, "malformed parameter query.num_traces"},
		{"bad duration", jaegertest.CurrentParams, v3Query(false, "query.durationMin", "5"), 400, "malformed parameter query.durationMin"},
		{"durations backwards", jaegertest.CurrentParams, v3Query(false, "query.durationMin", "2s", "query.durationMax", "1s"), 400,
			"max duration cannot be less than min duration"},
		{"structured filter", jaegertest.CurrentParams, v3Query(false, "query.filter", `{"op":"eq"}`), 501,
			"the structured query filter is disabled"},
		{"camelCase only: snake_case ignored", jaegertest.CamelCaseParams, v3Query(true), 400, "min and max start time are required"},
		{"snake_case only: nothing", jaegertest.SnakeCaseParams, url.Values{}, 400,
			"query.start_time_min and query.start_time_max are required"},
		{"snake_case only: camelCase ignored", jaegertest.SnakeCaseParams, v3Query(false), 400,
			"query.start_time_min and query.start_time_max are required"},
		{"snake_case only: bad time", jaegertest.SnakeCaseParams, v3Query(true, "query.start_time_max", "now"), 400,
			"malformed parameter query.start_time_max: parsing time"},
		{"snake_case only: bad depth", jaegertest.SnakeCaseParams, v3Query(true, "query.num_traces", "x"), 400,
			`malformed parameter query.num_traces: strconv.Atoi: parsing "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, jaegertest.WithV3Params(tt.params))
			a := get(t, s, jaegertest.PathV3, tt.q)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			code, msg := v3Err(t, a)
			if code != tt.status || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %d %q, want %d containing %q", code, msg, tt.status, tt.msg)
			}
		})
	}
}

// otlpAnswer is the part of a v3 answer the tests read.
type otlpAnswer struct {
	Result struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []struct {
					Key   string            `json:"key"`
					Value map[string]string `json:"value"`
				} `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []struct {
					TraceID           string `json:"traceId"`
					SpanID            string `json:"spanId"`
					ParentSpanID      string `json:"parentSpanId"`
					Name              string `json:"name"`
					StartTimeUnixNano string `json:"startTimeUnixNano"`
					EndTimeUnixNano   string `json:"endTimeUnixNano"`
					Status            struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"status"`
					Events []struct {
						Name       string `json:"name"`
						Attributes []struct {
							Key   string            `json:"key"`
							Value map[string]string `json:"value"`
						} `json:"attributes"`
					} `json:"events"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

// traceIDs lists the trace IDs of an answer, in order, once each.
func (o *otlpAnswer) traceIDs() []string {
	var out []string
	for _, rs := range o.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				if !slices.Contains(out, sp.TraceID) {
					out = append(out, sp.TraceID)
				}
			}
		}
	}
	return out
}

// seed adds traces of checkout and others; it returns the IDs of: a
// failing one at t0+5m, a passing one at t0+10m, a failing one of another
// service, a failing one before the window and a failing one at t0+20m
// whose failing span is a child.
func seed(s *jaegertest.Server) (fail1, pass, other, early, fail2 string) {
	fail1 = s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "POST /checkout", Start: t0.Add(5 * time.Minute),
		Duration: time.Second, Error: true, Message: "boom"})
	pass = s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "GET /cart", Start: t0.Add(10 * time.Minute), Duration: time.Millisecond})
	other = s.AddTrace(jaegertest.Span{Service: "inventory", Operation: "reserve", Start: t0.Add(11 * time.Minute), Duration: time.Millisecond, Error: true})
	early = s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "POST /checkout", Start: t0.Add(-time.Minute), Duration: time.Second, Error: true})
	fail2 = s.AddTrace(jaegertest.Span{Service: "frontend", Operation: "GET /", Start: t0.Add(20 * time.Minute), Duration: 2 * time.Second,
		Children: []jaegertest.Span{{Service: "checkout", Operation: "validate", Start: t0.Add(20*time.Minute + time.Millisecond),
			Duration: time.Millisecond, Error: true, Exception: "cart is empty"}}})
	return
}

func TestV3Search(t *testing.T) {
	for _, tt := range []struct {
		name   string
		params jaegertest.Params
		q      url.Values
		want   func(fail1, pass, other, early, fail2 string) []string
	}{
		{"failing, newest added first", jaegertest.CurrentParams, v3Query(false, "query.attributes", `{"error":"true"}`),
			func(fail1, _, _, _, fail2 string) []string { return []string{fail2, fail1} }},
		{"failing, by aliases", jaegertest.CurrentParams, v3Query(true, "query.attributes", `{"error":"true"}`),
			func(fail1, _, _, _, fail2 string) []string { return []string{fail2, fail1} }},
		{"any status", jaegertest.CurrentParams, v3Query(false),
			func(fail1, pass, _, _, fail2 string) []string { return []string{fail2, pass, fail1} }},
		{"depth", jaegertest.CurrentParams, v3Query(false, "query.searchDepth", "1"),
			func(_, _, _, _, fail2 string) []string { return []string{fail2} }},
		{"passing only: none has status OK", jaegertest.CurrentParams, v3Query(false, "query.attributes", `{"error":"false"}`),
			func(string, string, string, string, string) []string { return nil }},
		{"an attribute no span has", jaegertest.CurrentParams, v3Query(false, "query.attributes", `{"http.status_code":"500"}`),
			func(string, string, string, string, string) []string { return nil }},
		{"operation", jaegertest.CurrentParams, v3Query(false, "query.operationName", "validate"),
			func(_, _, _, _, fail2 string) []string { return []string{fail2} }},
		{"snake_case gateway ignores attributes", jaegertest.SnakeCaseParams, v3Query(true, "query.attributes", `{"error":"true"}`),
			func(fail1, pass, _, _, fail2 string) []string { return []string{fail2, pass, fail1} }},
		{"snake_case gateway without service searches all", jaegertest.SnakeCaseParams, v3Query(true, "query.service_name", ""),
			func(fail1, pass, other, _, fail2 string) []string { return []string{fail2, other, pass, fail1} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, jaegertest.WithV3Params(tt.params))
			want := tt.want(seed(s))
			a := get(t, s, jaegertest.PathV3, tt.q)
			if len(want) == 0 {
				if code, msg := v3Err(t, a); a.status != 404 || code != 404 || msg != "No traces found" {
					t.Fatalf("%d %s, want 404 No traces found", a.status, a.body)
				}
				return
			}
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			var o otlpAnswer
			if err := json.Unmarshal([]byte(a.body), &o); err != nil {
				t.Fatal(err)
			}
			if got := o.traceIDs(); !slices.Equal(got, want) {
				t.Errorf("traces %v, want %v", got, want)
			}
		})
	}
}

func TestV3AnswerShape(t *testing.T) {
	s := start(t)
	_, _, _, _, fail2 := seed(s)
	a := get(t, s, jaegertest.PathV3, v3Query(false, "query.operationName", "validate"))
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	// The gateway sets no Content-Type; Go sniffs one.
	if ct := a.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var o otlpAnswer
	if err := json.Unmarshal([]byte(a.body), &o); err != nil {
		t.Fatal(err)
	}
	rs := o.Result.ResourceSpans
	if len(rs) != 2 || rs[0].Resource.Attributes[0].Key != "service.name" ||
		rs[0].Resource.Attributes[0].Value["stringValue"] != "frontend" || rs[1].Resource.Attributes[0].Value["stringValue"] != "checkout" {
		t.Fatalf("resourceSpans %+v, want frontend then checkout", rs)
	}
	root, child := rs[0].ScopeSpans[0].Spans[0], rs[1].ScopeSpans[0].Spans[0]
	if root.TraceID != fail2 || len(root.TraceID) != 32 || len(root.SpanID) != 16 || root.ParentSpanID != "" || root.Status.Code != 0 {
		t.Errorf("root %+v", root)
	}
	if child.ParentSpanID != root.SpanID || child.Name != "validate" || child.Status.Code != 2 {
		t.Errorf("child %+v, want the failing child of %s", child, root.SpanID)
	}
	if child.StartTimeUnixNano != "1772619600001000000" || child.EndTimeUnixNano != "1772619600002000000" {
		t.Errorf("child times %s–%s", child.StartTimeUnixNano, child.EndTimeUnixNano)
	}
	if len(child.Events) != 1 || child.Events[0].Name != "exception" ||
		child.Events[0].Attributes[0].Key != "exception.message" || child.Events[0].Attributes[0].Value["stringValue"] != "cart is empty" {
		t.Errorf("child events %+v", child.Events)
	}
	for _, raw := range []string{`"code":2`, `"startTimeUnixNano":"`} {
		if !strings.Contains(a.body, raw) {
			t.Errorf("body without %s: %s", raw, a.body)
		}
	}
}

func TestV3Deprecation(t *testing.T) {
	s := start(t)
	seed(s)
	a := get(t, s, jaegertest.PathV3, v3Query(true, "query.num_traces", "5"))
	if a.status != 200 || a.header.Get("Deprecation") != "true" || a.header.Get("Sunset") != "Mon, 01 Nov 2026 00:00:00 GMT" ||
		a.header.Get("Deprecated-Params") != "query.service_name,query.start_time_min,query.start_time_max,query.num_traces" {
		t.Errorf("%d %v, want the deprecation headers", a.status, a.header)
	}
	both := v3Query(false)
	for k, v := range v3Query(true) {
		both[k] = v
	}
	if a := get(t, s, jaegertest.PathV3, both); a.status != 200 || a.header.Get("Deprecation") != "" {
		t.Errorf("%d %v: both names sent, nothing should be flagged", a.status, a.header)
	}
	calls := s.Calls()
	if len(calls) != 2 || len(calls[0].Deprecated) != 4 || len(calls[1].Deprecated) != 0 {
		t.Errorf("calls %+v", calls)
	}
}

func TestV3Chunks(t *testing.T) {
	s := start(t, jaegertest.WithV3Chunks(true))
	fail1, _, _, _, fail2 := seed(s)
	a := get(t, s, jaegertest.PathV3, v3Query(false, "query.attributes", `{"error":"true"}`))
	lines := strings.Split(strings.TrimSpace(a.body), "\n")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" || len(lines) != 2 {
		t.Fatalf("%d %v %q, want two chunks", a.status, a.header, a.body)
	}
	var got []string
	for _, l := range lines {
		var o otlpAnswer
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		got = append(got, o.traceIDs()...)
	}
	if want := []string{fail2, fail1}; !slices.Equal(got, want) {
		t.Errorf("traces %v, want %v", got, want)
	}
	if a := get(t, s, jaegertest.PathV3, v3Query(false, "query.serviceName", "nobody")); a.status != 200 || a.body != "" {
		t.Errorf("no trace: %d %q, want an empty 200", a.status, a.body)
	}
}

func v1Query(extra ...string) url.Values {
	q := url.Values{"service": {"checkout"}, "start": {"1772618400000000"}, "end": {"1772622000000000"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q
}

func TestV1Rejects(t *testing.T) {
	s := start(t)
	for _, tt := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"no service", v1Query("service", ""),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter 'service' is required"}]}`},
		{"bad start", v1Query("start", "2026-03-04T10:00:00Z"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"unable to parse param 'start': strconv.ParseInt: parsing \"2026-03-04T10:00:00Z\": invalid syntax"}]}`},
		{"bad end", v1Query("end", "now"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"unable to parse param 'end': strconv.ParseInt: parsing \"now\": invalid syntax"}]}`},
		{"bad limit", v1Query("limit", "five"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"strconv.ParseInt: parsing \"five\": invalid syntax"}]}`},
		{"bad tags", v1Query("tags", "error=true"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"malformed 'tags' parameter, cannot unmarshal JSON: invalid character 'e' looking for beginning of value"}]}`},
		{"bad tag", v1Query("tag", "error"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"malformed 'tag' parameter, expecting key:value, received: error"}]}`},
		{"durations backwards", v1Query("minDuration", "2s", "maxDuration", "1s"),
			`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"'maxDuration' should be greater than 'minDuration'"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, jaegertest.PathV1, tt.q)
			if a.status != 400 || a.body != tt.want+"\n" || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%d %s %q,\nwant 400 text/plain %q", a.status, a.header.Get("Content-Type"), a.body, tt.want)
			}
		})
	}
}

type v1Answer struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			TraceID       string `json:"traceID"`
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			References    []struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			} `json:"references"`
			StartTime int64 `json:"startTime"`
			Duration  int64 `json:"duration"`
			Tags      []struct {
				Key   string `json:"key"`
				Type  string `json:"type"`
				Value any    `json:"value"`
			} `json:"tags"`
			Logs []struct {
				Fields []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"fields"`
			} `json:"logs"`
			ProcessID string `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
	Errors []any `json:"errors"`
}

func TestV1Search(t *testing.T) {
	s := start(t)
	fail1, pass, _, _, fail2 := seed(s)
	short := s.AddTrace(jaegertest.Span{TraceID: "abc1234567890abcdef", Service: "checkout", Operation: "GET /health",
		Start: t0.Add(30 * time.Minute), Duration: time.Millisecond, Error: true, Message: "unhealthy"})
	for _, tt := range []struct {
		name string
		q    url.Values
		want []string // the traceIDs as written
	}{
		{"failing", v1Query("tags", `{"error":"true"}`), []string{"abc1234567890abcdef", fail2, fail1}},
		{"tag form", v1Query("tag", "error:true"), []string{"abc1234567890abcdef", fail2, fail1}},
		{"limit", v1Query("tags", `{"error":"true"}`, "limit", "2"), []string{"abc1234567890abcdef", fail2}},
		{"all", v1Query(), []string{"abc1234567890abcdef", fail2, pass, fail1}},
		{"by message", v1Query("tags", `{"otel.status_description":"boom"}`), []string{fail1}},
		{"by exception", v1Query("tags", `{"exception.message":"cart is empty"}`), []string{fail2}},
		{"start after end: nothing, as Jaeger", v1Query("start", "1772622000000000", "end", "1772618400000000"), nil},
		{"another service", v1Query("service", "payments"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, jaegertest.PathV1, tt.q)
			if a.status != 200 || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %v %s", a.status, a.header, a.body)
			}
			var v v1Answer
			if err := json.Unmarshal([]byte(a.body), &v); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range v.Data {
				got = append(got, d.TraceID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
			if v.Data == nil || !strings.Contains(a.body, `"data":[`) {
				t.Errorf("data is not a list: %s", a.body)
			}
		})
	}
	if short != "0000000000000abc1234567890abcdef" {
		t.Errorf("AddTrace returned %q, want the ID padded to 32 digits", short)
	}

	a := get(t, s, jaegertest.PathV1, v1Query("tags", `{"exception.message":"cart is empty"}`))
	var v v1Answer
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatal(err)
	}
	tr := v.Data[0]
	if len(tr.Spans) != 2 || tr.Processes["p1"].ServiceName != "frontend" || tr.Processes["p2"].ServiceName != "checkout" {
		t.Fatalf("trace %+v", tr)
	}
	root, child := tr.Spans[0], tr.Spans[1]
	if len(root.References) != 0 || root.ProcessID != "p1" || root.StartTime != 1772619600000000 || root.Duration != 2000000 {
		t.Errorf("root %+v", root)
	}
	if len(child.References) != 1 || child.References[0].RefType != "CHILD_OF" || child.References[0].SpanID != root.SpanID ||
		child.ProcessID != "p2" {
		t.Errorf("child %+v", child)
	}
	var errorTag, statusTag bool
	for _, tag := range child.Tags {
		errorTag = errorTag || (tag.Key == "error" && tag.Type == "bool" && tag.Value == true)
		statusTag = statusTag || (tag.Key == "otel.status_code" && tag.Value == "ERROR")
	}
	if !errorTag || !statusTag {
		t.Errorf("child tags %+v, want error=true and otel.status_code=ERROR", child.Tags)
	}
	if len(child.Logs) != 1 || child.Logs[0].Fields[0].Value != "exception" || child.Logs[0].Fields[1].Value != "cart is empty" {
		t.Errorf("child logs %+v", child.Logs)
	}
}

func TestV1TraceIDs(t *testing.T) {
	s := start(t)
	id := s.AddTrace(jaegertest.Span{TraceID: "ABC", Service: "checkout", Operation: "x", Start: t0, Duration: time.Millisecond})
	a := get(t, s, jaegertest.PathV1, url.Values{"traceID": {"abc", "def"}})
	var v struct {
		Data []struct {
			TraceID string `json:"traceID"`
		} `json:"data"`
		Errors []struct {
			Msg     string `json:"msg"`
			TraceID string `json:"traceID"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatal(err)
	}
	if id != "00000000000000000000000000000abc" || len(v.Data) != 1 || v.Data[0].TraceID != "0000000000000abc" ||
		len(v.Errors) != 1 || v.Errors[0].Msg != "trace not found" {
		t.Errorf("%s: %+v", id, v)
	}
}

func TestAbsentAPIs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []jaegertest.Option
		path   string
		status int
		ct     string
	}{
		{"Jaeger 1.x without v3: the UI page", []jaegertest.Option{jaegertest.WithV3(false)}, jaegertest.PathV3, 200, "text/html; charset=utf-8"},
		{"Jaeger 1.x without v3 nor UI", []jaegertest.Option{jaegertest.WithV3(false), jaegertest.WithUI(false)}, jaegertest.PathV3, 404, "text/plain; charset=utf-8"},
		{"Jaeger 2.x without v1", []jaegertest.Option{jaegertest.WithV1(false)}, jaegertest.PathV1, 404, "text/plain; charset=utf-8"},
		{"Jaeger 2.x: another /api path", nil, "/api/v2/traces", 404, "text/plain; charset=utf-8"},
		{"the UI's search page", nil, "/search", 200, "text/html; charset=utf-8"},
		{"a trace's page", nil, "/trace/abc", 200, "text/html; charset=utf-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts...)
			a := get(t, s, tt.path, v3Query(false))
			if a.status != tt.status || a.header.Get("Content-Type") != tt.ct {
				t.Errorf("%d %s %q, want %d %s", a.status, a.header.Get("Content-Type"), a.body, tt.status, tt.ct)
			}
			if tt.status == 404 && a.body != "404 page not found\n" {
				t.Errorf("body %q", a.body)
			}
			if tt.status == 200 && !strings.Contains(a.body, "<title>Jaeger UI</title>") {
				t.Errorf("body %q", a.body)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := start(t)
	for _, path := range []string{jaegertest.PathV3, jaegertest.PathV1} {
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
}

func TestFailNext(t *testing.T) {
	s := start(t)
	seed(s)
	s.FailNext(jaegertest.PathV3, jaegertest.Fault{Status: 503})
	s.FailNext(jaegertest.PathV3, jaegertest.Fault{Status: 500})
	s.FailNext(jaegertest.PathV1, jaegertest.Fault{Status: 502})

	a := get(t, s, jaegertest.PathV3, v3Query(false))
	if code, msg := v3Err(t, a); a.status != 503 || code != 503 || msg != "jaegertest: injected HTTP 503" {
		t.Errorf("first: %d %s", a.status, a.body)
	}
	if a := get(t, s, jaegertest.PathV3, v3Query(false)); a.status != 500 {
		t.Errorf("second: %d, want the queued 500", a.status)
	}
	if a := get(t, s, jaegertest.PathV3, v3Query(false)); a.status != 200 {
		t.Errorf("third: %d, want a normal answer", a.status)
	}
	a = get(t, s, jaegertest.PathV1, v1Query())
	if want := `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":502,"msg":"jaegertest: injected HTTP 502"}]}` + "\n"; a.status != 502 || a.body != want {
		t.Errorf("v1: %d %q", a.status, a.body)
	}

	defer func() {
		if recover() == nil {
			t.Error("FailNext on an unknown path did not panic")
		}
	}()
	s.FailNext("/api/v3/trace", jaegertest.Fault{Status: 500})
}

func TestDelays(t *testing.T) {
	s := start(t)
	seed(s)

	s.FailNext(jaegertest.PathV3, jaegertest.Fault{Delay: 100 * time.Millisecond})
	began := time.Now()
	if a := get(t, s, jaegertest.PathV3, v3Query(false)); a.status != 200 {
		t.Errorf("delayed call: %d, want a normal answer", a.status)
	}
	if d := time.Since(began); d < 100*time.Millisecond {
		t.Errorf("answered after %s, want ≥ 100ms", d)
	}

	s.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+jaegertest.PathV1+"?"+v1Query().Encode(), nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("answered despite the delay")
	}
	s.SetDelay(0)
	// The server notices the client left; its call is recorded with no status.
	deadline := time.Now().Add(2 * time.Second)
	for s.CallCount(jaegertest.PathV1) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Path != jaegertest.PathV1 || last.Status != 0 || last.Query.Get("service") != "checkout" {
		t.Errorf("last call %+v, want the abandoned v1 call with status 0", last)
	}
	if a := get(t, s, jaegertest.PathV1, v1Query()); a.status != 200 {
		t.Errorf("after SetDelay(0): %d", a.status)
	}
}

func TestCalls(t *testing.T) {
	now := t0.Add(time.Hour)
	s := start(t, jaegertest.WithClock(func() time.Time { return now }))
	get(t, s, jaegertest.PathV3, v3Query(false))
	get(t, s, jaegertest.PathV1, url.Values{})
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Method != "GET" || calls[0].Path != jaegertest.PathV3 || calls[0].Status != 404 ||
		calls[0].Query.Get("query.serviceName") != "checkout" || !calls[0].Time.Equal(now) ||
		calls[1].Path != jaegertest.PathV1 || calls[1].Status != 400 {
		t.Errorf("calls %+v", calls)
	}
	calls[0].Query.Set("query.serviceName", "changed")
	if s.Calls()[0].Query.Get("query.serviceName") != "checkout" {
		t.Error("Calls shares its query with the Server")
	}
	if s.CallCount(jaegertest.PathV3) != 1 || s.CallCount(jaegertest.PathV1) != 1 || s.CallCount("/x") != 0 {
		t.Error("CallCount")
	}
}

func TestV1DefaultWindow(t *testing.T) {
	// Without start and end, v1 searches the last 48 hours before now.
	now := t0.Add(time.Hour)
	s := start(t, jaegertest.WithClock(func() time.Time { return now }))
	recent := s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "x", Start: now.Add(-47 * time.Hour), Duration: time.Millisecond})
	s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "x", Start: now.Add(-49 * time.Hour), Duration: time.Millisecond})
	clocked := s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "y", Duration: time.Millisecond}) // starts now
	a := get(t, s, jaegertest.PathV1, url.Values{"service": {"checkout"}})
	var v v1Answer
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range v.Data {
		got = append(got, d.TraceID)
	}
	if want := []string{clocked, recent}; !slices.Equal(got, want) {
		t.Errorf("traces %v, want %v", got, want)
	}
}

func TestAddTracePanics(t *testing.T) {
	s := start(t)
	for _, sp := range []jaegertest.Span{
		{Operation: "x"},
		{Service: "a"},
		{Service: "a", Operation: "x", Duration: -1},
		{Service: "a", Operation: "x", Children: []jaegertest.Span{{Service: "b"}}},
		{TraceID: "xyz", Service: "a", Operation: "x"},
		{TraceID: strings.Repeat("a", 33), Service: "a", Operation: "x"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddTrace(%+v) did not panic", sp)
				}
			}()
			s.AddTrace(sp)
		}()
	}
}

func TestWindows(t *testing.T) {
	// A span matches when it starts in [start, end], both ends included, as
	// the memory stores decide.
	s := start(t)
	var want []string
	for _, at := range []time.Duration{-time.Nanosecond, 0, 30 * time.Minute, time.Hour, time.Hour + time.Microsecond} {
		id := s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "x", Start: t0.Add(at), Duration: time.Millisecond})
		if at >= 0 && at <= time.Hour {
			want = append([]string{id}, want...)
		}
	}
	var o otlpAnswer
	a := get(t, s, jaegertest.PathV3, v3Query(false))
	if err := json.Unmarshal([]byte(a.body), &o); err != nil {
		t.Fatal(err)
	}
	if got := o.traceIDs(); !slices.Equal(got, want) {
		t.Errorf("v3 traces %v, want %v", got, want)
	}
	var v v1Answer
	a = get(t, s, jaegertest.PathV1, v1Query())
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range v.Data {
		got = append(got, d.TraceID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("v1 traces %v, want %v", got, want)
	}
}
