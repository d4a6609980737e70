// Package fakeapi holds what the strict fakes of the outside APIs
// (integrations/*/…test) share.
package fakeapi

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Sleep waits d, or less if the client goes away; it reports whether the
// client is still there. A fault's Delay is waited with it.
func Sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Faults queues the faults injected per route: each call of a route meets
// the next one, in order. The zero value is ready to use.
type Faults[F any] struct {
	mu sync.Mutex
	q  map[string][]F
}

// Push queues f for the next call of route that has none queued before it.
func (fs *Faults[F]) Push(route string, f F) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.q == nil {
		fs.q = map[string][]F{}
	}
	fs.q[route] = append(fs.q[route], f)
}

// Pop takes the next fault of route, if any.
func (fs *Faults[F]) Pop(route string) (F, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	queue := fs.q[route]
	if len(queue) == 0 {
		var zero F
		return zero, false
	}
	fs.q[route] = queue[1:]
	return queue[0], true
}

// Log records the calls a fake received, rejected ones included. The zero
// value is ready to use.
type Log[C any] struct {
	mu   sync.Mutex
	list []C
}

// Add records a call.
func (l *Log[C]) Add(c C) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, c)
}

// All returns the calls in order, each made a copy by clone (nil: a plain
// copy), so that a caller cannot change what the fake recorded.
func (l *Log[C]) All(clone func(C) C) []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]C, 0, len(l.list))
	for _, c := range l.list {
		if clone != nil {
			c = clone(c)
		}
		out = append(out, c)
	}
	return out
}

// Count counts the calls that match.
func (l *Log[C]) Count(match func(C) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.list {
		if match(c) {
			n++
		}
	}
	return n
}

// CloneValues copies query or form values.
func CloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
