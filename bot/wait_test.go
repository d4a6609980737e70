package bot_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/clocktest"
)

// How the war-room tests wait. The server runs on a test clock that
// stands still: a backoff, a snooze, a coalesced update or Jira's index
// lag is not slept through but skipped. While a test waits for a state,
// whenever no job runs and none is due, the clock jumps to the next job
// that waits at most maxSkip and the worker is woken; a job that waits
// longer (an archive, a day after the resolve) is reached only by
// h.advance. The clock never jumps under a running job, whose lease it
// would run out.

// maxSkip is the longest wait of a job that the clock skips by itself: the
// backoff of the first attempts, a snooze, Retry-After, coalescing, Jira's
// index lag.
const maxSkip = 5 * time.Minute

// waitTimeout bounds, in real time, how long a test waits for a state
// before it fails; poll is how often it looks.
const (
	waitTimeout = 30 * time.Second
	poll        = 10 * time.Millisecond
)

// newClock is a test clock at the present (Slack's signature check, in
// slack-go, compares the request's timestamp with the wall clock too),
// standing still until a test or its waits move it.
func newClock() *clocktest.Clock { return clocktest.New(time.Now().UTC().Truncate(time.Second)) }

// eventually polls cond until it holds or waitTimeout passes, calling
// between two looks idle, which may move things on (it reports whether it
// did; if not, the next look waits a poll).
func eventually(cond func() bool, idle func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		if idle == nil || !idle() {
			<-tick.C
		}
	}
	return true
}

// waitFor waits until cond holds, skipping the waits of the job worker on
// the test clock.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	if !eventually(cond, h.skip) {
		h.t.Fatalf("timed out waiting for %s; jobs:\n%s", what, h.describeJobs())
	}
}

// settle waits until the worker is quiet: no job runs or is due, and none
// waits less than maxSkip (the clock skips those waits). What has not
// happened then does not happen without a long wait or a new cause: a
// test asserts "Slack was not called" after it.
func (h *harness) settle() {
	h.t.Helper()
	quiet := false
	if !eventually(func() bool { return quiet }, func() bool {
		var moved bool
		moved, quiet = h.step()
		return moved || quiet
	}) {
		h.t.Fatalf("the job worker did not settle; jobs:\n%s", h.describeJobs())
	}
}

// advance moves the test clock by d, once no job runs, and wakes the
// worker: for the waits longer than maxSkip.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if !eventually(func() bool { return h.running() == 0 }, nil) {
		h.t.Fatalf("jobs still run; jobs:\n%s", h.describeJobs())
	}
	h.clock.Add(d)
	bot.WakeWorker(h.srv)
}

// skip is one move of the clock, if the worker is idle (see step); it
// reports whether the clock moved.
func (h *harness) skip() bool {
	moved, _ := h.step()
	return moved
}

// step looks at every job once. When none runs or is due and the next
// one waits at most maxSkip, the clock jumps to it and the worker is
// woken (moved). quiet reports that no job runs or is due and none waits
// at most maxSkip.
func (h *harness) step() (moved, quiet bool) {
	if h.clock == nil {
		return false, false // the real clock: nothing to skip
	}
	now := h.clock.Now()
	var next time.Time
	for _, j := range h.allJobs() {
		switch {
		case j.State == incident.JobDone || j.State == incident.JobFailed:
		case j.State == incident.JobRunning || !j.RunAt.After(now):
			return false, false // the worker is at it
		case next.IsZero() || j.RunAt.Before(next):
			next = j.RunAt
		}
	}
	if next.IsZero() || next.Sub(now) > maxSkip {
		return false, true
	}
	moved = h.clock.AdvanceTo(next)
	bot.WakeWorker(h.srv)
	return moved, false
}

// running counts the jobs that run.
func (h *harness) running() int {
	n := 0
	for _, j := range h.allJobs() {
		if j.State == incident.JobRunning {
			n++
		}
	}
	return n
}

// allJobs lists every job of every incident, straight from the store.
func (h *harness) allJobs() []incident.JobStatus {
	h.t.Helper()
	ctx := context.Background()
	store := bot.StoreOf(h.srv)
	incs, err := store.Incidents(ctx, incident.Filter{All: true})
	if err != nil {
		h.t.Fatalf("list incidents: %v", err)
	}
	var all []incident.JobStatus
	for _, inc := range incs {
		jobs, err := store.Jobs(ctx, inc.ID)
		if err != nil {
			h.t.Fatalf("jobs of %s: %v", inc.ID, err)
		}
		all = append(all, jobs...)
	}
	return all
}

// describeJobs lists every job for a failure message.
func (h *harness) describeJobs() string {
	var b strings.Builder
	now := h.now()
	for _, j := range h.allJobs() {
		fmt.Fprintf(&b, "  %s %s run_at %+v attempt %d %s\n", j.Key, j.State, j.RunAt.Sub(now), j.Attempt, j.LastError)
	}
	return b.String()
}

// now is the server's time.
func (h *harness) now() time.Time {
	if h.clock == nil {
		return time.Now()
	}
	return h.clock.Now()
}
