// Package jaegertest is a strict, stateful, in-process fake of Jaeger's
// query service, for warroom's tests and `warroom demo`. It serves the
// trace searches warroom uses the way Jaeger does: the Query API v3
// (GET /api/v3/traces, OTLP JSON) and the older internal API of the UI
// (GET /api/traces, Jaeger's own JSON), with Jaeger's parameters, its
// filtering (service, time window, attributes or tags, on one span), its
// error bodies and statuses, and what a query service without one of them
// answers: the UI's index.html with 200 (Jaeger 1.x), or a plain 404.
//
// Traces are added with AddTrace from a short description. Options pick the
// Jaeger being faked: WithV3(false) is a Jaeger from before the Query API
// v3, WithV1(false) one whose internal API is gone, WithV3Params the
// parameter names its v3 gateway reads, WithV3Chunks the streamed answers
// of the grpc-gateway years.
//
// FailNext injects errors and delays into the next call of a path; SetDelay
// slows every answer, to show that a caller does not wait for a slow
// Jaeger. Every call is recorded.
//
// What the fake follows, and where it was read, is written next to the
// code (v3.go, v1.go).
package jaegertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// The paths the Server serves, for FailNext and Calls.
const (
	PathV3 = "/api/v3/traces"
	PathV1 = "/api/traces"
)

// Params are the names the v3 gateway reads.
type Params int

const (
	// CurrentParams is Jaeger 2.x as of 2026 (query_parser.go,
	// param_resolver.go): camelCase names first (query.serviceName,
	// query.startTimeMin, query.startTimeMax, query.searchDepth, …), the
	// snake_case ones as deprecated aliases (answered with Deprecation,
	// Sunset, Link and Deprecated-Params headers), and query.attributes
	// honoured.
	CurrentParams Params = iota
	// SnakeCaseParams is the hand-written gateway (jaeger#5054, December
	// 2023) in the releases before camelCase (http_gateway.go): only
	// query.service_name, query.start_time_min, query.start_time_max,
	// query.num_traces, …, and query.attributes silently ignored, so
	// passing traces come back with failing ones.
	SnakeCaseParams
	// CamelCaseParams is the gateway after the snake_case aliases are removed, announced
	// for Jaeger v2.20.0 (deprecation.go): only the camelCase names.
	CamelCaseParams
)

// Option changes how New sets up the Server.
type Option func(*Server)

// WithV3 serves the Query API v3 (the default) or not. Without it the
// Server is a Jaeger 1.x from before /api/v3 (2021): its query service answers
// /api/v3/traces, as any path it has no route for, with the UI's index.html
// and 200 (or a plain 404 WithUI(false)).
func WithV3(on bool) Option { return func(s *Server) { s.v3 = on } }

// WithV1 serves the internal API /api/traces (the default) or not. Without
// it the Server is a Jaeger 2.x whose internal API is gone: /api/traces is
// a plain 404, as Jaeger 2.x answers any /api/ path it does not have.
func WithV1(on bool) Option { return func(s *Server) { s.v1 = on } }

// WithUI serves the UI (the default) or not; it decides what a path with no
// route gets. A query service without UI assets answers them with gorilla
// mux's or ServeMux's "404 page not found".
func WithUI(on bool) Option { return func(s *Server) { s.ui = on } }

// WithV3Params picks the names the v3 gateway reads; CurrentParams by
// default.
func WithV3Params(p Params) Option { return func(s *Server) { s.params = p } }

// WithV3Chunks answers a v3 search as a streaming gateway does: one
// {"result":…} per trace, each flushed on its own line, as application/json;
// no trace found is an empty 200, not a 404. That is how grpc-gateway
// streamed it (Jaeger's /api/v3 from 2021 to jaeger#5054) and what the IDL
// announces ("may return multiple responses using Transfer-Encoding:
// chunked"); error bodies stay those of the current gateway.
func WithV3Chunks(on bool) Option { return func(s *Server) { s.chunks = on } }

// WithClock makes the Server read the time from now instead of time.Now:
// for the start of traces added without one, for the v1 API's default
// window, and for Call.Time.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Fault is what the next call of a path meets instead of its normal answer:
// Delay is waited first (or until the client gives up); then a Status other
// than 0 is answered with Jaeger's error body for that API ({"error":{
// "httpCode":…,"message":…}} for v3, {"errors":[{"code":…,"msg":…}]} for
// v1). Status 0 only delays the call.
type Fault struct {
	Status int
	Delay  time.Duration
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Method string
	Path   string
	Query  url.Values
	Time   time.Time
	Status int // the HTTP status answered; 0 when the client went away first
	// Deprecated lists the deprecated v3 parameters the answer flagged in its
	// Deprecated-Params header (CurrentParams only).
	Deprecated []string
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http   *httptest.Server
	v3, v1 bool
	ui     bool
	params Params
	chunks bool
	now    func() time.Time

	mu     sync.Mutex
	traces []*trace // in the order they were added
	lastID int      // the last number an ID was made from
	calls  fakeapi.Log[Call]
	faults fakeapi.Faults[Fault]
	delay  time.Duration
}

// New starts a Server on a loopback port: Query API v3 with CurrentParams,
// the v1 API and the UI. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{v3: true, v1: true, ui: true, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the query service's base URL, the one jaeger.New takes.
func (s *Server) URL() string { return s.http.URL }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// FailNext makes the next call of path (PathV3 or PathV1) meet f. Faults
// queue: calling FailNext twice fails the next two calls, in order. It
// panics on any other path, so that a typo cannot leave a test without its
// fault.
func (s *Server) FailNext(path string, f Fault) {
	if path != PathV3 && path != PathV1 {
		panic(fmt.Sprintf("jaegertest: FailNext: no path %q (want %q or %q)", path, PathV3, PathV1))
	}
	s.faults.Push(path, f)
}

// SetDelay makes every answer, on every path, wait d first (or until the
// client gives up); 0 undoes it.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	return s.calls.All(func(c Call) Call {
		c.Query = fakeapi.CloneValues(c.Query)
		c.Deprecated = slices.Clone(c.Deprecated)
		return c
	})
}

// CallCount returns how many calls of path were received, rejected ones
// included.
func (s *Server) CallCount(path string) int {
	return s.calls.Count(func(c Call) bool { return c.Path == path })
}

// reply is an answer.
type reply struct {
	status int
	header http.Header
	// contentType is set when not empty; otherwise net/http sniffs one, as
	// it does for Jaeger's v3 gateway, which sets none.
	contentType string
	body        []byte
	// chunks, when set, are written one after another, each flushed.
	chunks [][]byte
}

// textReply answers as http.Error does, which both of Jaeger's APIs use
// for errors: text/plain, nosniff, the message and a line break.
func textReply(status int, msg string) reply {
	return reply{
		status:      status,
		header:      http.Header{"X-Content-Type-Options": {"nosniff"}},
		contentType: "text/plain; charset=utf-8",
		body:        []byte(msg + "\n"),
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: s.now()}
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if !fakeapi.Sleep(r, delay) {
		s.record(call)
		return
	}
	if f, ok := s.takeFault(r.URL.Path); ok {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Status != 0 {
			s.answer(w, &call, s.faultReply(r.URL.Path, f.Status))
			return
		}
	}
	s.answer(w, &call, s.handle(r))
}

func (s *Server) handle(r *http.Request) reply {
	var h func(url.Values) reply
	switch {
	case r.URL.Path == PathV3 && s.v3:
		h = s.findTracesV3
	case r.URL.Path == PathV1 && s.v1:
		h = s.searchV1
	default:
		return s.notServed(r)
	}
	if r.Method != http.MethodGet {
		// Both routers refuse another method on a GET route.
		rep := textReply(http.StatusMethodNotAllowed, "Method Not Allowed")
		rep.header.Set("Allow", "GET, HEAD")
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return h(r.URL.Query())
}

// indexHTML stands for the Jaeger UI's index.html.
const indexHTML = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><base href="/" /><title>Jaeger UI</title></head>
  <body><div id="jaeger-ui-root"></div></body>
</html>
`

// notServed answers a path with no route. Jaeger 1.x's query service
// answers every such path with the UI's index.html and 200
// (StaticAssetsHandler.notFound, cmd/query/app/static_handler.go); Jaeger
// 2.x's does so too except under /api/ ("invalid /api/* routes return 404
// directly"); without UI assets it is the router's plain 404.
func (s *Server) notServed(r *http.Request) reply {
	if s.ui && !(s.v3 && strings.HasPrefix(r.URL.Path, "/api/")) {
		return reply{status: http.StatusOK, contentType: "text/html; charset=utf-8", body: []byte(indexHTML)}
	}
	return textReply(http.StatusNotFound, "404 page not found")
}

func (s *Server) faultReply(path string, status int) reply {
	msg := fmt.Sprintf("jaegertest: injected HTTP %d", status)
	switch path {
	case PathV3:
		return v3Error(status, msg)
	case PathV1:
		return v1Error(status, msg)
	}
	return textReply(status, msg)
}

func (s *Server) answer(w http.ResponseWriter, call *Call, rep reply) {
	for k, vs := range rep.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	call.Status = rep.status
	if d := rep.header.Get("Deprecated-Params"); d != "" {
		call.Deprecated = strings.Split(d, ",")
	}
	s.record(*call)
	w.WriteHeader(rep.status)
	if rep.chunks == nil {
		_, _ = w.Write(rep.body)
		return
	}
	flusher, _ := w.(http.Flusher)
	for _, c := range rep.chunks {
		_, _ = w.Write(c)
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault(path string) (Fault, bool) {
	return s.faults.Pop(path)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jaegertest: %v", err))
	}
	return b
}
