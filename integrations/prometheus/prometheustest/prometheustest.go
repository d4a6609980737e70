// Package prometheustest is a strict, stateful, in-process fake of
// Prometheus's instant-query endpoint, GET and POST /api/v1/query, for
// warroom's tests and `warroom demo`. It reads its parameters as
// Prometheus does (form body before query string; time as RFC 3339 or Unix
// seconds with a fraction, now when absent; timeout as seconds or a
// Prometheus duration) and answers Prometheus's JSON envelope:
//
//	{"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[<unix>,"<number>"]}]}}
//	{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": …"}
//
// with the statuses Prometheus uses: 400 for bad_data, 422 for execution
// errors, 503 for timeouts and unavailability, 500 for internal errors.
//
// The fake does not evaluate PromQL. Each expression's series are set with
// SetSeries; a query at t answers, for each label set, the latest point at
// or before t within Prometheus's 5-minute lookback. Besides, a number
// ("0.5") is a scalar and vector(<number>) a one-sample vector, as in
// Prometheus. An expression never set answers an empty vector, as
// Prometheus answers a query with no data, unless the Server is Strict:
// then it answers 400 bad_data, so that a typo in a test's expression fails
// the test instead of looking like missing data.
//
// Point a prometheus.Client at URL(). FailNext injects errors and delays;
// SetError makes an expression fail every time.
package prometheustest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// Lookback is how far back a query looks for a series' latest point:
// Prometheus's --query.lookback-delta, 5m by default
// (https://prometheus.io/docs/prometheus/latest/querying/basics/#staleness).
// A point exactly Lookback old is no longer seen, as in Prometheus 3.
const Lookback = 5 * time.Minute

// Prometheus's errorType values (web/api/v1/api.go) and the statuses it
// answers them with.
const (
	ErrBadData     = "bad_data"    // 400
	ErrExec        = "execution"   // 422
	ErrTimeout     = "timeout"     // 503
	ErrCanceled    = "canceled"    // 503
	ErrUnavailable = "unavailable" // 503
	ErrInternal    = "internal"    // 500
	ErrNotFound    = "not_found"   // 404
)

func statusOf(errorType string) int {
	switch errorType {
	case ErrBadData:
		return http.StatusBadRequest
	case ErrExec:
		return http.StatusUnprocessableEntity
	case ErrTimeout, ErrCanceled, ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrNotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// Point is one sample of a series: its time, value and labels. Points with
// the same labels (nil and empty alike) are one series.
type Point struct {
	At     time.Time
	Value  float64
	Labels map[string]string
}

// Option changes how New sets up the Server.
type Option func(*Server)

// Strict makes an expression that was never set answer 400 bad_data
// "unknown expression in fake: …" instead of an empty vector.
func Strict() Option {
	return func(s *Server) { s.strict = true }
}

// WithClock makes the Server read "now" (the time of a query without a
// time parameter) from now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// Fault is what the next query meets instead of its normal answer. Delay is
// waited first, or until the client gives up; when the query's timeout
// parameter is shorter than Delay, Prometheus's own timeout answers at the
// timeout instead (503 timeout "query timed out in query execution"). Then
// a non-empty ErrorType is answered as Prometheus's JSON error with Error as
// its message, with Status or, when Status is 0, the status Prometheus
// gives that type; a Status without an ErrorType is answered with a plain
// text body, as a proxy or Prometheus's readiness gate ("Service
// Unavailable") answers. A Fault with neither only delays the query.
type Fault struct {
	Status    int
	ErrorType string
	Error     string
	Delay     time.Duration
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Method  string
	Path    string
	Query   string    // the query parameter as read ("" when absent)
	Time    string    // the time parameter as sent, "" when absent
	At      time.Time // the evaluation time read from it (or now); zero when it did not parse
	Timeout string    // the timeout parameter as sent, "" when absent
	Status  int       // the HTTP status answered; 0 when the client went away first
	// ErrorType is the errorType answered, "" for a success.
	ErrorType string
	Received  time.Time
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http   *httptest.Server
	strict bool
	now    func() time.Time

	mu       sync.Mutex
	series   map[string][]Point
	errors   map[string]apiError
	warnings map[string][]string
	faults   fakeapi.Faults[Fault]
	calls    fakeapi.Log[Call]
}

type apiError struct{ typ, msg string }

// New starts a Server on a loopback port with no series. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		now:      time.Now,
		series:   map[string][]Point{},
		errors:   map[string]apiError{},
		warnings: map[string][]string{},
	}
	for _, opt := range opts {
		opt(s)
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the Prometheus base URL, for prometheus.New.
func (s *Server) URL() string { return s.http.URL }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// SetSeries sets the points a query of expr (compared after trimming
// surrounding space) answers from, replacing those set before. With no
// points the expression is known and answers an empty vector, even when
// the Server is Strict.
func (s *Server) SetSeries(expr string, points ...Point) {
	ps := make([]Point, len(points))
	for i, p := range points {
		p.Labels = maps.Clone(p.Labels)
		ps[i] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series[strings.TrimSpace(expr)] = ps
}

// SetError makes every query of expr fail with Prometheus's errorType
// (ErrExec, ErrBadData, …) and message, at the status Prometheus gives the
// type (422 for ErrExec).
func (s *Server) SetError(expr, errorType, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[strings.TrimSpace(expr)] = apiError{errorType, message}
}

// SetWarnings makes the successful answers to expr carry warnings.
func (s *Server) SetWarnings(expr string, warnings ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnings[strings.TrimSpace(expr)] = slices.Clone(warnings)
}

// FailNext makes the next query meet f. Faults queue: calling FailNext
// twice fails the next two queries, in order.
func (s *Server) FailNext(f Fault) {
	s.faults.Push("", f)
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call { return s.calls.All(nil) }

// reply is an answer: Prometheus's JSON envelope, or plain text.
type reply struct {
	status int
	body   map[string]any
	text   string
}

func errorReply(errorType, msg string) reply {
	return reply{status: statusOf(errorType), body: map[string]any{"status": "error", "errorType": errorType, "error": msg}}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path, Received: time.Now()}
	if r.URL.Path != "/api/v1/query" {
		// Prometheus's router answers unknown paths with Go's default 404.
		s.answer(w, &call, reply{status: http.StatusNotFound, text: "404 page not found\n"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.answer(w, &call, reply{status: http.StatusMethodNotAllowed, text: "Method Not Allowed\n"})
		return
	}
	// As Prometheus's r.FormValue: a form body's values come before the
	// query string's; another body (JSON) is not read.
	if err := r.ParseForm(); err != nil {
		s.answer(w, &call, errorReply(ErrBadData, fmt.Sprintf("error parsing form values: %v", err)))
		return
	}
	call.Query, call.Time, call.Timeout = r.Form.Get("query"), r.Form.Get("time"), r.Form.Get("timeout")

	// Prometheus reads time, then timeout, then parses the query.
	at := s.now()
	if _, ok := r.Form["time"]; ok {
		t, err := parseTime(call.Time)
		if err != nil {
			s.answer(w, &call, errorReply(ErrBadData, fmt.Sprintf("invalid parameter \"time\": Invalid time value for 'time': %v", err)))
			return
		}
		at = t
	}
	call.At = at
	var timeout time.Duration
	if call.Timeout != "" {
		d, err := parseDuration(call.Timeout)
		if err != nil {
			s.answer(w, &call, errorReply(ErrBadData, fmt.Sprintf("invalid parameter \"timeout\": %v", err)))
			return
		}
		timeout = d
	}
	expr := strings.TrimSpace(call.Query)
	if expr == "" {
		s.answer(w, &call, errorReply(ErrBadData, `invalid parameter "query": 1:1: parse error: no expression found in input`))
		return
	}

	if f, ok := s.takeFault(); ok {
		if rep, done := s.fault(r, f, timeout); done {
			if rep == nil {
				s.record(call) // the client went away
				return
			}
			s.answer(w, &call, *rep)
			return
		}
	}
	s.mu.Lock()
	rep := s.evaluate(expr, at)
	s.mu.Unlock()
	s.answer(w, &call, rep)
}

// fault applies f: it reports done when f decided the answer, and a nil
// reply when the client went away during the delay.
func (s *Server) fault(r *http.Request, f Fault, timeout time.Duration) (*reply, bool) {
	if timeout > 0 && f.Delay > timeout {
		if !fakeapi.Sleep(r, timeout) {
			return nil, true
		}
		rep := errorReply(ErrTimeout, "query timed out in query execution")
		return &rep, true
	}
	if !fakeapi.Sleep(r, f.Delay) {
		return nil, true
	}
	switch {
	case f.ErrorType != "":
		rep := errorReply(f.ErrorType, f.Error)
		if f.Status != 0 {
			rep.status = f.Status
		}
		return &rep, true
	case f.Status != 0:
		return &reply{status: f.Status, text: http.StatusText(f.Status) + "\n"}, true
	}
	return nil, false
}

// evaluate answers expr at t. The caller holds s.mu.
func (s *Server) evaluate(expr string, t time.Time) reply {
	if e, ok := s.errors[expr]; ok {
		return errorReply(e.typ, e.msg)
	}
	ts := t.UnixMilli()
	var data map[string]any
	if points, ok := s.series[expr]; ok {
		data = map[string]any{"resultType": "vector", "result": latest(points, t)}
	} else if v, err := strconv.ParseFloat(expr, 64); err == nil {
		// A scalar's time is a float (promql.Scalar.MarshalJSON), not
		// MarshalTimestamp's three digits: 1700000000.25, not .250.
		data = map[string]any{"resultType": "scalar", "result": [2]any{
			json.Number(strconv.FormatFloat(float64(ts)/1e3, 'f', -1, 64)), strconv.FormatFloat(v, 'f', -1, 64)}}
	} else if arg, ok := vectorArg(expr); ok {
		data = map[string]any{"resultType": "vector", "result": []sample{{Metric: map[string]string{}, Value: pair(ts, arg)}}}
	} else if s.strict {
		return errorReply(ErrBadData, fmt.Sprintf("unknown expression in fake: %q (set it with SetSeries)", expr))
	} else {
		data = map[string]any{"resultType": "vector", "result": []sample{}}
	}
	body := map[string]any{"status": "success", "data": data}
	if w := s.warnings[expr]; len(w) > 0 {
		body["warnings"] = w
	}
	return reply{status: http.StatusOK, body: body}
}

// sample is one element of a vector result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// pair is a [<unix seconds>, "<value>"] pair as Prometheus writes it
// (util/jsonutil.MarshalTimestamp): whole seconds, then, unless they are
// zero, a point and the milliseconds in three digits ("1700000000.500");
// the value as a string in Go's shortest form ("0.031", "NaN", "+Inf").
func pair(ms int64, v float64) [2]any {
	var ts strings.Builder
	if ms < 0 {
		ts.WriteByte('-')
		ms = -ms
	}
	ts.WriteString(strconv.FormatInt(ms/1000, 10))
	if frac := ms % 1000; frac != 0 {
		fmt.Fprintf(&ts, ".%03d", frac)
	}
	return [2]any{json.Number(ts.String()), strconv.FormatFloat(v, 'f', -1, 64)}
}

// latest returns, for each series among points, its latest point at or
// before t and less than Lookback old, stamped t as an instant query
// stamps its samples; sorted by labels.
func latest(points []Point, t time.Time) []sample {
	best := map[string]Point{}
	for _, p := range points {
		if p.At.After(t) || !p.At.After(t.Add(-Lookback)) {
			continue
		}
		k := key(p.Labels)
		if b, ok := best[k]; !ok || !p.At.Before(b.At) {
			best[k] = p
		}
	}
	out := make([]sample, 0, len(best))
	for _, k := range slices.Sorted(maps.Keys(best)) {
		p := best[k]
		m := maps.Clone(p.Labels)
		if m == nil {
			m = map[string]string{}
		}
		out = append(out, sample{Metric: m, Value: pair(t.UnixMilli(), p.Value)})
	}
	return out
}

// key identifies a label set.
func key(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "%q=%q,", k, labels[k])
	}
	return b.String()
}

// vectorArg reads vector(<number>).
func vectorArg(expr string) (float64, bool) {
	inner, ok := strings.CutPrefix(strings.ReplaceAll(expr, " ", ""), "vector(")
	if !ok {
		return 0, false
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(inner, 64)
	return v, err == nil
}

// parseTime reads a time as Prometheus's API does: Unix seconds with an
// optional fraction, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads a duration as Prometheus's API does: seconds with an
// optional fraction, or a Prometheus duration ("1m30s", "500ms"; no
// fractions, no negative values, no "ns").
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if ns > math.MaxInt64 || ns < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func (s *Server) answer(w http.ResponseWriter, call *Call, rep reply) {
	call.Status = rep.status
	if rep.body != nil && rep.body["status"] == "error" {
		call.ErrorType, _ = rep.body["errorType"].(string)
	}
	s.record(*call)
	if rep.body == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.text))
		return
	}
	body, err := json.Marshal(rep.body)
	if err != nil {
		// Only a value JSON cannot hold gets here; Prometheus would have
		// failed the same way on its side.
		rep.status, body = http.StatusInternalServerError, []byte(`{"status":"error","errorType":"internal","error":"prometheustest: the answer is not JSON"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault() (Fault, bool) {
	return s.faults.Pop("")
}
