package prometheus_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/prometheus"
	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
)

// t0 is when the tests' series start.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func start(t *testing.T, opts ...prometheustest.Option) (*prometheustest.Server, *prometheus.Client) {
	t.Helper()
	s := prometheustest.New(opts...)
	t.Cleanup(s.Close)
	c, err := prometheus.New(s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

const ratio = `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`

func TestValue(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.SetSeries(ratio,
		prometheustest.Point{At: t0, Value: 0.031},
		prometheustest.Point{At: t0.Add(2 * time.Minute), Value: 0.045},
	)
	tests := []struct {
		name   string
		expr   string
		at     time.Time
		want   float64
		wantOK bool
	}{
		{"before the first point", ratio, t0.Add(-time.Second), 0, false},
		{"at the first point", ratio, t0, 0.031, true},
		{"between the points", ratio, t0.Add(time.Minute), 0.031, true},
		{"the latest point", ratio, t0.Add(3 * time.Minute), 0.045, true},
		{"within the lookback", ratio, t0.Add(2*time.Minute + 4*time.Minute + 59*time.Second), 0.045, true},
		{"past the lookback", ratio, t0.Add(7 * time.Minute), 0, false},
		{"a scalar", "0.25", t0, 0.25, true},
		{"vector of a number", "vector(0.031)", t0, 0.031, true},
		{"never set", "up", t0, 0, false},
	}
	for _, tt := range tests {
		v, ok, err := c.Value(context.Background(), tt.expr, tt.at)
		if err != nil || ok != tt.wantOK || v != tt.want {
			t.Errorf("%s: Value(%s) = %v, %v, %v; want %v, %v, nil", tt.name, tt.expr, v, ok, err, tt.want, tt.wantOK)
		}
	}
	// The time sent is the time asked, to the millisecond.
	at := t0.Add(time.Minute + 123456789*time.Nanosecond)
	if _, _, err := c.Value(context.Background(), ratio, at); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if !last.At.Equal(at.Truncate(time.Millisecond)) || last.Query != ratio || last.Method != http.MethodPost {
		t.Errorf("last call = %+v; want a POST of the expression at %v", last, at.Truncate(time.Millisecond))
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	pod := func(name string, v float64, at time.Time) prometheustest.Point {
		return prometheustest.Point{At: at, Value: v, Labels: map[string]string{"pod": name}}
	}
	s.SetSeries("pod_errors", pod("a", 1, t0), pod("b", 2, t0), pod("a", 3, t0.Add(time.Minute)))
	s.SetSeries("one_pod", pod("a", 1, t0), pod("a", 7, t0.Add(time.Minute)), pod("b", 2, t0.Add(-10*time.Minute)))

	_, _, err := c.Value(context.Background(), "pod_errors", t0.Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "2 series") {
		t.Errorf("two series: err = %v, want one naming 2 series", err)
	}
	// b's only point is past the lookback: one series left.
	e, err := c.Evaluate(context.Background(), "one_pod", t0.Add(time.Minute))
	if err != nil || !e.OK || e.Value != 7 || e.Labels["pod"] != "a" || len(e.Labels) != 1 {
		t.Errorf("one series: %+v, %v; want 7 from pod a", e, err)
	}
}

func TestNotANumber(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	for expr, v := range map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "minus_inf": math.Inf(-1)} {
		s.SetSeries(expr, prometheustest.Point{At: t0, Value: v})
		if got, ok, err := c.Value(context.Background(), expr, t0); ok || err != nil {
			t.Errorf("%s: Value = %v, %v, %v; want ok=false, no error", expr, got, ok, err)
		}
	}
	if _, ok, err := c.Value(context.Background(), "NaN", t0); ok || err != nil {
		t.Errorf("scalar NaN: ok=%v err=%v; want ok=false, no error", ok, err)
	}
}

func TestStrict(t *testing.T) {
	t.Parallel()
	s, c := start(t, prometheustest.Strict())
	s.SetSeries("known")
	if _, ok, err := c.Value(context.Background(), "known", t0); ok || err != nil {
		t.Errorf("a known expression without points: ok=%v err=%v; want no data, no error", ok, err)
	}
	_, _, err := c.Value(context.Background(), "knwon", t0)
	var pe *prometheus.Error
	if !errors.As(err, &pe) || pe.Type != "bad_data" || pe.Status != 400 || !strings.HasPrefix(pe.Message, "unknown expression in fake") {
		t.Fatalf("a typo: err = %#v; want 400 bad_data unknown expression", err)
	}
	if pe.Expr != "knwon" || !strings.Contains(err.Error(), `"knwon"`) {
		t.Errorf("error %q does not name the expression", err)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(*prometheustest.Server)
		status  int
		typ     string
		message string
	}{
		{"execution", func(s *prometheustest.Server) {
			s.SetError("q", prometheustest.ErrExec, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
		}, 422, "execution", "multiple matches for labels"},
		{"bad data", func(s *prometheustest.Server) {
			s.SetError("q", prometheustest.ErrBadData, `invalid parameter "query": 1:5: parse error: unclosed left parenthesis`)
		}, 400, "bad_data", `invalid parameter "query"`},
		{"timeout (503 JSON)", func(s *prometheustest.Server) {
			s.FailNext(prometheustest.Fault{ErrorType: prometheustest.ErrTimeout, Error: "query timed out in query execution"})
		}, 503, "timeout", "query timed out"},
		{"not ready (503 text)", func(s *prometheustest.Server) {
			s.FailNext(prometheustest.Fault{Status: 503})
		}, 503, "server_error", "Service Unavailable"},
		{"proxy 404", func(s *prometheustest.Server) {
			s.FailNext(prometheustest.Fault{Status: 404})
		}, 404, "client_error", "Not Found"},
		{"internal", func(s *prometheustest.Server) {
			s.FailNext(prometheustest.Fault{ErrorType: prometheustest.ErrInternal, Error: "expanding series: storage error"})
		}, 500, "internal", "expanding series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t)
			tt.setup(s)
			_, _, err := c.Value(context.Background(), "q", t0)
			var pe *prometheus.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *prometheus.Error", err)
			}
			if pe.Status != tt.status || pe.Type != tt.typ || !strings.HasPrefix(pe.Message, tt.message) {
				t.Errorf("got %d %s %q, want %d %s %q…", pe.Status, pe.Type, pe.Message, tt.status, tt.typ, tt.message)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.SetSeries("rate(x[5m])", prometheustest.Point{At: t0, Value: 1})
	s.SetWarnings("rate(x[5m])", `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "x"`)
	e, err := c.Evaluate(context.Background(), "rate(x[5m])", t0)
	if err != nil || !e.OK || e.Value != 1 {
		t.Fatalf("%+v, %v", e, err)
	}
	if len(e.Warnings) != 1 || !strings.HasPrefix(e.Warnings[0], "PromQL info") {
		t.Errorf("Warnings = %q", e.Warnings)
	}
}

// The context's deadline becomes the query's timeout, in a form Prometheus
// parses (the fake refuses what Prometheus refuses, like "1.5s"), and the
// context bounds the call.
func TestDeadline(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, _, err := c.Value(ctx, "vector(1)", t0); err != nil {
		t.Fatal(err)
	}
	got, err := strconv.ParseFloat(s.Calls()[0].Timeout, 64)
	if err != nil || got <= 1 || got > 1.5 {
		t.Errorf("timeout sent = %q, want seconds in (1, 1.5]", s.Calls()[0].Timeout)
	}

	if _, _, err := c.Value(context.Background(), "vector(1)", t0); err != nil {
		t.Fatal(err)
	}
	if tm := s.Calls()[1].Timeout; tm != "" {
		t.Errorf("without a deadline the timeout sent = %q, want none", tm)
	}

	// A slow query: Prometheus (here the fake) gives up at the timeout
	// sent, answering 503 timeout, or the context ends first. Left alone,
	// the fake would answer, with success, after 5 s: either error says
	// what ended the call, no bound in seconds.
	s.FailNext(prometheustest.Fault{Delay: 5 * time.Second})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = c.Value(ctx, "vector(1)", t0)
	var pe *prometheus.Error
	if !errors.Is(err, context.DeadlineExceeded) && (!errors.As(err, &pe) || pe.Type != "timeout") {
		t.Errorf("err = %v; want the deadline or Prometheus's timeout", err)
	}

	// Cancelled without a deadline: nothing tells Prometheus, the context
	// ends the call.
	s.FailNext(prometheustest.Fault{Delay: 5 * time.Second})
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, _, err = c.Value(ctx, "vector(1)", t0)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want the cancellation", err)
	}
}

// A proxy that refuses POST (405) is asked again with GET, as
// client_golang's v1 API does.
func TestGetFallback(t *testing.T) {
	t.Parallel()
	s, _ := start(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		http.Redirect(w, r, s.URL()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer proxy.Close()
	c, err := prometheus.New(proxy.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := c.Value(context.Background(), "vector(2)", t0)
	if err != nil || !ok || v != 2 {
		t.Fatalf("Value = %v, %v, %v", v, ok, err)
	}
	if calls := s.Calls(); len(calls) != 1 || calls[0].Method != http.MethodGet {
		t.Errorf("calls = %+v, want one GET", calls)
	}
}

func TestBadAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"html":      "<html>login</html>",
		"matrix":    `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		"string":    `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`,
		"bad value": `{"status":"success","data":{"resultType":"scalar","result":[1,2]}}`,
		"no status": `{"data":{}}`,
		"200 error": `{"status":"error","errorType":"execution","error":"boom"}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		c, err := prometheus.New(srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Value(context.Background(), "q", t0); err == nil || ok {
			t.Errorf("%s: ok=%v err=%v, want an error", name, ok, err)
		}
		srv.Close()
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "prometheus:9090", "ftp://p", "http://%zz"} {
		if _, err := prometheus.New(base, nil); err == nil {
			t.Errorf("New(%q) succeeded", base)
		}
	}
	c, err := prometheus.New("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Value(context.Background(), " ", t0); err == nil {
		t.Error("an empty expression was sent")
	}
	_, _, err = c.Value(context.Background(), "up", t0)
	if err == nil {
		t.Error("unreachable: no error")
	}
}
