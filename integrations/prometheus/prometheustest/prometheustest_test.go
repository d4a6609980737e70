package prometheustest_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// get asks s the instant query; a fake that does not answer within a
// minute fails the test.
func get(t *testing.T, s *prometheustest.Server, query url.Values) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/api/v1/query?"+query.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func at(expr string, t time.Time) url.Values {
	return url.Values{"query": {expr}, "time": {t.Format(time.RFC3339Nano)}}
}

func TestLookback(t *testing.T) {
	t.Parallel()
	s := prometheustest.New()
	defer s.Close()
	a := map[string]string{"pod": "a"}
	b := map[string]string{"pod": "b"}
	s.SetSeries("x",
		prometheustest.Point{At: t0, Value: 1, Labels: b},
		prometheustest.Point{At: t0, Value: 2, Labels: a},
		prometheustest.Point{At: t0.Add(time.Minute), Value: 3, Labels: a},
		prometheustest.Point{At: t0.Add(10 * time.Minute), Value: math.NaN(), Labels: a},
	)
	tests := []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Millisecond), `[]`},
		// Sorted by labels; stamped with the query's time, not the point's.
		{t0, `[{"metric":{"pod":"a"},"value":[1772359200,"2"]},{"metric":{"pod":"b"},"value":[1772359200,"1"]}]`},
		{t0.Add(90*time.Second + 5*time.Millisecond), `[{"metric":{"pod":"a"},"value":[1772359290.005,"3"]},{"metric":{"pod":"b"},"value":[1772359290.005,"1"]}]`},
		// b is exactly 5m old: gone. a's point at 1m is 4m old.
		{t0.Add(5 * time.Minute), `[{"metric":{"pod":"a"},"value":[1772359500,"3"]}]`},
		{t0.Add(6 * time.Minute), `[]`},
		{t0.Add(12 * time.Minute), `[{"metric":{"pod":"a"},"value":[1772359920,"NaN"]}]`},
	}
	for _, tt := range tests {
		status, body := get(t, s, at("x", tt.at))
		want := `{"data":{"result":` + tt.want + `,"resultType":"vector"},"status":"success"}`
		if status != 200 || body != want {
			t.Errorf("at %v: %d %s\nwant %s", tt.at, status, body, want)
		}
	}
}

func TestParameters(t *testing.T) {
	t.Parallel()
	now := t0.Add(42 * time.Second)
	s := prometheustest.New(prometheustest.WithClock(func() time.Time { return now }))
	defer s.Close()
	tests := []struct {
		query url.Values
		want  string
	}{
		{url.Values{"query": {"vector(1)"}}, `200 {"data":{"result":[{"metric":{},"value":[1772359242,"1"]}],"resultType":"vector"},"status":"success"}`},
		{url.Values{"query": {"vector(1)"}, "time": {"1700000000.2506"}}, `200 {"data":{"result":[{"metric":{},"value":[1700000000.251,"1"]}],"resultType":"vector"},"status":"success"}`},
		{url.Values{"query": {"-2.5"}, "time": {"2024-01-01T01:00:00+01:00"}}, `200 {"data":{"result":[1704067200,"-2.5"],"resultType":"scalar"},"status":"success"}`},
		{url.Values{"query": {" "}}, `400 {"error":"invalid parameter \"query\": 1:1: parse error: no expression found in input","errorType":"bad_data","status":"error"}`},
		{url.Values{"query": {"up"}, "time": {""}}, `400 {"error":"invalid parameter \"time\": Invalid time value for 'time': cannot parse \"\" to a valid timestamp","errorType":"bad_data","status":"error"}`},
		{url.Values{"query": {"up"}, "timeout": {"1ns"}}, `400 {"error":"invalid parameter \"timeout\": cannot parse \"1ns\" to a valid duration","errorType":"bad_data","status":"error"}`},
		{url.Values{"time": {"x"}}, `400 {"error":"invalid parameter \"time\": Invalid time value for 'time': cannot parse \"x\" to a valid timestamp","errorType":"bad_data","status":"error"}`},
	}
	for _, tt := range tests {
		status, body := get(t, s, tt.query)
		if got := itoa(status) + " " + body; got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.query, got, tt.want)
		}
	}
	calls := s.Calls()
	if c := calls[0]; c.Method != "GET" || c.Query != "vector(1)" || !c.At.Equal(now) || c.Time != "" || c.Status != 200 || c.ErrorType != "" {
		t.Errorf("call 0 = %+v", c)
	}
	if c := calls[3]; c.Status != 400 || c.ErrorType != "bad_data" {
		t.Errorf("call 3 = %+v", c)
	}

	for path, want := range map[string]string{"/api/v1/query_range": "404 404 page not found\n", "/": "404 404 page not found\n"} {
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := itoa(resp.StatusCode) + " " + string(b); got != want {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/api/v1/query?query=up", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("DELETE: %d, want 405", resp.StatusCode)
	}
	// A JSON body is not a form: the query is missing, as in Prometheus.
	resp, err = http.Post(s.URL()+"/api/v1/query", "application/json", strings.NewReader(`{"query":"vector(1)"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("JSON body: %d, want 400", resp.StatusCode)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStrictAndErrors(t *testing.T) {
	t.Parallel()
	s := prometheustest.New(prometheustest.Strict())
	defer s.Close()
	s.SetSeries("known")
	s.SetError("broken", prometheustest.ErrExec, "found duplicate series for the match group")
	s.SetSeries("warned", prometheustest.Point{At: t0, Value: 1})
	s.SetWarnings("warned", "careful")
	for expr, want := range map[string]string{
		"known":         `200 {"data":{"result":[],"resultType":"vector"},"status":"success"}`,
		"knwon":         `400 {"error":"unknown expression in fake: \"knwon\" (set it with SetSeries)","errorType":"bad_data","status":"error"}`,
		"0.5":           `200 {"data":{"result":[1772359200,"0.5"],"resultType":"scalar"},"status":"success"}`,
		"vector( 2 )":   `200 {"data":{"result":[{"metric":{},"value":[1772359200,"2"]}],"resultType":"vector"},"status":"success"}`,
		"broken":        `422 {"error":"found duplicate series for the match group","errorType":"execution","status":"error"}`,
		"warned":        `200 {"data":{"result":[{"metric":{},"value":[1772359200,"1"]}],"resultType":"vector"},"status":"success","warnings":["careful"]}`,
		"  known \n":    `200 {"data":{"result":[],"resultType":"vector"},"status":"success"}`,
		"vector(x)":     `400 {"error":"unknown expression in fake: \"vector(x)\" (set it with SetSeries)","errorType":"bad_data","status":"error"}`,
		"sum(up) by (a": `400 {"error":"unknown expression in fake: \"sum(up) by (a\" (set it with SetSeries)","errorType":"bad_data","status":"error"}`,
	} {
		status, body := get(t, s, at(expr, t0))
		if got := itoa(status) + " " + body; got != want {
			t.Errorf("%q:\n got %s\nwant %s", expr, got, want)
		}
	}

	lax := prometheustest.New()
	defer lax.Close()
	if status, body := get(t, lax, at("knwon", t0)); status != 200 || !strings.Contains(body, `"result":[]`) {
		t.Errorf("not strict: %d %s, want an empty vector", status, body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := prometheustest.New()
	defer s.Close()
	s.FailNext(prometheustest.Fault{Status: 503})
	s.FailNext(prometheustest.Fault{ErrorType: prometheustest.ErrUnavailable, Error: "TSDB not ready"})
	s.FailNext(prometheustest.Fault{ErrorType: prometheustest.ErrInternal, Error: "x", Status: 502})
	s.FailNext(prometheustest.Fault{Delay: time.Hour})
	s.FailNext(prometheustest.Fault{Delay: 30 * time.Millisecond})

	q := at("vector(1)", t0)
	for i, want := range []string{
		"503 Service Unavailable\n",
		`503 {"error":"TSDB not ready","errorType":"unavailable","status":"error"}`,
		`502 {"error":"x","errorType":"internal","status":"error"}`,
	} {
		status, body := get(t, s, q)
		if got := itoa(status) + " " + body; got != want {
			t.Errorf("fault %d: %q, want %q", i, got, want)
		}
	}
	// A delay longer than the query's timeout is Prometheus's timeout: an
	// hour's delay is answered, well within the test's patience (get's
	// deadline), at the timeout.
	q.Set("timeout", "0.05")
	status, body := get(t, s, q)
	if want := `503 {"error":"query timed out in query execution","errorType":"timeout","status":"error"}`; itoa(status)+" "+body != want {
		t.Errorf("timeout: %d %s, want %s", status, body, want)
	}
	// A shorter delay only delays.
	q.Set("timeout", "5s")
	began := time.Now()
	if status, _ := get(t, s, q); status != 200 || time.Since(began) < 30*time.Millisecond {
		t.Errorf("delay: %d after %v", status, time.Since(began))
	}
	if status, _ := get(t, s, q); status != 200 {
		t.Errorf("after the faults: %d", status)
	}
	calls := s.Calls()
	if len(calls) != 6 || calls[0].Status != 503 || calls[1].ErrorType != "unavailable" || calls[3].Timeout != "0.05" {
		t.Errorf("calls = %+v", calls)
	}
}
