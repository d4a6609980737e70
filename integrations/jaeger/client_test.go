package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/jaeger/jaegertest"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func start(t *testing.T, opts ...jaegertest.Option) (*jaegertest.Server, *Client) {
	t.Helper()
	s := jaegertest.New(opts...)
	t.Cleanup(s.Close)
	return s, New(s.URL(), nil)
}

// longMessage has line breaks and runs of blanks, and is over 200 characters.
var longMessage = "line one\n\tline two   " + strings.Repeat("x", 300)

// seed adds the traces every search test looks through, and returns the
// failing traces of checkout in [t0, t0+30m], newest first.
func seed(s *jaegertest.Server) []Trace {
	// Propagated: the error began in the database call, which says nothing;
	// its caller has the message.
	s.AddTrace(jaegertest.Span{
		TraceID: "0000000000000abc1234567890abcdef", // written shorter by the v1 API
		Service: "checkout", Operation: "POST /checkout", Start: t0.Add(5 * time.Minute), Duration: 800 * time.Millisecond,
		Error: true, Message: "upstream failed",
		Children: []jaegertest.Span{{
			Service: "payments", Operation: "charge", Start: t0.Add(5*time.Minute + 10*time.Millisecond), Duration: 700 * time.Millisecond,
			Error: true, Message: "card processor timeout",
			Children: []jaegertest.Span{{
				Service: "payments-db", Operation: "SELECT", Start: t0.Add(5*time.Minute + 20*time.Millisecond), Duration: 600 * time.Millisecond,
				Error: true,
			}},
		}},
	})
	// Passing, another service, before and after the window: none is wanted.
	s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "GET /cart", Start: t0.Add(10 * time.Minute), Duration: 20 * time.Millisecond})
	s.AddTrace(jaegertest.Span{Service: "inventory", Operation: "reserve", Start: t0.Add(12 * time.Minute), Duration: 30 * time.Millisecond, Error: true, Message: "no stock"})
	s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "POST /checkout", Start: t0.Add(-10 * time.Minute), Duration: time.Second, Error: true, Message: "too early"})
	s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "POST /checkout", Start: t0.Add(40 * time.Minute), Duration: time.Second, Error: true, Message: "too late"})
	// The root passes; a child of checkout fails with an exception event.
	second := s.AddTrace(jaegertest.Span{
		Service: "checkout", Operation: "POST /checkout", Start: t0.Add(20 * time.Minute), Duration: 1500 * time.Millisecond,
		Children: []jaegertest.Span{
			{Service: "checkout", Operation: "load cart", Duration: 100 * time.Millisecond},
			{Service: "checkout", Operation: "validate", Start: t0.Add(20*time.Minute + 200*time.Millisecond), Duration: 5 * time.Millisecond,
				Error: true, Exception: "IllegalStateException: cart is empty"},
		},
	})
	// Added last, started first: the order is the client's, not the store's.
	third := s.AddTrace(jaegertest.Span{
		Service: "checkout", Operation: "GET /health", Start: t0.Add(time.Minute), Duration: 3 * time.Millisecond,
		Error: true, Message: longMessage,
	})
	return []Trace{
		{TraceID: second, Operation: "POST /checkout", Service: "checkout", Start: t0.Add(20 * time.Minute), Duration: 1500 * time.Millisecond,
			Spans: 3, ErrorSpan: "checkout: validate", ErrorMessage: "IllegalStateException: cart is empty"},
		{TraceID: "0000000000000abc1234567890abcdef", Operation: "POST /checkout", Service: "checkout", Start: t0.Add(5 * time.Minute), Duration: 800 * time.Millisecond,
			Spans: 3, ErrorSpan: "payments-db: SELECT", ErrorMessage: "card processor timeout"},
		{TraceID: third, Operation: "GET /health", Service: "checkout", Start: t0.Add(time.Minute), Duration: 3 * time.Millisecond,
			Spans: 1, ErrorSpan: "checkout: GET /health", ErrorMessage: ("line one line two " + strings.Repeat("x", 300))[:199] + "…"},
	}
}

func show(ts []Trace) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s %q %s %s %s %d %q %q", t.TraceID, t.Operation, t.Service,
			t.Start.UTC().Format(time.RFC3339Nano), t.Duration, t.Spans, t.ErrorSpan, t.ErrorMessage))
	}
	return out
}

func checkTraces(t *testing.T, got, want []Trace) {
	t.Helper()
	g, w := show(got), show(want)
	if !slices.Equal(g, w) {
		t.Errorf("traces:\n got %s\nwant %s", strings.Join(g, "\n     "), strings.Join(w, "\n     "))
	}
}

func TestFailingTraces(t *testing.T) {
	tests := []struct {
		name       string
		opts       []jaegertest.Option
		v3, v1     int // calls expected
		wantParams []string
	}{
		{name: "v3", v3: 1,
			wantParams: []string{"query.serviceName", "query.service_name", "query.startTimeMin", "query.attributes"}},
		{name: "v3 answering in chunks", opts: []jaegertest.Option{jaegertest.WithV3Chunks(true)}, v3: 1},
		{name: "v3 reading only snake_case and ignoring attributes",
			opts: []jaegertest.Option{jaegertest.WithV3Params(jaegertest.SnakeCaseParams)}, v3: 1},
		{name: "v3 reading only camelCase", opts: []jaegertest.Option{jaegertest.WithV3Params(jaegertest.CamelCaseParams)}, v3: 1},
		{name: "no v3: the UI page", opts: []jaegertest.Option{jaegertest.WithV3(false)}, v3: 1, v1: 1},
		{name: "no v3 and no UI: a plain 404", opts: []jaegertest.Option{jaegertest.WithV3(false), jaegertest.WithUI(false)}, v3: 1, v1: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := start(t, tt.opts...)
			want := seed(s)
			got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(30*time.Minute), 5)
			if err != nil {
				t.Fatal(err)
			}
			checkTraces(t, got, want)
			if n := s.CallCount(jaegertest.PathV3); n != tt.v3 {
				t.Errorf("%d calls of %s, want %d", n, jaegertest.PathV3, tt.v3)
			}
			if n := s.CallCount(jaegertest.PathV1); n != tt.v1 {
				t.Errorf("%d calls of %s, want %d", n, jaegertest.PathV1, tt.v1)
			}
			for _, call := range s.Calls() {
				if len(call.Deprecated) > 0 {
					t.Errorf("%s flagged deprecated parameters %v", call.Path, call.Deprecated)
				}
				for _, p := range tt.wantParams {
					if call.Query.Get(p) == "" {
						t.Errorf("%s without %s: %v", call.Path, p, call.Query)
					}
				}
			}
		})
	}
}

func TestFailingTracesAsksWhatItMeans(t *testing.T) {
	s, c := start(t, jaegertest.WithV3(false))
	from, to := t0.Add(123456789*time.Nanosecond), t0.Add(30*time.Minute)
	if _, err := c.FailingTraces(context.Background(), "checkout", from, to, 5); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls %+v, want v3 then v1", calls)
	}
	v3, v1 := calls[0].Query, calls[1].Query
	for k, want := range map[string]string{
		"query.serviceName": "checkout", "query.service_name": "checkout",
		"query.startTimeMin": "2026-03-04T10:00:00.123456789Z", "query.start_time_min": "2026-03-04T10:00:00.123456789Z",
		"query.startTimeMax": "2026-03-04T10:30:00Z", "query.start_time_max": "2026-03-04T10:30:00Z",
		"query.searchDepth": "20", "query.num_traces": "20",
		"query.attributes": `{"error":"true"}`,
	} {
		if got := v3.Get(k); got != want {
			t.Errorf("v3 %s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]string{
		"service": "checkout", "start": "1772618400123456", "end": "1772620200000000", "limit": "5", "tags": `{"error":"true"}`,
	} {
		if got := v1.Get(k); got != want {
			t.Errorf("v1 %s = %q, want %q", k, got, want)
		}
	}
}

func TestNoFailingTrace(t *testing.T) {
	for _, chunks := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunks=%v", chunks), func(t *testing.T) {
			s, c := start(t, jaegertest.WithV3Chunks(chunks))
			s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "GET /cart", Start: t0.Add(time.Minute), Duration: time.Millisecond})
			got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 5)
			if err != nil || len(got) != 0 {
				t.Fatalf("got %v, %v; want none and no error", got, err)
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].Path != jaegertest.PathV3 {
				t.Fatalf("calls %+v; want v3 only: its 404 \"No traces found\" is an answer, not a missing API", calls)
			}
			if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[chunks]; calls[0].Status != want {
				t.Errorf("v3 answered %d, want %d", calls[0].Status, want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for _, v3 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v3=%v", v3), func(t *testing.T) {
			s, c := start(t, jaegertest.WithV3(v3))
			var ids []string
			for i := range 12 {
				ids = append(ids, s.AddTrace(jaegertest.Span{
					Service: "checkout", Operation: fmt.Sprintf("op%d", i), Start: t0.Add(time.Duration(i) * time.Minute),
					Duration: time.Millisecond, Error: true,
				}))
			}
			got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 3)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, tr := range got {
				gotIDs = append(gotIDs, tr.TraceID)
			}
			if want := []string{ids[11], ids[10], ids[9]}; !slices.Equal(gotIDs, want) {
				t.Errorf("traces %v, want the three newest %v", gotIDs, want)
			}
		})
	}
}

func TestJaegerError(t *testing.T) {
	s, c := start(t)
	seed(s)
	s.FailNext(jaegertest.PathV3, jaegertest.Fault{Status: http.StatusInternalServerError})
	_, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(30*time.Minute), 5)
	var je *Error
	if !errors.As(err, &je) {
		t.Fatalf("error %v, want an *Error", err)
	}
	if je.Status != 500 || je.Path != "/api/v3/traces" || je.Message != "jaegertest: injected HTTP 500" {
		t.Errorf("error %+v, want Jaeger's 500 and its message", je)
	}
	if n := s.CallCount(jaegertest.PathV1); n != 0 {
		t.Errorf("%d calls of v1 after a 500 from v3; a failing v3 is no reason to fall back", n)
	}
}

func TestFallbackOnUnimplemented(t *testing.T) {
	for _, status := range []int{http.StatusNotImplemented, http.StatusMethodNotAllowed} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s, c := start(t)
			want := seed(s)
			s.FailNext(jaegertest.PathV3, jaegertest.Fault{Status: status})
			got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(30*time.Minute), 5)
			if err != nil {
				t.Fatal(err)
			}
			checkTraces(t, got, want)
			if n := s.CallCount(jaegertest.PathV1); n != 1 {
				t.Errorf("%d calls of v1, want 1", n)
			}
		})
	}
}

func TestFallbackFails(t *testing.T) {
	t.Run("v1 fails", func(t *testing.T) {
		s, c := start(t, jaegertest.WithV3(false))
		s.FailNext(jaegertest.PathV1, jaegertest.Fault{Status: http.StatusServiceUnavailable})
		_, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 5)
		var je *Error
		if !errors.As(err, &je) || je.Status != 503 || je.Path != "/api/traces" {
			t.Fatalf("error %v, want v1's 503", err)
		}
		if !strings.Contains(err.Error(), "/api/v3/traces: not served") {
			t.Errorf("error %q does not say why v1 was asked", err)
		}
	})
	t.Run("neither", func(t *testing.T) {
		s, c := start(t, jaegertest.WithV3(false))
		s.FailNext(jaegertest.PathV1, jaegertest.Fault{Status: http.StatusNotImplemented})
		_, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 5)
		if err == nil || !strings.Contains(err.Error(), "no trace search API") ||
			!strings.Contains(err.Error(), "/api/v3/traces") || !strings.Contains(err.Error(), "/api/traces") {
			t.Fatalf("error %v, want one naming both APIs", err)
		}
	})
}

func TestRemembersThatV3IsMissing(t *testing.T) {
	s, c := start(t, jaegertest.WithV3(false))
	now := t0
	c.now = func() time.Time { return now }
	ask := func() {
		t.Helper()
		if _, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 5); err != nil {
			t.Fatal(err)
		}
	}
	ask()
	now = now.Add(v3Recheck - time.Second)
	ask()
	if v3, v1 := s.CallCount(jaegertest.PathV3), s.CallCount(jaegertest.PathV1); v3 != 1 || v1 != 2 {
		t.Fatalf("calls v3 %d, v1 %d; want v3 asked once, then v1 directly", v3, v1)
	}
	now = now.Add(2 * time.Second)
	ask()
	if v3 := s.CallCount(jaegertest.PathV3); v3 != 2 {
		t.Fatalf("v3 asked %d times; want it asked again after %s", v3, v3Recheck)
	}
}

func TestV1GoneWhileV3Remembered(t *testing.T) {
	// Remembered as missing, v3 is asked after v1 when v1 turns out to be
	// gone (Jaeger was upgraded).
	s, c := start(t, jaegertest.WithV1(false))
	want := seed(s)
	c.setV3Missing(true)
	got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(30*time.Minute), 5)
	if err != nil {
		t.Fatal(err)
	}
	checkTraces(t, got, want)
	if c.skipV3() {
		t.Error("v3 still remembered as missing after it answered")
	}
}

func TestTimeout(t *testing.T) {
	s, c := start(t)
	seed(s)
	// Jaeger would answer, with traces, after 5 s: the context's error says
	// the client did not wait for it, no bound in seconds.
	s.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.FailingTraces(ctx, "checkout", t0, t0.Add(30*time.Minute), 5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if n := s.CallCount(jaegertest.PathV1); n != 0 {
		t.Errorf("%d calls of v1 after a timeout; want none", n)
	}
}

func TestBadArguments(t *testing.T) {
	s, c := start(t)
	for _, tt := range []struct {
		name       string
		service    string
		start, end time.Time
		limit      int
		wantErr    bool
	}{
		{"no service", "", t0, t0.Add(time.Hour), 5, true},
		{"empty window", "checkout", t0, t0, 5, true},
		{"window backwards", "checkout", t0.Add(time.Hour), t0, 5, true},
		{"no limit", "checkout", t0, t0.Add(time.Hour), 0, false},
	} {
		got, err := c.FailingTraces(context.Background(), tt.service, tt.start, tt.end, tt.limit)
		if (err != nil) != tt.wantErr || got != nil {
			t.Errorf("%s: got %v, %v; want error %v and nothing", tt.name, got, err, tt.wantErr)
		}
	}
	if calls := s.Calls(); len(calls) != 0 {
		t.Errorf("calls %+v; nothing should be asked", calls)
	}
}

func TestURLs(t *testing.T) {
	from := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	to := from.Add(30 * time.Minute)
	for _, tt := range []struct {
		base, traceID, service string
		wantTrace, wantSearch  string
	}{
		{"https://jaeger.example.com", "4bf92f3577b34da6a3ce929d0e0e4736", "payment-gateway",
			"https://jaeger.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4736",
			"https://jaeger.example.com/search?service=payment-gateway&start=1772618400000000&end=1772620200000000" +
				"&lookback=custom&tags=%7B%22error%22%3A%22true%22%7D&limit=20"},
		{"https://example.com/jaeger/", "a/b c", "pay ments&x=é#1",
			"https://example.com/jaeger/trace/a%2Fb%20c",
			"https://example.com/jaeger/search?service=pay+ments%26x%3D%C3%A9%231&start=1772618400000000&end=1772620200000000" +
				"&lookback=custom&tags=%7B%22error%22%3A%22true%22%7D&limit=20"},
	} {
		c := New(tt.base, nil)
		if got := c.TraceURL(tt.traceID); got != tt.wantTrace {
			t.Errorf("TraceURL(%q) = %q, want %q", tt.traceID, got, tt.wantTrace)
		}
		if got := c.SearchURL(tt.service, from, to); got != tt.wantSearch {
			t.Errorf("SearchURL(%q) =\n %q, want\n %q", tt.service, got, tt.wantSearch)
		}
	}
}

func TestDecodeV3Shapes(t *testing.T) {
	// The spellings of older answers: base64 IDs, enum names,
	// instrumentationLibrarySpans, numbers for times, no "result" envelope.
	old := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
	  "instrumentationLibrarySpans":[{"spans":[
	    {"traceId":"Hh12U4y9/tlmRYfpsJQItA==","spanId":"i0XRoVdArS0=","parentSpanId":"","name":"GET /","kind":"SPAN_KIND_SERVER",
	     "startTimeUnixNano":1673825927082370000,"endTimeUnixNano":"1673825927087515000","status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}`
	spans, err := decodeV3([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	got := failing(spans, "api", 5)
	want := []Trace{{TraceID: "1e1d76538cbdfed9664587e9b09408b4", Operation: "GET /", Service: "api",
		Start: time.Unix(0, 1673825927082370000), Duration: 5145 * time.Microsecond, Spans: 1, ErrorSpan: "api: GET /", ErrorMessage: "boom"}}
	checkTraces(t, got, want)

	chunk := func(trace, span, name string, code int) string {
		return fmt.Sprintf(`{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},`+
			`"scopeSpans":[{"spans":[{"traceId":%q,"spanId":%q,"name":%q,"startTimeUnixNano":"1000","endTimeUnixNano":"2000","status":{"code":%d}}]}]}]}}`,
			trace, span, name, code)
	}
	a := chunk("000000000000000000000000000000aa", "00000000000000a1", "a", 2)
	b := chunk("000000000000000000000000000000bb", "00000000000000b1", "b", 2)
	for _, tt := range []struct {
		name, body string
		want       int // spans; -1: an error
	}{
		{"one object", a, 1},
		{"concatenated", a + "\n" + b + "\n", 2},
		{"an array", "[" + a + "," + b + "]", 2},
		{"empty", "", 0},
		{"not found chunk", a + `{"error":{"httpCode":404,"message":"No traces found"}}`, 1},
		{"error chunk", a + `{"error":{"grpc_code":13,"http_code":500,"message":"storage down"}}`, -1},
		{"garbage", `{"result":`, -1},
		{"neither", `{"foo":1}`, -1},
	} {
		spans, err := decodeV3([]byte(tt.body))
		switch {
		case tt.want < 0 && err == nil:
			t.Errorf("%s: no error", tt.name)
		case tt.want >= 0 && (err != nil || len(spans) != tt.want):
			t.Errorf("%s: %d spans, %v; want %d", tt.name, len(spans), err, tt.want)
		}
	}
	_, err = decodeV3([]byte(a + `{"error":{"grpc_code":13,"http_code":500,"message":"storage down"}}`))
	var je *Error
	if !errors.As(err, &je) || je.Status != 500 || je.Message != "storage down" {
		t.Errorf("error chunk: %v, want an *Error 500 \"storage down\"", err)
	}
}

func TestNormalizeID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		size int
		want string
	}{
		{"4BF92F3577B34DA6A3CE929D0E0E4736", 16, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"abc1234567890abcdef", 16, "0000000000000abc1234567890abcdef"},
		{"1234567890abcdef", 16, "00000000000000001234567890abcdef"},
		{"Hh12U4y9/tlmRYfpsJQItA==", 16, "1e1d76538cbdfed9664587e9b09408b4"},
		{"i0XRoVdArS0=", 8, "8b45d1a15740ad2d"},
		{"", 8, ""},
	} {
		if got := normalizeID(tt.in, tt.size); got != tt.want {
			t.Errorf("normalizeID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestV3IgnoringAttributes(t *testing.T) {
	// A v3 gateway that ignores query.attributes answers the newest traces,
	// failing or not: the client asks for more than it needs and keeps the
	// failing ones.
	s, c := start(t, jaegertest.WithV3Params(jaegertest.SnakeCaseParams))
	failed := s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "POST /checkout", Start: t0, Duration: time.Second, Error: true})
	for i := range 10 {
		s.AddTrace(jaegertest.Span{Service: "checkout", Operation: "GET /cart", Start: t0.Add(time.Duration(i+1) * time.Minute), Duration: time.Millisecond})
	}
	got, err := c.FailingTraces(context.Background(), "checkout", t0, t0.Add(time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TraceID != failed {
		t.Errorf("traces %v, want only %s", show(got), failed)
	}
}

func TestDecodeV1Shapes(t *testing.T) {
	// A span of a Jaeger client: the error tag only, the message in an
	// error log, a 64-bit trace ID, a FOLLOWS_FROM child and the deprecated
	// parentSpanID.
	body := `{"data":[{"traceID":"1234567890abcdef","spans":[
	  {"traceID":"1234567890abcdef","spanID":"00000000000000a1","operationName":"consume","references":[],
	   "startTime":1700000000000000,"duration":2000,"tags":[],"logs":[],"processID":"p1"},
	  {"traceID":"1234567890abcdef","spanID":"00000000000000a2","operationName":"handle",
	   "references":[{"refType":"FOLLOWS_FROM","traceID":"1234567890abcdef","spanID":"00000000000000a1"}],
	   "startTime":1700000000000500,"duration":1000,"tags":[{"key":"error","type":"bool","value":true}],
	   "logs":[{"timestamp":1700000000001000,"fields":[{"key":"event","type":"string","value":"error"},{"key":"message","type":"string","value":"nil pointer"}]}],
	   "processID":"p2"},
	  {"traceID":"1234567890abcdef","spanID":"00000000000000a3","parentSpanID":"00000000000000a2","operationName":"db",
	   "startTime":1700000000000600,"duration":100,"tags":[{"key":"otel.status_code","type":"string","value":"ERROR"}],"logs":[],"processID":"p2"}],
	  "processes":{"p1":{"serviceName":"queue"},"p2":{"serviceName":"worker"}}}],"total":0,"limit":0,"offset":0,"errors":null}`
	var res v1Response
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	got := failing(res.spans(), "worker", 5)
	want := []Trace{{TraceID: "00000000000000001234567890abcdef", Operation: "consume", Service: "queue",
		Start: time.UnixMicro(1700000000000000), Duration: 2 * time.Millisecond, Spans: 3,
		ErrorSpan: "worker: db", ErrorMessage: "nil pointer"}}
	checkTraces(t, got, want)
}
