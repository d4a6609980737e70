package slack

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Slack limits each Web API method by tier, per workspace; chat.postMessage
// is limited per channel (about one message a second). A pacer keeps a
// burst of war rooms under those limits instead of collecting 429s: each
// method (or method and channel) has a token bucket that refills at the
// tier's rate and holds a burst of half a minute's worth.
type pacer struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
}

type bucket struct {
	tokens float64
	last   time.Time
}

// tier is a method's sustained rate and burst. Slack's tiers welcome
// "sporadic bursts"; the bursts here are half a minute's worth.
type tier struct {
	perMinute float64
	burst     float64
}

var (
	tier2      = tier{perMinute: 20, burst: 10}
	tier3      = tier{perMinute: 50, burst: 25}
	tier4      = tier{perMinute: 100, burst: 25}
	perChannel = tier{perMinute: 60, burst: 3} // chat.postMessage, per channel
)

// tiers lists the tier of each method warroom calls (Slack's method pages).
var tiers = map[string]tier{
	"conversations.create":     tier2,
	"conversations.list":       tier2,
	"conversations.setTopic":   tier3,
	"conversations.setPurpose": tier3,
	"conversations.invite":     tier3,
	"conversations.archive":    tier2,
	"conversations.history":    tier3,
	"conversations.info":       tier3,
	"chat.update":              tier3,
	"pins.add":                 tier2,
	"bookmarks.list":           tier3,
	"bookmarks.add":            tier2,
	"usergroups.list":          tier2,
	"usergroups.users.list":    tier2,
	"users.lookupByEmail":      tier3,
	"auth.test":                tier4,
	// files.upload is retired: a file is uploaded in two calls of Tier 4
	// and the upload between them.
	"files.getUploadURLExternal":   tier4,
	"files.completeUploadExternal": tier4,
}

func newPacer() *pacer {
	return &pacer{buckets: map[string]*bucket{}, now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxInlineWait is the longest a call waits for its turn; past it the call
// fails with a *WaitError (and takes no turn), so that a job snoozes
// instead of holding a worker.
const maxInlineWait = time.Second

// WaitError says a call was not made: its method's pace allows it after
// Wait.
type WaitError struct {
	Method string
	Wait   time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s paced: next call in %s", e.Method, e.Wait.Round(time.Millisecond))
}

// wait blocks until method (for chat.postMessage: on channel) may be
// called, or ctx ends; a turn further than maxInlineWait away is a
// *WaitError.
func (p *pacer) wait(ctx context.Context, method, channel string) error {
	t, ok := tiers[method]
	key := method
	if method == "chat.postMessage" {
		t, ok, key = perChannel, true, method+"/"+channel
	}
	if !ok {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	b := p.buckets[key]
	if b == nil {
		b = &bucket{tokens: t.burst, last: now}
		p.buckets[key] = b
	}
	rate := t.perMinute / 60 // tokens a second
	b.tokens = min(t.burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	var wait time.Duration
	if after := b.tokens - 1; after < 0 {
		wait = time.Duration(-after / rate * float64(time.Second))
	}
	if wait > maxInlineWait {
		p.mu.Unlock()
		return &WaitError{Method: method, Wait: wait}
	}
	b.tokens-- // taken now; negative means owed, and the caller waits for it
	p.mu.Unlock()
	if wait == 0 {
		return nil
	}
	return p.sleep(ctx, wait)
}
