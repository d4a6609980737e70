package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/warroom/warroom/incident"
)

// stallAfter is how long one batch may run before Ping reports the
// writer stalled.
const stallAfter = 10 * time.Second

// health is the outcome of the last commits, which readiness reports.
type health struct {
	mu sync.Mutex
	// ok and failed are when a commit last succeeded and last failed for
	// the store's sake (not for a writer's own error or data).
	ok, failed time.Time
	// err is why the last commit failed, nil when the last one succeeded;
	// since is when the failures began.
	err     error
	since   time.Time
	probing bool
}

// committed records a commit's outcome: nil, or a failure of the store.
// A commit that changed no row (a worker finding no job due) proves
// nothing: SQLite commits it on a full disk without writing, and a fault
// that fails only some writes passes it. Only one that wrote clears a
// failure; the readiness probe writes a row.
func (s *Store) committed(err error, wrote bool) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		if !wrote {
			return
		}
		h.ok, h.err = s.now(), nil
		return
	}
	if h.err == nil {
		h.since = s.now()
	}
	h.failed, h.err = s.now(), err
}

// Ping reports whether the database answers, the writers make progress
// and commits succeed. A writer with requests waiting and no batch done
// for stallAfter is stuck (a lock, a full disk); a store whose last commit
// failed (a full disk, a read-only file, a lost server) is not ready
// until a commit succeeds again. When the writers have been idle for the
// probe interval, Ping commits a tiny write of its own, so that readiness
// follows the cause both ways even without traffic: a replica that is not
// ready gets none.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	if err != nil && s.readPool != nil && lostConnection(err) {
		// An idle connection that broke (a server restart) fails the one
		// read that finds it: the pool starts afresh, and readiness asks
		// again on a new connection.
		s.readPool.Reset()
		err = s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: ping: %s", reason(err))
	}
	for _, w := range s.writers {
		if busy := w.busy.Load(); busy != 0 {
			if d := time.Since(time.Unix(0, busy)); d > stallAfter {
				return fmt.Errorf("sqlstore: writes stalled: a batch has run for %s with %d waiting", d.Round(time.Second), len(w.reqs))
			}
		}
	}
	if s.probeDue() {
		err := s.Update(ctx, "", func(tx incident.Tx) error {
			_, err := tx.NextSeq(probeCounter)
			return err
		})
		s.health.mu.Lock()
		s.health.probing = false
		s.health.mu.Unlock()
		if err != nil && ctx.Err() != nil {
			// The probe did not finish in time: that is the answer (a
			// batch that ran has recorded its own outcome).
			s.committed(ctx.Err(), false)
		}
	}
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return fmt.Errorf("sqlstore: commits failing for %s: %s", s.now().Sub(h.since).Round(time.Second), reason(h.err))
	}
	return nil
}

// lostConnection reports an error of a connection that broke, rather than
// of a server that answered or of a deadline.
func lostConnection(err error) bool {
	var pg *pgconn.PgError
	return !errors.As(err, &pg) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) &&
		classify(err) == classFault
}

// probeCounter is the counters row that readiness probes bump.
const probeCounter = "readiness_probe"

// probeDue reports, and claims, a probe when no commit has been tried for
// the probe interval and no other probe runs.
func (s *Store) probeDue() bool {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.ok
	if h.failed.After(last) {
		last = h.failed
	}
	if h.probing || s.now().Sub(last) < s.probeEvery {
		return false
	}
	h.probing = true
	return true
}

// reason says in a few words, fit for a readiness answer, why an
// operation failed: the database's own message for the database's errors,
// a category for the rest (whose text can name hosts and users).
func reason(err error) string {
	var pg *pgconn.PgError
	var lite *sqlite.Error
	var ne net.Error
	var nul *nulError
	switch {
	case errors.As(err, &nul):
		return nul.Error()
	case errors.As(err, &pg):
		return fmt.Sprintf("%s (SQLSTATE %s)", pg.Message, pg.Code)
	case errors.As(err, &lite):
		return lite.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(), pgconn.Timeout(err):
		return "timed out"
	case errors.As(err, new(*pgconn.ConnectError)), errors.As(err, &ne):
		return "cannot reach the database"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn):
		return "connection lost"
	}
	return "database error"
}
