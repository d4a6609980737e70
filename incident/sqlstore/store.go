// Package sqlstore implements incident.Store on SQLite (modernc.org/sqlite,
// the embedded default) and PostgreSQL (pgx), with embedded migrations and
// group commit: concurrent writers share one transaction and one fsync, each
// isolated by a savepoint, so that a webhook is answered only once its
// alerts are durable without paying one fsync per request.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warroom/warroom/incident"
)

// Drivers.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is an incident.Store on a SQL database.
type Store struct {
	driver string
	write  *sql.DB // SQLite: one connection; PostgreSQL: read's, for migrations
	read   *sql.DB
	ckpt   *sql.DB  // SQLite: the connection that checkpoints the WAL
	lock   *os.File // SQLite on a file: held while this process owns it
	path   string   // SQLite on a file: the database file
	log    *slog.Logger
	now    func() time.Time

	// PostgreSQL: the writers' pool of connections, used through pgx
	// itself (see pipe.go), and the readers' pool, used through
	// database/sql as read (see postgres.go).
	pool, readPool *pgxpool.Pool
	// rebound caches rebind's PostgreSQL texts.
	rebound sync.Map
	// roundTrips counts the writers' round trips to PostgreSQL.
	roundTrips atomic.Int64

	// timeout bounds a batch, a wait for one and, on PostgreSQL, a
	// statement (see Options.Timeout).
	timeout time.Duration
	// walLimit is the WAL size past which the checkpointer truncates it.
	walLimit int64
	// probeEvery is how long the writers may go without a commit attempt
	// before Ping makes one.
	probeEvery time.Duration
	health     health
	// walOver is set by the checkpointer when the WAL has passed walLimit.
	walOver atomic.Bool
	// lastCheckpoint is when the WAL was last checkpointed (Unix nanos).
	lastCheckpoint atomic.Int64
	// owner names this process in job leases.
	owner string
	// slow is the threshold of the slow-batch log, 0 when it is off (see
	// trace.go).
	slow time.Duration

	// The memories kept from one batch to the next (see cache.go); only
	// the writer goroutine touches them.
	//
	// stmts are statements prepared on SQLite's one writer connection and
	// reused by every batch (parsing SQL is a good part of a small write's
	// cost there); unprepared lists those to prepare once the connection is
	// free. nil: statements are not kept.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
	// openCache holds the open incident of each key across batches on
	// SQLite, where this process is the only writer; on PostgreSQL a
	// batch's own cache lives only as long as its transaction (and the
	// advisory locks that keep other replicas off its keys).
	openCache *openIncidents
	// pending holds the keys of coalesced jobs known to wait in the table
	// (SQLite only), so that the thousandth change of a storm skips the
	// insert that would only hit the unique key.
	pending *memo[string, bool]
	// cache is false under Options.NoCache.
	cache bool
	// lastEventID is the last event ID handed out (SQLite only; 0 until
	// read from the table).
	lastEventID int64

	// writers are the group-commit loops, one channel each: one on SQLite,
	// several on PostgreSQL, where requests are routed by key to those in
	// use (see adapt).
	writers []*writerLoop
	next    atomic.Uint32 // round-robin for requests without a key
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once

	// active is how many writers take new requests, and lastFull when a
	// batch last showed them busy (PostgreSQL; see adapt).
	active   atomic.Int32
	lastFull atomic.Int64
}

var _ incident.Store = (*Store)(nil)

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// NoMigrate skips applying migrations (for read-only tools).
	NoMigrate bool
	// Timeout bounds every write: a call to Update waits at most this long
	// for its batch (queueing included) and a batch runs at most this long;
	// on PostgreSQL it is also each statement's statement_timeout and the
	// connect timeout, unless the DSN sets them. Zero: DefaultTimeout.
	Timeout time.Duration
	// WALLimit bounds the SQLite WAL file: past it, the checkpointer
	// truncates the WAL. Zero: DefaultWALLimit.
	WALLimit int64
	// ProbeInterval is how long the writers may go without a commit before
	// Ping proves them with a tiny write of its own. Zero:
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// Now is the clock that readiness reads; nil: time.Now.
	Now func() time.Time
	// NoCache keeps nothing from one batch to the next (see cache.go):
	// every read goes to the database. Slower, and always correct; the
	// store suite runs both ways.
	NoCache bool
}

// DefaultTimeout bounds a write when Options.Timeout is zero: well under
// Alertmanager's webhook timeout, so that a sender stuck on a stalled
// store gets a 503 to retry on rather than silence.
const DefaultTimeout = 5 * time.Second

// DefaultWALLimit is the WAL size past which the checkpointer truncates
// it. Passive checkpoints copy the WAL into the database but only a
// writer restarting the log reuses it, and under a steady stream of
// writes that never happens: a storm grew it to gigabytes for a database
// of megabytes.
const DefaultWALLimit = 64 << 20

// DefaultProbeInterval is how long the writers may be idle before Ping
// probes them with a write.
const DefaultProbeInterval = 5 * time.Second

// Open opens the store and applies pending migrations. For SQLite, dsn is a
// file path (or a file: URI); for PostgreSQL, a postgres:// URL or key=value DSN.
func Open(ctx context.Context, driver, dsn string, opts Options) (*Store, error) {
	s := &Store{driver: driver, log: opts.Logger, stop: make(chan struct{}), now: opts.Now,
		timeout: opts.Timeout, walLimit: opts.WALLimit, probeEvery: opts.ProbeInterval, cache: !opts.NoCache,
		// Across batches only on SQLite (the one writer); see below.
		openCache: newMemo[string, incident.Incident](false, 0), pending: newMemo[string, bool](false, 0), slow: slowBatch()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.walLimit <= 0 {
		s.walLimit = DefaultWALLimit
	}
	if s.probeEvery <= 0 {
		s.probeEvery = DefaultProbeInterval
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.owner = hex.EncodeToString(b[:])

	var err error
	switch driver {
	case SQLite:
		if p := sqlitePath(dsn); p != "" {
			if s.lock, err = lockFile(p); err != nil {
				return nil, err
			}
			s.path = p
		}
		if s.write, err = sql.Open("sqlite", sqliteDSN(dsn, false, s.walLimit)); err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		// One writer connection: SQLite allows one writer at a time, and
		// the group-commit loop is that writer.
		s.write.SetMaxOpenConns(1)
		if s.read, err = sql.Open("sqlite", sqliteDSN(dsn, true, s.walLimit)); err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		s.read.SetMaxOpenConns(4)
		s.read.SetMaxIdleConns(4)
		if s.ckpt, err = sql.Open("sqlite", sqliteDSN(dsn, false, s.walLimit)); err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		s.ckpt.SetMaxOpenConns(1)
		if s.cache {
			s.stmts, s.unprepared = map[string]*sql.Stmt{}, map[string]bool{}
		}
		s.openCache = newMemo[string, incident.Incident](s.cache, 0)
		s.pending = newMemo[string, bool](s.cache, 0)
	case Postgres:
		if err := s.openPostgres(ctx, dsn); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want sqlite or postgres)", driver)
	}
	if err := s.write.PingContext(ctx); err != nil {
		_ = s.closeDBs() // the connect error is the one to report
		return nil, fmt.Errorf("sqlstore: connect %s: %w", driver, redactErr(err))
	}
	if !opts.NoMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = s.closeDBs() // the migration error is the one to report
			return nil, err
		}
	}
	n := 1 // SQLite has one writer connection
	if driver == Postgres {
		n = postgresWriters
	}
	s.active.Store(1)
	if s.ckpt != nil {
		s.wg.Add(1)
		go s.checkpointer()
	}
	for range n {
		w := &writerLoop{reqs: make(chan *request, 4*maxBatch), fps: newMemo[string, *fingerprints](s.cache, maxCachedIncidents)}
		s.writers = append(s.writers, w)
		s.wg.Add(1)
		go s.writer(w)
	}
	return s, nil
}

// sqlitePath returns the file behind a SQLite DSN, or "" for an in-memory
// database.
func sqlitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		if q, err := url.ParseQuery(p[i+1:]); err == nil && q.Get("mode") == "memory" {
			return ""
		}
		p = p[:i]
	}
	if p == "" || p == ":memory:" {
		return ""
	}
	return p
}

// sqliteDSN builds a modernc.org/sqlite DSN with the pragmas that make a
// commit durable (WAL with synchronous=FULL fsyncs every commit) and that
// let readers wait instead of failing while the writer works.
func sqliteDSN(path string, readOnly bool, walLimit int64) string {
	base := path
	if !strings.HasPrefix(base, "file:") {
		base = "file:" + path
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_txlock", "immediate")
		// The writer never checkpoints: copying the WAL into the database
		// (and fsyncing it) inside a commit is a latency spike for every
		// webhook in that batch. checkpointer does it beside the writer.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		// A batch's multi-row upserts keep statement journals; in memory
		// they cost no file writes (SQLite spills them to a temporary file
		// past 64 KiB otherwise).
		q.Add("_pragma", "temp_store(MEMORY)")
		// A WAL that the writer starts again (after a complete checkpoint,
		// see catchUp) is cut back to this size rather than kept at its
		// peak.
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walLimit))
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

// Driver returns the store's driver name.
func (s *Store) Driver() string { return s.driver }

// rebind turns ? placeholders into PostgreSQL's $n. The texts are few
// (the store's own statements), so each is rebound once.
func (s *Store) rebind(q string) string {
	if s.driver != Postgres {
		return q
	}
	if r, ok := s.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(q, b.String())
	return b.String()
}

// Close stops the writer after the requests already queued and closes the database.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.stop)
		s.wg.Wait()
	})
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var err error
	for _, st := range s.stmts {
		err = errors.Join(err, st.Close())
	}
	if s.write != nil {
		err = errors.Join(err, s.write.Close())
	}
	if s.ckpt != nil {
		err = errors.Join(err, s.ckpt.Close())
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close()) // releases the flock
		s.lock = nil
	}
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.pool != nil {
		s.pool.Close()
		s.readPool.Close()
	}
	return err
}
