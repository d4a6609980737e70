package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warroom/warroom/incident"
)

// maxBatch bounds how many writers share one transaction.
const maxBatch = 512

// maxConflictRetries bounds how often a writer is retried after a
// serialization failure or deadlock on PostgreSQL.
const maxConflictRetries = 5

type request struct {
	// state is queued, running or abandoned: the writer takes a queued
	// request into a batch, or its caller abandons it; whichever is first
	// decides whether fn runs.
	state   atomic.Int32
	ctx     context.Context
	fn      func(incident.Tx) error
	result  chan error
	retries int
	key     string
	writer  *writerLoop
	at      time.Time // queued, for the slow-batch log (see trace.go)
}

// Request states.
const (
	queued int32 = iota
	running
	abandoned
)

// take claims a queued request for a batch, or reports false when its
// caller has given up (or is about to: its context has ended), in which
// case the caller has its answer and fn never runs.
func (r *request) take(s *Store) bool {
	if err := r.ctx.Err(); err != nil {
		if r.state.CompareAndSwap(queued, abandoned) {
			r.result <- s.gaveUp(r.ctx)
		}
		return false
	}
	return r.state.CompareAndSwap(queued, running)
}

// writerLoop is one group-commit loop and its queue.
type writerLoop struct {
	reqs chan *request
	// wrote says the last batch committed changed a row.
	wrote bool
	// busy is when the batch now running started (unix nanos), 0 when idle.
	busy atomic.Int64
	// eventIDs is a block of event IDs taken from the sequence ahead of
	// use (PostgreSQL), so that appending an event needs no round trip.
	eventIDs []int64
	// fps holds the fingerprints of the alerts of the incidents this loop
	// writes, so that a new alert is known new without a round trip. On
	// SQLite the one writer owns the file and they are always current; on
	// PostgreSQL each set is trusted only while the incident's row still
	// carries the version this loop last wrote (another replica's write
	// bumps it).
	fps *memo[string, *fingerprints]
}

type fingerprints struct {
	version int64
	set     map[string]bool
}

// maxCachedIncidents bounds a writer's fingerprint cache; past it the
// cache starts again empty.
const maxCachedIncidents = 4096

// ErrClosed is returned by Update after Close.
var ErrClosed = incident.Errorf(incident.EUNAVAILABLE, "store is closed")

// Update implements incident.Store: fn joins the next group commit of the
// writer its key routes to.
//
// A request still queued when ctx ends or the store's timeout passes is
// dropped unrun, and Update returns EUNAVAILABLE. One whose batch has
// started is waited for: fn may be writing into the caller's variables,
// and the caller learns the outcome; the batch itself is bounded by the
// timeout, so that wait is too (when the database stalls, the batch fails
// with EUNAVAILABLE). A caller answered EUNAVAILABLE must be able to
// repeat the call: an Alertmanager delivery answered 503 is sent again,
// and the repeat is deduplicated by fingerprint.
func (s *Store) Update(ctx context.Context, key string, fn func(incident.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r := &request{ctx: ctx, fn: fn, result: make(chan error, 1), key: key, writer: s.route(key)}
	if s.slow > 0 {
		r.at = time.Now()
	}
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	select {
	case r.writer.reqs <- r:
	case <-ctx.Done():
		return s.gaveUp(ctx)
	case <-s.stop:
		return ErrClosed
	}
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return s.gaveUp(ctx)
		}
		return <-r.result // running, or answered by take
	}
}

// gaveUp is Update's answer when ctx ended before the outcome was known.
func (s *Store) gaveUp(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return incident.Errorf(incident.EUNAVAILABLE, "store unavailable: no commit within %s", s.timeout)
	}
	return incident.Errorf(incident.EUNAVAILABLE, "store unavailable: the request ended before the commit")
}

// route picks the writer of a request: by key among the writers in use
// (see adapt), round-robin without a key.
func (s *Store) route(key string) *writerLoop {
	if len(s.writers) == 1 {
		return s.writers[0]
	}
	n := uint32(max(s.active.Load(), 1))
	if key == "" {
		return s.writers[s.next.Add(1)%n]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return s.writers[h.Sum32()%n]
}

// writer is a group-commit loop: it takes every request waiting, runs them
// in one transaction and commits once.
func (s *Store) writer(w *writerLoop) {
	defer s.wg.Done()
	reqs := w.reqs
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-reqs:
			batch = append(batch[:0], r)
		case <-s.stop:
			s.drain(reqs)
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.busy.Store(time.Now().UnixNano())
		s.adapt(len(batch))
		s.runBatch(w, batch)
		s.catchUp()
		w.busy.Store(0)
	}
}

// drain fails the requests still queued at Close.
func (s *Store) drain(reqs chan *request) {
	for {
		select {
		case r := <-reqs:
			r.result <- ErrClosed
		default:
			return
		}
	}
}

// prepare prepares, on the free writer connection, the statements that the
// last batch had to prepare for itself.
func (s *Store) prepare() {
	for q := range s.unprepared {
		if st, err := s.write.Prepare(q); err == nil {
			s.stmts[q] = st
		}
		delete(s.unprepared, q)
	}
}

// runBatch runs a batch of writers in one transaction. It is optimistic:
// the first pass takes no savepoints, since a writer that fails (an ack
// that conflicts, say) is rare. When one fails, the transaction rolls
// back, that writer gets its error, and the rest run again, each in a
// savepoint of its own. When the database refuses a row (bad data, such
// as a NUL that PostgreSQL cannot store), whose row it was is unknown,
// since rows wait in buffers shared by the batch: then every writer runs
// again in its own savepoint, and only the guilty one fails.
func (s *Store) runBatch(w *writerLoop, batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if !r.take(s) {
			continue // never started: nothing was written
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// Writers take their keys' locks in key order, in every batch of every
	// replica, so that two batches never wait on each other in a cycle.
	slices.SortStableFunc(live, func(a, b *request) int { return strings.Compare(a.key, b.key) })
	bt := s.traceBatch(live)
	defer bt.done(s)
	if s.stmts != nil {
		defer s.prepare()
	}
	// One deadline for the whole batch, both passes: a caller whose
	// request runs waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	failed, ferr, err := s.runTx(ctx, w, live, nil, bt)
	if errors.As(cmp.Or(err, ferr), new(*connLostError)) {
		// The connection broke before the COMMIT went out (a server
		// restart): nothing was committed, and the pools have started
		// afresh. Once more, on a new connection.
		failed, ferr, err = s.runTx(ctx, w, live, nil, bt)
	}
	switch {
	case err != nil && classify(err) != classData:
		s.failAll(live, err)
		return
	case err == nil && failed < 0:
		s.committed(nil, w.wrote)
		for _, r := range live {
			r.result <- nil
		}
		return
	case err == nil && classify(ferr) == classFault:
		s.failAll(live, ferr)
		return
	}
	rest := live
	if err == nil && classify(ferr) != classData {
		s.finish(live[failed], ferr)
		rest = append(live[:failed:failed], live[failed+1:]...)
		if len(rest) == 0 {
			return
		}
	}
	results := make([]error, len(rest))
	if failed, ferr, err := s.runTx(ctx, w, rest, results, bt); err != nil || failed >= 0 {
		s.failAll(rest, cmp.Or(err, ferr))
		return
	}
	s.committed(nil, w.wrote)
	for i, r := range rest {
		if results[i] != nil {
			s.finish(r, results[i])
		} else {
			r.result <- nil
		}
	}
}

// runTx runs reqs in one transaction and commits it. With results nil it
// takes no savepoints and stops at the first writer that fails: it rolls
// everything back and returns that writer's index and error. With results,
// each writer runs in a savepoint and its rows are written before the
// savepoint is released; a failing writer's error goes to results[i], and
// the others commit, unless the error is a failure of the database
// itself (a fault), which stops the batch like in the first mode. err
// reports a failure of the transaction itself.
func (s *Store) runTx(ctx context.Context, w *writerLoop, reqs []*request, results []error, bt *batchTrace) (failed int, ferr, err error) {
	t := &txn{s: s, w: w, ctx: ctx, open: s.openCache, dirty: map[string]incident.Incident{}}
	bt.pass()
	if !t.open.enabled() {
		// Within the transaction it is not a memory but what this
		// transaction has read and locked (see queueLockKeys).
		t.open = newMemo[string, incident.Incident](true, 0)
	}
	if s.stmts != nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	abort := func(err error) (int, error, error) {
		err = t.lost(err)
		t.rollback()
		s.forgetAll(w)
		return -1, nil, err
	}
	if s.pool != nil {
		defer t.endPostgres()
		defer bt.roundTrips(t)
		if err := t.beginPostgres(reqs); err != nil {
			return abort(err)
		}
	} else {
		// modernc.org/sqlite starts a goroutine for every statement run
		// under a context that can end, to interrupt it then: on the
		// writer's path that is a goroutine per statement, each waiting
		// for a CPU beside the webhooks. The batch's deadline cannot stop
		// SQLite where it would matter (a write or an fsync the disk
		// holds up), and busy_timeout bounds a wait for another
		// process's lock, so the statements run without one; Update's
		// callers still give up at the deadline.
		t.ctx = context.WithoutCancel(ctx)
		if t.tx, err = s.write.BeginTx(t.ctx, nil); err != nil {
			return -1, nil, err
		}
	}
	bt.lap(phaseBegin)
	savepoints := results != nil
	for i, r := range reqs {
		t.touched, t.touchedJobs, t.touchedFPs = t.touched[:0], t.touchedJobs[:0], t.touchedFPs[:0]
		mark, warRoomsLocked := 0, t.warRoomsLocked
		if savepoints {
			if err := t.control("SAVEPOINT w"); err != nil {
				return abort(err)
			}
			mark = t.mark()
		}
		ferr := r.fn(t)
		if ferr == nil && savepoints {
			// This writer's rows go in inside its own savepoint, so that
			// rolling it back undoes them, and a row the database refuses
			// is known to be this writer's.
			if ferr = t.flush(); ferr == nil {
				ferr = t.sync()
			}
		}
		if ferr != nil && (!savepoints || classify(ferr) == classFault) {
			ferr = t.lost(ferr)
			t.rollback()
			s.forgetAll(w) // the caches may hold writes of the batch, all undone
			return i, ferr, nil
		}
		if ferr != nil {
			t.forgetTouched() // the caches may hold the undone writer's changes
			t.discard()
			t.dropSince(mark) // its statements not sent yet
			// Sent at once on PostgreSQL: the server may hold the
			// transaction aborted, and pgx prepares a statement new to
			// the connection ahead of the round trip it is in.
			if err := t.control("ROLLBACK TO SAVEPOINT w"); err != nil {
				return abort(err)
			}
			// A lock taken inside the savepoint went with it.
			t.warRoomsLocked = warRoomsLocked
			if err := t.sync(); err != nil {
				return abort(err)
			}
			results[i] = ferr
		}
		if savepoints {
			if err := t.control("RELEASE SAVEPOINT w"); err != nil {
				return abort(err)
			}
		}
	}
	bt.lap(phaseRun)
	if err := t.flush(); err != nil {
		return abort(err)
	}
	defer bt.lap(phaseCommit)
	// On PostgreSQL the writes still waiting go with the COMMIT: an error
	// of theirs is the commit's.
	if err := t.commit(); err != nil {
		return abort(err)
	}
	w.wrote = t.wrote
	return -1, nil, nil
}

// forgetAll empties the writer's caches after a rollback.
func (s *Store) forgetAll(w *writerLoop) {
	s.openCache.reset()
	s.pending.reset()
	w.fps.reset()
}

// finish answers a request, or queues it again after a conflict. Data the
// database refused is the request's fault: EINVALID (a 400, which
// Alertmanager does not retry), never EUNAVAILABLE.
func (s *Store) finish(r *request, err error) {
	if isConflict(err) && r.retries < maxConflictRetries {
		r.retries++
		r.state.Store(queued) // its caller may give up again while it waits
		go func() {
			time.Sleep(time.Duration(r.retries) * time.Millisecond)
			select {
			case r.writer.reqs <- r:
			case <-s.stop:
				r.result <- ErrClosed
			}
		}()
		return
	}
	if classify(err) == classData {
		var ie *incident.Error
		if !errors.As(err, &ie) {
			s.log.Warn("store refused a write's data", "driver", s.driver, "err", redactErr(err))
			err = incident.Errorf(incident.EINVALID, "not stored: the store refused the data: %s", reason(err))
		}
	}
	r.result <- err
}

// failAll answers a batch whose transaction failed: the writers retry
// after a conflict; otherwise the store failed them (a full disk, a lost
// connection, the timeout), which readiness reports, and whatever state
// the failure may have left on the writer's connection is dropped.
func (s *Store) failAll(batch []*request, err error) {
	if !isConflict(err) {
		s.log.Error("store commit failed", "driver", s.driver, "requests", len(batch), "err", redactErr(err))
		s.committed(err, false)
		s.resetWriter()
	}
	for _, r := range batch {
		if isConflict(err) {
			s.finish(r, err)
			continue
		}
		r.result <- &incident.Error{Code: incident.EUNAVAILABLE, Message: "store unavailable: commit failed"}
	}
}

// resetWriter drops what a failed commit may have poisoned on SQLite's one
// writer connection: its cached statements, and the connection itself,
// which database/sql then opens afresh for the next batch. A connection
// that met a read-only or vanished file can stay read-only for good, and
// one whose COMMIT failed can be left inside its transaction; the fresh
// one sees the file as it is now. (PostgreSQL's driver drops a broken
// connection by itself.)
func (s *Store) resetWriter() {
	if s.driver != SQLite {
		return
	}
	for _, st := range s.stmts {
		_ = st.Close() // a statement of a connection being dropped
	}
	clear(s.stmts)
	clear(s.unprepared)
	s.lastEventID = 0 // read again from the table
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return
	}
	_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discards the connection
	_ = conn.Close()
}
