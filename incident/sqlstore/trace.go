package sqlstore

import (
	"log/slog"
	"os"
	"time"
)

// The slow-batch log: with WARROOM_STORE_SLOW_BATCH set to a duration
// (say 20ms), every batch whose oldest request waited longer than that,
// from Update to the answer, is logged with the time of each phase, so
// that a tail latency can be put down to its cause: a wait in the queue
// (a writer busy with an earlier batch), a wait for a connection, a lock
// (the begin phase holds the FOR UPDATE of the keys' incidents), the
// writers' own round trips, or the commit (WAL flush, a checkpoint's full
// pages). It is a debugging aid, off by default.

// slowBatchEnv names the variable that turns the slow-batch log on.
const slowBatchEnv = "WARROOM_STORE_SLOW_BATCH"

// slowBatch reads the threshold from the environment; 0: off.
func slowBatch() time.Duration {
	d, err := time.ParseDuration(os.Getenv(slowBatchEnv))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// batchTrace times the phases of one batch; nil when the log is off.
type batchTrace struct {
	start    time.Time // the batch began
	oldest   time.Time // its oldest request was queued
	requests int
	keys     int
	// The phases, summed over both passes.
	phases [3]time.Duration
	trips  int
	passes int
	phase  time.Time
}

// The phases of a batch.
const (
	phaseBegin  = iota // a connection, BEGIN, the keys' locks
	phaseRun           // the writers, with the round trips of their own
	phaseCommit        // the buffered rows and the COMMIT
)

func (s *Store) traceBatch(batch []*request) *batchTrace {
	if s.slow <= 0 || len(batch) == 0 {
		return nil
	}
	bt := &batchTrace{start: time.Now(), oldest: batch[0].at, requests: len(batch)}
	last := "\x00"
	for _, r := range batch {
		if r.at.Before(bt.oldest) {
			bt.oldest = r.at
		}
		if r.key != last {
			bt.keys++
			last = r.key
		}
	}
	bt.phase = bt.start
	return bt
}

// lap adds the time since the last lap to the phase.
func (bt *batchTrace) lap(phase int) {
	if bt == nil {
		return
	}
	now := time.Now()
	bt.phases[phase] += now.Sub(bt.phase)
	bt.phase = now
}

// pass records the start of a pass over the batch.
func (bt *batchTrace) pass() {
	if bt == nil {
		return
	}
	bt.passes++
	bt.phase = time.Now()
}

// roundTrips adds a pass's round trips to PostgreSQL.
func (bt *batchTrace) roundTrips(t *txn) {
	if bt != nil && t.pg != nil {
		bt.trips += t.pg.trips
	}
}

// done logs the batch if its oldest request waited past the threshold.
func (bt *batchTrace) done(s *Store) {
	if bt == nil {
		return
	}
	end := time.Now()
	if end.Sub(bt.oldest) < s.slow {
		return
	}
	s.log.Warn("slow store batch", slog.String("driver", s.driver),
		slog.Duration("total", end.Sub(bt.oldest)), slog.Duration("queued", bt.start.Sub(bt.oldest)),
		slog.Duration("begin", bt.phases[phaseBegin]), slog.Duration("run", bt.phases[phaseRun]),
		slog.Duration("commit", bt.phases[phaseCommit]), slog.Duration("answer", end.Sub(bt.phase)),
		slog.Int("requests", bt.requests), slog.Int("keys", bt.keys), slog.Int("passes", bt.passes),
		slog.Int("round_trips", bt.trips))
}
