package jaeger

import (
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// span is one span as either API gives it.
type span struct {
	traceID, id, parent string // lowercase hex; parent "" for a root
	service, name       string
	start               time.Time
	dur                 time.Duration
	failed              bool
	msg                 string // what it says about its error, when failed
}

func (s *span) end() time.Time { return s.start.Add(s.dur) }

// normalizeID returns an ID of size bytes as lowercase hex of 2*size
// digits: hex is padded with leading zeros (the v1 API writes the high half
// of a trace ID without them), base64 (older v3 answers) is decoded. What
// is neither is returned lowercased.
func normalizeID(id string, size int) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	if len(id) <= 2*size && isHex(id) {
		return strings.Repeat("0", 2*size-len(id)) + strings.ToLower(id)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(id); err == nil && len(b) <= size && len(b) > 0 {
			return strings.Repeat("00", size-len(b)) + hex.EncodeToString(b)
		}
	}
	return strings.ToLower(id)
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// failing groups spans into traces, keeps those where a span of service
// failed (the server's filter may have been ignored), sorts them newest
// first and keeps limit.
func failing(spans []span, service string, limit int) []Trace {
	var order []string
	byTrace := map[string][]*span{}
	seen := map[[2]string]bool{}
	for i := range spans {
		s := &spans[i]
		if s.traceID == "" || seen[[2]string{s.traceID, s.id}] {
			continue // a span repeated across chunks
		}
		seen[[2]string{s.traceID, s.id}] = true
		if _, ok := byTrace[s.traceID]; !ok {
			order = append(order, s.traceID)
		}
		byTrace[s.traceID] = append(byTrace[s.traceID], s)
	}
	var out []Trace
	for _, id := range order {
		ss := byTrace[id]
		keep := false
		for _, s := range ss {
			keep = keep || (s.failed && s.service == service)
		}
		if keep {
			out = append(out, build(id, ss))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		if a.Duration != b.Duration {
			return a.Duration > b.Duration
		}
		return a.TraceID < b.TraceID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// build makes the Trace of one trace's spans (at least one).
func build(traceID string, spans []*span) Trace {
	byID := make(map[string]*span, len(spans))
	children := map[string][]*span{}
	for _, s := range spans {
		byID[s.id] = s
	}
	first, last := spans[0].start, spans[0].end()
	var root *span
	for _, s := range spans {
		if s.start.Before(first) {
			first = s.start
		}
		if s.end().After(last) {
			last = s.end()
		}
		if _, ok := byID[s.parent]; ok && s.parent != s.id {
			children[s.parent] = append(children[s.parent], s)
		} else if root == nil || s.start.Before(root.start) {
			root = s // no parent in the trace: a root (the earliest, if several)
		}
	}
	if root == nil { // every span has a parent: a cycle, or ill-formed data
		root = earliest(spans)
	}
	t := Trace{
		TraceID:   traceID,
		Operation: root.name,
		Service:   root.service,
		Start:     first,
		Duration:  last.Sub(first),
		Spans:     len(spans),
	}

	// The error's origin: a failing span with no failing descendant.
	failedBelow := map[*span]bool{}
	visiting := map[*span]bool{}
	var below func(*span) bool
	below = func(s *span) bool {
		if v, ok := failedBelow[s]; ok || visiting[s] {
			return v
		}
		visiting[s] = true
		found := false
		for _, c := range children[s.id] {
			if c.failed || below(c) {
				found = true
			}
		}
		failedBelow[s] = found
		return found
	}
	var failedSpans, origins []*span
	for _, s := range spans {
		if s.failed {
			failedSpans = append(failedSpans, s)
			if !below(s) {
				origins = append(origins, s)
			}
		}
	}
	if len(origins) == 0 {
		origins = failedSpans
	}
	if len(origins) == 0 {
		return t
	}
	origin := earliest(origins)
	t.ErrorSpan = origin.service + ": " + origin.name
	msg := origin.msg
	for s, n := origin, 0; msg == "" && n < len(spans); n++ {
		p, ok := byID[s.parent]
		if !ok || !p.failed {
			break
		}
		s, msg = p, p.msg
	}
	t.ErrorMessage = cut(msg, maxMessage)
	return t
}

func earliest(spans []*span) *span {
	e := spans[0]
	for _, s := range spans[1:] {
		if s.start.Before(e.start) {
			e = s
		}
	}
	return e
}

// cut collapses white space (stack traces, line breaks) and cuts s to n
// runes, the last being "…" when it was longer.
func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}
