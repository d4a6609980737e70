// Package fakeapi holds what the strict fakes of the outside APIs
// (integrations/*/…test) share.
package fakeapi

import (
	"net/http"
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
