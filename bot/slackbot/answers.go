package slackbot

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// answerCache remembers the answers to the Slack requests (and Socket Mode
// envelopes) already accepted, so that a retry gets the first answer again
// instead of a second execution, and a replayed signature is recognised.
// It lives in this process only: replicas do not share it, so a retry or
// a replay that reaches another replica is not recognised there (the
// timestamp window still bounds a replay to 5 minutes). Run one replica
// for Slack traffic, or use Socket Mode, where Slack talks to one
// connection.
type answerCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	byKey map[string]*cachedAnswer
	// order holds the entries oldest first; with one TTL for all, that is
	// also the order in which they expire.
	order []*cachedAnswer
}

// cachedAnswer is one accepted request: pending until done is closed.
type cachedAnswer struct {
	key  string
	at   time.Time
	sigs []string
	done chan struct{}
	ans  slackAnswer
}

func newAnswerCache(ttl time.Duration, most int, now func() time.Time) *answerCache {
	return &answerCache{ttl: ttl, max: most, now: now, byKey: map[string]*cachedAnswer{}}
}

// claim looks key up. When it is new, claim records it (pending) and
// reports fresh: the caller must run the request and finish the entry.
// Otherwise it reports whether sig was seen with key before, and
// remembers it.
func (c *answerCache) claim(key, sig string) (e *cachedAnswer, fresh, seenSig bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for len(c.order) > 0 && (now.Sub(c.order[0].at) > c.ttl || len(c.order) >= c.max) {
		delete(c.byKey, c.order[0].key)
		c.order[0] = nil
		c.order = c.order[1:]
	}
	if e, ok := c.byKey[key]; ok {
		seen := sig != "" && slices.Contains(e.sigs, sig)
		if sig != "" && !seen && len(e.sigs) < slackMaxSignatures {
			e.sigs = append(e.sigs, sig)
		}
		return e, false, seen
	}
	e = &cachedAnswer{key: key, at: now, done: make(chan struct{})}
	if sig != "" {
		e.sigs = []string{sig}
	}
	c.byKey[key] = e
	c.order = append(c.order, e)
	return e, true, false
}

// finish records the answer and releases the retries waiting for it.
func (e *cachedAnswer) finish(a slackAnswer) {
	e.ans = a
	close(e.done)
}

// wait returns the answer once it is known; if the first delivery is
// still running after d (or ctx ends), an empty 200, since an error would
// only make Slack retry again.
func (e *cachedAnswer) wait(ctx context.Context, d time.Duration) slackAnswer {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.done:
		return e.ans
	case <-t.C:
	case <-ctx.Done():
	}
	return slackAnswer{code: http.StatusOK}
}
