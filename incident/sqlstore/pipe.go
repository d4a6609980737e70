package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// On PostgreSQL a batch's transaction runs on one connection of the pool
// through pgx itself, not database/sql: its statements wait in a pipe and
// go to the server together, in one round trip (a pgx.Batch: the extended
// protocol's messages for every statement, then one Sync), when a result
// is needed. A batch of a storm makes two round trips: BEGIN with the
// locks of its keys' incidents (and event IDs when the writer runs low),
// then every row it wrote with the COMMIT. Statements are prepared once
// per connection (pgx's statement cache), and the statements of the hot
// path have one text whatever their row count (unnest of arrays, see
// flush_pg.go), so that the cache holds them all.

// pipe is the statements of a PostgreSQL transaction waiting to be sent.
type pipe struct {
	conn *pgxpool.Conn
	ctx  context.Context
	b    *pgx.Batch
	// trips counts the round trips made (for the slow-batch log), total
	// those of the store.
	trips int
	total *atomic.Int64
	// committing is set once the COMMIT is on its way: from then on a
	// lost connection leaves the outcome unknown.
	committing bool
}

// queue adds a statement whose result nobody waits for: it goes with the
// next round trip, and its error (data the server refuses) comes back from
// that send.
func (p *pipe) queue(q string, args ...any) *pgx.QueuedQuery {
	return p.b.Queue(q, args...)
}

// mark is where the statements queued from now on begin (see dropSince).
func (p *pipe) mark() int { return len(p.b.QueuedQueries) }

// dropSince forgets the statements queued since mark, unsent.
func (p *pipe) dropSince(mark int) {
	if mark < len(p.b.QueuedQueries) {
		p.b.QueuedQueries = p.b.QueuedQueries[:mark]
	}
}

// send sends what waits in one round trip and reads every answer in order,
// running the statements' callbacks; it returns the first error. After a
// statement fails, the server skips the rest of the round trip (and the
// transaction is aborted).
func (p *pipe) send() error {
	if p.b.Len() == 0 {
		return nil
	}
	b := p.b
	p.b = &pgx.Batch{}
	p.trips++
	p.total.Add(1)
	return p.conn.SendBatch(p.ctx, b).Close()
}

// rollback ends the transaction, if any, unsent statements dropped. It
// may fail (a lost connection, the deadline passed): then the connection
// is left in its transaction and the pool drops it at release.
func (p *pipe) rollback() {
	p.b = &pgx.Batch{}
	if p.conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	_, _ = p.conn.Exec(p.ctx, "ROLLBACK")
}

// errCommitRolledBack is a COMMIT the server answered with ROLLBACK: the
// transaction had failed before it.
var errCommitRolledBack = errors.New("commit: the transaction was rolled back")

// commit queues the COMMIT and sends it with whatever waits.
func (p *pipe) commit() error {
	p.committing = true
	p.queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		if ct.String() != "COMMIT" {
			return errCommitRolledBack
		}
		return nil
	})
	return p.send()
}

// pgResult is the sql.Result of a statement run on the pipe.
type pgResult int64

func (r pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("sqlstore: LastInsertId is not supported on PostgreSQL")
}

func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }

// execNow runs q after whatever waits, in one round trip, and returns
// the rows it changed.
func (p *pipe) execNow(q string, args ...any) (sql.Result, error) {
	var n int64
	p.queue(q, args...).Exec(func(ct pgconn.CommandTag) error {
		n = ct.RowsAffected()
		return nil
	})
	if err := p.send(); err != nil {
		return nil, err
	}
	return pgResult(n), nil
}

// each runs q after whatever waits, in one round trip, and calls row for
// each row of its answer.
func (p *pipe) each(q string, args []any, row func(scanner) error) error {
	p.queue(q, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			if err := row(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return p.send()
}

// pgRow is a one-row query that runs when it is scanned.
type pgRow struct {
	p    *pipe
	q    string
	args []any
}

func (r pgRow) Scan(dest ...any) error {
	found := false
	err := r.p.each(r.q, r.args, func(row scanner) error {
		if found {
			return nil // like database/sql's QueryRow: the first row
		}
		found = true
		return row.Scan(dest...)
	})
	if err == nil && !found {
		return sql.ErrNoRows
	}
	return err
}

// beginPostgres takes a connection for the transaction of reqs and, in
// one round trip, begins it, reads and locks the open incidents of the
// batch's keys (see lockKeys) and, when the writer runs low, takes event
// IDs from the sequence.
func (t *txn) beginPostgres(reqs []*request) error {
	conn, err := t.s.pool.Acquire(t.ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection: %w", err)
	}
	t.pg = &pipe{conn: conn, ctx: t.ctx, b: &pgx.Batch{}, total: &t.s.roundTrips}
	t.pg.queue("BEGIN")
	if need := 2 * len(reqs); len(t.w.eventIDs) < need {
		t.queueEventIDs(max(eventIDBlock, need))
	}
	keys := make([]string, 0, len(reqs))
	for _, r := range reqs { // sorted by key
		if checkArgs([]any{r.key}) != nil {
			continue // PostgreSQL refuses it; its writer fails alone on its first use of it
		}
		if r.key != "" && (len(keys) == 0 || keys[len(keys)-1] != r.key) {
			keys = append(keys, r.key)
		}
	}
	if len(keys) == 0 {
		return nil // BEGIN goes with the first statement
	}
	t.queueLockKeys(keys)
	if err := t.pg.send(); err != nil {
		return err
	}
	if len(t.none) > 0 {
		// A key with no open incident may open one: the batch takes the
		// war-room lock now, after its incidents and before any writer
		// runs, as every batch that may count war rooms or open an
		// incident does. Taken by a writer midway, after another writer
		// of the batch had opened an incident (its key, the incident
		// counter's row), it deadlocked with a batch that held the lock
		// and opened the same key (two replicas, one storm).
		return t.lockWarRooms()
	}
	return nil
}

// queueEventIDs queues the taking of n event IDs from the sequence.
func (t *txn) queueEventIDs(n int) {
	w := t.w
	t.pg.queue(`SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)`, n).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			w.eventIDs = append(w.eventIDs, id)
		}
		return rows.Err()
	})
}

// connLostError is a connection to PostgreSQL lost before the batch's
// COMMIT went out: the server rolled the transaction back, and the batch
// may run again on a new connection.
type connLostError struct{ err error }

func (e *connLostError) Error() string { return e.err.Error() }
func (e *connLostError) Unwrap() error { return e.err }

// lost marks err as a connLostError when it is one.
func (t *txn) lost(err error) error {
	if err != nil && t.pg != nil && !t.pg.committing && t.pg.conn.Conn().IsClosed() && lostConnection(err) {
		return &connLostError{err}
	}
	return err
}

// endPostgres gives the transaction's connection back to the pool, after
// a rollback if the transaction is still open.
func (t *txn) endPostgres() {
	if t.pg == nil {
		return
	}
	t.pg.rollback()
	if t.pg.conn.Conn().IsClosed() {
		// The connection broke under the batch (a server restart, a cut
		// or stalled network): the others most likely did too. Both pools
		// start afresh rather than let every reader and writer find out
		// on a request of its own.
		t.s.pool.Reset()
		t.s.readPool.Reset()
	}
	t.pg.conn.Release()
	t.pg = nil
}
