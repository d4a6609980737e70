// Package sqlstore implements incident.Store on SQLite (modernc.org/sqlite,
// the embedded default) and PostgreSQL (pgx), with embedded migrations and
// group commit: concurrent writers share one transaction and one fsync, each
// isolated by a savepoint, so that a webhook is answered only once its
// alerts are durable without paying one fsync per request.
package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/warroom/warroom/incident"
)

//go:embed migrations
var migrations embed.FS

// Drivers.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// maxBatch bounds how many writers share one transaction.
const maxBatch = 512

// postgresWriters is how many group-commit loops run on PostgreSQL, each
// on its own connection: the server commits them in parallel.
const postgresWriters = 4

// maxConflictRetries bounds how often a writer is retried after a
// serialization failure or deadlock on PostgreSQL.
const maxConflictRetries = 5

// Store is an incident.Store on a SQL database.
type Store struct {
	driver string
	write  *sql.DB // SQLite: one connection; PostgreSQL: the pool
	read   *sql.DB
	ckpt   *sql.DB  // SQLite: the connection that checkpoints the WAL
	lock   *os.File // SQLite on a file: held while this process owns it
	path   string   // SQLite on a file: the database file
	log    *slog.Logger
	now    func() time.Time
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
	// owner names this process in job leases.
	owner string

	// stmts are statements prepared on SQLite's one writer connection and
	// reused by every batch (parsing SQL is a good part of a small write's
	// cost there); unprepared lists those to prepare once the connection is
	// free. Only the writer goroutine touches either.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
	// openCache holds the open incident of each key across batches on
	// SQLite, where this process is the only writer; on PostgreSQL a
	// batch's own cache lives only as long as its transaction (and the
	// advisory locks that keep other replicas off its keys).
	openCache map[string]incident.Incident
	// pending holds the keys of coalesced jobs known to wait in the table
	// (SQLite only), so that the thousandth change of a storm skips the
	// insert that would only hit the unique key.
	pending map[string]bool
	// lastEventID is the last event ID handed out (SQLite only; 0 until
	// read from the table).
	lastEventID int64

	// writers are the group-commit loops, one channel each: one on SQLite,
	// several on PostgreSQL, where requests are routed by key.
	writers []*writerLoop
	next    atomic.Uint32 // round-robin for requests without a key
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once
}

var _ incident.Store = (*Store)(nil)

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
	fps map[string]*fingerprints
}

type fingerprints struct {
	version int64
	set     map[string]bool
}

// maxCachedIncidents bounds a writer's fingerprint cache; past it the
// cache starts again empty.
const maxCachedIncidents = 4096

// eventIDBlock is how many event IDs a PostgreSQL writer takes at once.
const eventIDBlock = 128

// eventID hands out the next event ID. On SQLite the one writer counts on
// from the largest ID in the table; IDs of rolled-back events are skipped.
// On PostgreSQL each writer takes blocks from the events sequence.
func (s *Store) eventID(t *txn) (int64, error) {
	if s.driver == SQLite {
		if s.lastEventID == 0 {
			if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&s.lastEventID); err != nil {
				return 0, err
			}
		}
		s.lastEventID++
		return s.lastEventID, nil
	}
	w := t.w
	if len(w.eventIDs) == 0 {
		rows, err := t.tx.QueryContext(t.ctx, `SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)`, eventIDBlock)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, err
			}
			w.eventIDs = append(w.eventIDs, id)
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if len(w.eventIDs) == 0 {
			return 0, errors.New("events sequence gave no IDs")
		}
	}
	id := w.eventIDs[0]
	w.eventIDs = w.eventIDs[1:]
	return id, nil
}

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
		timeout: opts.Timeout, walLimit: opts.WALLimit, probeEvery: opts.ProbeInterval}
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
		s.stmts, s.unprepared = map[string]*sql.Stmt{}, map[string]bool{}
		s.openCache = map[string]incident.Incident{}
		s.pending = map[string]bool{}
	case Postgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", redactErr(err))
		}
		// A stalled server must cost a writer at most the timeout, in a
		// statement as in a connect, unless the DSN says otherwise.
		if _, ok := cfg.RuntimeParams["statement_timeout"]; !ok {
			cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(s.timeout.Milliseconds(), 10)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = s.timeout
		}
		s.write = stdlib.OpenDB(*cfg)
		// The writers, the job worker and readers all keep their
		// connections: at database/sql's default of two idle, a storm
		// closes and reopens backends (a fork each) all the time.
		s.write.SetMaxOpenConns(8)
		s.write.SetMaxIdleConns(8)
		s.write.SetConnMaxIdleTime(5 * time.Minute)
		s.read = s.write
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
	if s.ckpt != nil {
		s.wg.Add(1)
		go s.checkpointer()
	}
	for range n {
		w := &writerLoop{reqs: make(chan *request, 4*maxBatch), fps: map[string]*fingerprints{}}
		s.writers = append(s.writers, w)
		s.wg.Add(1)
		go s.writer(w)
	}
	return s, nil
}

// sqliteDSN builds a modernc.org/sqlite DSN with the pragmas that make a
// commit durable (WAL with synchronous=FULL fsyncs every commit) and that
// let readers wait instead of failing while the writer works.
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

// checkpointInterval is how often the WAL is copied into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointer copies the WAL into the database file beside the writer.
// PASSIVE never blocks the writer, but it never shrinks the WAL either:
// the log starts again from its beginning only when a writer finds all
// of it copied and no reader in it, and during a storm the writer appends
// while the checkpoint copies, so the copy never catches up. Once the WAL
// has grown past the limit, the checkpointer asks the writer to finish
// the copy itself between two batches (see catchUp).
func (s *Store) checkpointer() {
	defer s.wg.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.checkpoint(); err != nil {
				s.log.Warn("wal checkpoint", "err", err)
			}
		}
	}
}

func (s *Store) checkpoint() error {
	var busy, logFrames, done int
	if err := s.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		return err
	}
	size, err := s.WALSize()
	if err == nil && size > s.walLimit {
		s.walOver.Store(true)
	}
	return err
}

// catchUp runs, on the writer goroutine between two batches, a PASSIVE
// checkpoint on the writer's own connection once the WAL has passed its
// limit. With the writer paused, the copy catches up with the log (the
// checkpointer has copied most of it already, so the pause is short), and
// the next batch's transaction starts the log again from the beginning
// and, at its commit, cuts the file to journal_size_limit. Unlike a
// RESTART or TRUNCATE checkpoint from another connection, this never
// holds the write lock while it waits for readers: a reader still in the
// log merely puts the restart off to a later batch.
func (s *Store) catchUp() {
	if s.ckpt == nil || !s.walOver.CompareAndSwap(true, false) {
		return
	}
	var busy, logFrames, done int
	if err := s.write.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		s.log.Warn("wal checkpoint", "err", err)
	}
}

// WALSize returns the size in bytes of the SQLite write-ahead log, 0 for
// PostgreSQL, an in-memory database or no WAL file.
func (s *Store) WALSize() (int64, error) {
	if s.path == "" {
		return 0, nil
	}
	fi, err := os.Stat(s.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Driver returns the store's driver name.
func (s *Store) Driver() string { return s.driver }

// Migrate applies the embedded migrations that the database lacks.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	dir := "migrations/" + s.driver
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlstore: migration %s: name must start with a number", e.Name())
		}
		body, err := migrations.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		if err := s.applyMigration(ctx, v, string(body)); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", e.Name(), err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, version int, body string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if s.driver == Postgres {
		// Replicas starting together must not apply a migration twice.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7325001)`); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(body, ";\n") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

func stripComments(stmt string) string {
	var b strings.Builder
	for _, line := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// rebind turns ? placeholders into PostgreSQL's $n.
func (s *Store) rebind(q string) string {
	if s.driver != Postgres {
		return q
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
	return b.String()
}

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
func (s *Store) committed(err error) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
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
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
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
			s.committed(ctx.Err())
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
	err = errors.Join(err, s.write.Close())
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
	return err
}

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

func (s *Store) route(key string) *writerLoop {
	if len(s.writers) == 1 {
		return s.writers[0]
	}
	if key == "" {
		return s.writers[int(s.next.Add(1))%len(s.writers)]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return s.writers[int(h.Sum32()%uint32(len(s.writers)))]
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
	if s.stmts != nil {
		defer s.prepare()
	}
	// One deadline for the whole batch, both passes: a caller whose
	// request runs waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	failed, ferr, err := s.runTx(ctx, w, live, nil)
	switch {
	case err != nil && classify(err) != classData:
		s.failAll(live, err)
		return
	case err == nil && failed < 0:
		s.committed(nil)
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
	if failed, ferr, err := s.runTx(ctx, w, rest, results); err != nil || failed >= 0 {
		s.failAll(rest, cmp.Or(err, ferr))
		return
	}
	s.committed(nil)
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
func (s *Store) runTx(ctx context.Context, w *writerLoop, reqs []*request, results []error) (failed int, ferr, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return -1, nil, err
	}
	t := &txn{s: s, w: w, tx: tx, ctx: ctx, open: s.openCache, dirty: map[string]incident.Incident{}}
	if t.open == nil {
		t.open = map[string]incident.Incident{}
	}
	if s.stmts != nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	abort := func(err error) (int, error, error) {
		_ = tx.Rollback()
		s.forgetAll(w)
		return -1, nil, err
	}
	if s.driver == Postgres {
		keys := make([]string, 0, len(reqs))
		for _, r := range reqs { // sorted by key
			if strings.IndexByte(r.key, 0) >= 0 {
				continue // PostgreSQL refuses it; its writer fails alone on its first use of it
			}
			if r.key != "" && (len(keys) == 0 || keys[len(keys)-1] != r.key) {
				keys = append(keys, r.key)
			}
		}
		if err := t.lockKeys(keys); err != nil {
			return abort(err)
		}
	}
	savepoints := results != nil
	for i, r := range reqs {
		t.touched, t.touchedJobs, t.touchedFPs = t.touched[:0], t.touchedJobs[:0], t.touchedFPs[:0]
		if savepoints {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				return abort(err)
			}
		}
		ferr := r.fn(t)
		if ferr == nil && savepoints {
			// This writer's rows go in inside its own savepoint, so that
			// rolling it back undoes them, and a row the database refuses
			// is known to be this writer's.
			ferr = t.flush()
		}
		if ferr != nil && (!savepoints || classify(ferr) == classFault) {
			_ = tx.Rollback()
			s.forgetAll(w) // the caches may hold writes of the batch, all undone
			return i, ferr, nil
		}
		if ferr != nil {
			t.forgetTouched() // the caches may hold the undone writer's changes
			t.discard()
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				return abort(err)
			}
			results[i] = ferr
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				return abort(err)
			}
		}
	}
	if err := t.flush(); err != nil {
		return abort(err)
	}
	if err := tx.Commit(); err != nil {
		s.forgetAll(w)
		return -1, nil, err
	}
	return -1, nil, nil
}

// forgetAll empties the writer's caches after a rollback.
func (s *Store) forgetAll(w *writerLoop) {
	clear(s.openCache)
	clear(s.pending)
	clear(w.fps)
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
		s.committed(err)
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

// errClass says what an error from a writer's transaction means.
type errClass int

const (
	// classOwn is the writer's own error (a state conflict, a missing
	// incident, its own failure): it gets it unchanged.
	classOwn errClass = iota
	// classConflict may succeed if run again (see isConflict).
	classConflict
	// classData is data the database refused: the writer's fault.
	classData
	// classFault is the database failing: a full disk, an I/O error, a
	// read-only file, a lost or stalled connection, the timeout.
	classFault
)

func classify(err error) errClass {
	if err == nil {
		return classOwn
	}
	if isConflict(err) {
		return classConflict
	}
	var nul *nulError
	if errors.As(err, &nul) {
		return classData
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 22 is data exception, 23 integrity constraint violation;
		// everything else the server says is its own trouble (out of
		// disk, shutting down, statement timeout, read-only).
		if strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23") {
			return classData
		}
		return classFault
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return classData
		}
		return classFault
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &ne) || errors.As(err, new(*pgconn.ConnectError)) || pgconn.Timeout(err) {
		return classFault
	}
	return classOwn
}

// nulError is a string the store will not write because it holds a NUL
// character, which PostgreSQL cannot store in text: SQLite refuses it
// too, so that both stores behave alike.
type nulError struct{}

func (*nulError) Error() string { return "a value contains a NUL character" }

// checkArgs refuses arguments holding a NUL character.
func checkArgs(args []any) error {
	for _, a := range args {
		if v, ok := a.(string); ok && strings.IndexByte(v, 0) >= 0 {
			return &nulError{}
		}
	}
	return nil
}

// isConflict reports a PostgreSQL serialization failure or deadlock, two
// replicas opening the same incident at once, or a busy SQLite database:
// the writer may succeed if run again.
func isConflict(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01" ||
			pg.Code == "23505" && pg.ConstraintName == "incidents_open_key"
	}
	return err != nil && strings.Contains(err.Error(), "SQLITE_BUSY")
}

// redactErr drops connection details (which can hold a password) from
// driver errors before they are logged.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "postgres://"); i >= 0 {
		msg = msg[:i] + "postgres://<redacted>"
	}
	return errors.New(msg)
}
