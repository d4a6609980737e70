package jaegertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Span describes a span to add, with its children. The Server stores it as
// Jaeger stores an OTLP span: a failing span has status ERROR with Message
// as its status message (the v1 API shows the tags error=true,
// otel.status_code=ERROR and otel.status_description), and Exception
// becomes an "exception" event with exception.message (a log with
// event=exception in the v1 API).
type Span struct {
	// TraceID, read on the root only, is the trace's ID: up to 32 hex
	// digits. Empty: one is made up.
	TraceID   string
	Service   string
	Operation string
	// Start is when the span started; zero: its parent's start (the root's:
	// the Server's clock).
	Start     time.Time
	Duration  time.Duration
	Error     bool
	Message   string // the status message of a failing span
	Exception string // the message of an exception event, if any
	Children  []Span
}

type trace struct {
	id    string // 32 lowercase hex digits
	spans []*storedSpan
}

type storedSpan struct {
	id, parent         string // 16 lowercase hex digits; parent "" for the root
	service, operation string
	start              time.Time
	duration           time.Duration
	err                bool
	message, exception string
}

func (sp *storedSpan) end() time.Time { return sp.start.Add(sp.duration) }

// AddTrace stores a trace made of root and its descendants and returns its
// ID. A trace added later is newer for the search, which scans the newest
// first, as Jaeger's memory store does. It panics on a span without service
// or operation, a negative duration, or a TraceID that is not hex.
func (s *Server) AddTrace(root Span) (traceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &trace{id: s.traceID(root.TraceID)}
	start := root.Start
	if start.IsZero() {
		start = s.now()
	}
	s.addSpan(t, root, "", start)
	s.traces = append(s.traces, t)
	return t.id
}

func (s *Server) addSpan(t *trace, sp Span, parent string, parentStart time.Time) {
	if sp.Service == "" || sp.Operation == "" || sp.Duration < 0 {
		panic(fmt.Sprintf("jaegertest: AddTrace: a span needs a service, an operation and a duration ≥ 0: %+v", sp))
	}
	start := sp.Start
	if start.IsZero() {
		start = parentStart
	}
	stored := &storedSpan{
		id:        s.nextID("span", 8),
		parent:    parent,
		service:   sp.Service,
		operation: sp.Operation,
		start:     start.UTC(),
		duration:  sp.Duration,
		err:       sp.Error,
		message:   sp.Message,
		exception: sp.Exception,
	}
	t.spans = append(t.spans, stored)
	for _, c := range sp.Children {
		s.addSpan(t, c, stored.id, start)
	}
}

func (s *Server) traceID(given string) string {
	if given == "" {
		return s.nextID("trace", 16)
	}
	if len(given) > 32 {
		panic(fmt.Sprintf("jaegertest: AddTrace: trace ID %q is longer than 32 hex digits", given))
	}
	if _, err := hex.DecodeString(strings.Repeat("0", len(given)%2) + given); err != nil {
		panic(fmt.Sprintf("jaegertest: AddTrace: trace ID %q is not hex", given))
	}
	return strings.Repeat("0", 32-len(given)) + strings.ToLower(given)
}

// nextID makes a random-looking ID of size bytes, the same in every run.
func (s *Server) nextID(kind string, size int) string {
	s.lastID++
	sum := sha256.Sum256([]byte("jaegertest/" + kind + "/" + strconv.Itoa(s.lastID)))
	return hex.EncodeToString(sum[:size])
}

// services lists the services of a trace in the order they first appear.
func (t *trace) services() []string {
	var out []string
	for _, sp := range t.spans {
		if !slices.Contains(out, sp.service) {
			out = append(out, sp.service)
		}
	}
	return out
}

// newestFirst returns the traces, the last added first.
func (s *Server) newestFirst() []*trace {
	out := make([]*trace, 0, len(s.traces))
	for i := len(s.traces) - 1; i >= 0; i-- {
		out = append(out, s.traces[i])
	}
	return out
}
