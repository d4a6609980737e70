// Package fakeapi holds what the strict fakes of the outside APIs
// (integrations/*/…test) share.
package fakeapi

import (
	"net/http"
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
