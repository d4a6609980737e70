// Package clocktest is the clock tests inject where the code takes a
// `now func() time.Time`: it stands still until the test moves it, so
// that a test skips a backoff, a snooze or a delay instead of sleeping
// through it, and what the code computes from the time (a channel's date,
// an archive's due time) follows from the test, not from the hour it runs.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use: the code under test
// reads it from its own goroutines while the test moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads at.
func New(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's time; pass the method value (c.Now) where a
// `func() time.Time` is taken.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d and returns the new time.
func (c *Clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// AdvanceTo moves the clock to t if t is later, and reports whether it
// moved: a clock never runs backwards.
func (c *Clock) AdvanceTo(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.now) {
		return false
	}
	c.now = t
	return true
}
