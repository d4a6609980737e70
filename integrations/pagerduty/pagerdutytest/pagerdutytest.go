// Package pagerdutytest is a strict, stateful, in-process fake of
// PagerDuty's Events API v2 (POST /v2/enqueue), for warroom's tests. It
// answers as the API documents
// (https://developer.pagerduty.com/docs/events-api-v2/send-an-event/):
//
//	202 {"status":"success","message":"Event processed","dedup_key":"..."}
//	400 {"status":"invalid event","message":"Event object is invalid","errors":["..."]}
//	429 on demand (FailNext), as the API answers a sender over its rate
//
// and refuses what the API refuses: a routing_key that is not 32
// characters, an event_action other than trigger, acknowledge and
// resolve, a trigger without payload.summary, source or severity, a
// severity other than critical, error, warning and info, a summary over
// 1024 characters, an acknowledge or resolve without dedup_key. It keeps
// the events it accepted and each dedup_key's status: triggered,
// acknowledged or resolved.
//
// Point a pagerduty.Client at it with
//
//	pagerduty.New(pagerduty.Options{URL: s.URL(), RoutingKey: pagerdutytest.RoutingKey})
package pagerdutytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
	"github.com/warroom/warroom/integrations/pagerduty"
)

// RoutingKey is a well-formed routing key (32 characters).
const RoutingKey = "R0123456789abcdef0123456789ABCDE"

// Route is the one route the Server serves.
const Route = "POST /v2/enqueue"

// Statuses of an alert, by its dedup_key.
const (
	Triggered    = "triggered"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

// Fault is what the next event meets instead of its normal answer: Status
// (429, 500, 503...) with RetryAfter in whole seconds if set. The event is
// not processed.
type Fault struct {
	Status     int
	RetryAfter time.Duration
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Event  pagerduty.Event
	Status int
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http   *httptest.Server
	calls  fakeapi.Log[Call]
	faults fakeapi.Faults[Fault]

	mu       sync.Mutex
	accepted []pagerduty.Event
	status   map[string]string
}

// New starts a Server; it is closed when the test ends.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{status: map[string]string{}}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.http.Close)
	return s
}

// URL is the base URL to give the client.
func (s *Server) URL() string { return s.http.URL }

// FailNext queues f for the next event.
func (s *Server) FailNext(f Fault) { s.faults.Push(Route, f) }

// Calls returns every request received, in order.
func (s *Server) Calls() []Call { return s.calls.All(nil) }

// Events returns the events accepted (answered 202), in order.
func (s *Server) Events() []pagerduty.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pagerduty.Event(nil), s.accepted...)
}

// Count counts the accepted events of action for dedupKey.
func (s *Server) Count(action, dedupKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.accepted {
		if e.Action == action && e.DedupKey == dedupKey {
			n++
		}
	}
	return n
}

// Status is the status of the alert of dedupKey: Triggered, Acknowledged,
// Resolved, or "" for none.
func (s *Server) Status(dedupKey string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status[dedupKey]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	call := Call{}
	defer func() { s.calls.Add(call) }()
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		call.Status = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	var e pagerduty.Event
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 512<<10)) // the API's limit on an event
	if err := dec.Decode(&e); err != nil {
		call.Status = http.StatusBadRequest
		s.invalid(w, "Event object is invalid", "Malformed JSON: "+err.Error())
		return
	}
	call.Event = e
	if f, ok := s.faults.Pop(Route); ok {
		call.Status = f.Status
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		msg := http.StatusText(f.Status)
		if f.Status == http.StatusTooManyRequests {
			msg = "Too many API calls at a time."
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "throttle exceeded", "message": msg})
		return
	}
	if errs := check(e); len(errs) > 0 {
		call.Status = http.StatusBadRequest
		s.invalid(w, "Event object is invalid", errs...)
		return
	}
	s.mu.Lock()
	if e.DedupKey == "" {
		e.DedupKey = newKey()
	}
	switch e.Action {
	case pagerduty.Trigger:
		s.status[e.DedupKey] = Triggered
	case pagerduty.Acknowledge:
		// PagerDuty drops an acknowledge or resolve of an alert it does
		// not have open, and still answers 202.
		if st := s.status[e.DedupKey]; st == Triggered || st == Acknowledged {
			s.status[e.DedupKey] = Acknowledged
		}
	case pagerduty.Resolve:
		if st := s.status[e.DedupKey]; st == Triggered || st == Acknowledged {
			s.status[e.DedupKey] = Resolved
		}
	}
	s.accepted = append(s.accepted, e)
	s.mu.Unlock()
	call.Status = http.StatusAccepted
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": e.DedupKey})
}

// check lists what makes e invalid, in PagerDuty's words.
func check(e pagerduty.Event) []string {
	var errs []string
	if len(e.RoutingKey) != pagerduty.RoutingKeyLen {
		errs = append(errs, fmt.Sprintf("'routing_key' must be %d characters", pagerduty.RoutingKeyLen))
	}
	switch e.Action {
	case pagerduty.Trigger:
		p := e.Payload
		if p == nil {
			errs = append(errs, "'payload' is missing or blank")
			break
		}
		if p.Summary == "" {
			errs = append(errs, "'payload.summary' is missing or blank")
		} else if utf8.RuneCountInString(p.Summary) > pagerduty.MaxSummary {
			errs = append(errs, fmt.Sprintf("'payload.summary' must be at most %d characters", pagerduty.MaxSummary))
		}
		if p.Source == "" {
			errs = append(errs, "'payload.source' is missing or blank")
		}
		switch p.Severity {
		case pagerduty.Critical, pagerduty.Err, pagerduty.Warning, pagerduty.Info:
		case "":
			errs = append(errs, "'payload.severity' is missing or blank")
		default:
			errs = append(errs, "'payload.severity' is invalid (must be one of: critical, error, warning, info)")
		}
	case pagerduty.Acknowledge, pagerduty.Resolve:
		if e.DedupKey == "" {
			errs = append(errs, "'dedup_key' is missing or blank")
		}
	default:
		errs = append(errs, "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
	}
	if utf8.RuneCountInString(e.DedupKey) > pagerduty.MaxDedupKey {
		errs = append(errs, fmt.Sprintf("'dedup_key' must be at most %d characters", pagerduty.MaxDedupKey))
	}
	for _, l := range e.Links {
		if l.Href == "" {
			errs = append(errs, "'links.href' is missing or blank")
		}
	}
	return errs
}

func (s *Server) invalid(w http.ResponseWriter, msg string, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": msg, "errors": errs})
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
