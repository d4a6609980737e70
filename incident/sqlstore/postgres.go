package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresWriters is how many group-commit loops may run on PostgreSQL,
// each on a connection of its own, the server committing them in
// parallel; how many of them take requests follows the load (see adapt).
// Four: every commit waits for the server's one WAL flush, so more
// writers add contention sooner than throughput.
const postgresWriters = 4

// growAt is the batch size at which another writer starts taking
// requests, and shrinkAfter how long batches must stay under half of it
// before the last writer in use stops. At 64 webhooks in flight on two
// cores, growing at 32 split the batches and cost a fifth more CPU per
// webhook than growing at 64.
const (
	growAt      = 64
	shrinkAfter = time.Second
)

// adapt sizes the group commit by what is waiting. A batch's fixed costs
// (two round trips and a WAL flush) are the same for one request or a
// hundred, so while the batches are small, one writer takes every request
// and one transaction pays them once: more writers would split what waits
// into more, smaller commits, each paying them again, contending for the
// WAL lock and for the server's cores (measured on two cores at 16
// webhooks in flight: four writers cost twice the CPU per webhook of one,
// in warroom and in PostgreSQL, with three times its worst latency). Once
// a batch reaches growAt requests, the work that grows with its size
// dominates and parallel transactions shorten the wait: another writer
// joins, up to postgresWriters. Requests go to a writer by key, so that a
// key's requests share a batch and batches seldom wait for each other's
// locks; when the count changes, a key may have requests in two writers
// for a moment, which the incidents' row locks keep in order.
func (s *Store) adapt(n int) {
	if len(s.writers) == 1 {
		return
	}
	now := time.Now().UnixNano()
	switch a := s.active.Load(); {
	case n >= growAt:
		s.lastFull.Store(now)
		if a < int32(len(s.writers)) {
			s.active.CompareAndSwap(a, a+1)
		}
	case n >= growAt/2:
		s.lastFull.Store(now)
	case a > 1 && now-s.lastFull.Load() > int64(shrinkAfter):
		if s.active.CompareAndSwap(a, a-1) {
			s.lastFull.Store(now) // one step per shrinkAfter
		}
	}
}

// postgresReaders bounds the connections of reads (the API, the job
// steps, readiness): as many as jobs run at once by default. They are a
// pool apart from the writers', so that a burst of reads never makes a
// webhook's commit wait for a connection.
//
// Reads go through database/sql over this pool (stdlib.OpenDBFromPool),
// not pgx's own API: read.go is one code path for both stores, which the
// store suite runs on both, and a read is one statement and one round
// trip either way; they are off the webhook's path (a storm's reads are
// the job steps', a few percent of the server's work).
const postgresReaders = 8

// openPostgres opens the writers' pool and the readers' pool on dsn.
func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("sqlstore: open postgres: %w", redactErr(err))
	}
	cc := cfg.ConnConfig
	// A stalled server must cost a writer at most the timeout, in a
	// statement as in a connect, unless the DSN says otherwise.
	if _, ok := cc.RuntimeParams["statement_timeout"]; !ok {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(s.timeout.Milliseconds(), 10)
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = s.timeout
	}
	// Connections are kept: a new one is a fork on the server.
	cfg.MaxConnIdleTime = 5 * time.Minute
	readCfg := cfg.Copy()
	// pg_stat_activity tells the two pools apart, unless the DSN names
	// the application.
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "warroom writer"
		readCfg.ConnConfig.RuntimeParams["application_name"] = "warroom reader"
	}

	cfg.MaxConns, cfg.MinConns = postgresWriters, postgresWriters
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("sqlstore: open postgres: %w", redactErr(err))
	}
	readCfg.MaxConns = postgresReaders
	readPool, err := pgxpool.NewWithConfig(ctx, readCfg)
	if err != nil {
		s.pool.Close()
		return fmt.Errorf("sqlstore: open postgres: %w", redactErr(err))
	}
	s.readPool = readPool
	s.read = stdlib.OpenDBFromPool(readPool)
	s.write = s.read // for migrations
	return nil
}
