package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// Queued returns how many requests wait for the writer that key routes to.
func Queued(s *Store, key string) int { return len(s.route(key).reqs) }

// RoundTrips returns how many round trips the writers have made to
// PostgreSQL.
func RoundTrips(s *Store) int64 { return s.roundTrips.Load() }

// pageLimits holds, by database file, the max_page_count that every new
// writer connection to it gets (see LimitPages).
var pageLimits = struct {
	sync.Mutex
	byPath map[string]int
	hooked bool
}{byPath: map[string]int{}}

// LimitPages makes SQLite's writes to s need no more than n pages (the
// current size, if n is smaller), as on a full disk: a write that needs
// a new page fails with SQLITE_FULL, on every writer connection opened
// from now on, the store's fresh one after a failure included. n = 0
// lifts the limit and drops the current writer connection, without
// writing anything.
func LimitPages(s *Store, n int) error {
	pageLimits.Lock()
	if !pageLimits.hooked {
		pageLimits.hooked = true
		sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
			pageLimits.Lock()
			defer pageLimits.Unlock()
			for path, n := range pageLimits.byPath {
				if strings.Contains(dsn, path) && !strings.Contains(dsn, "query_only") {
					_, err := conn.ExecContext(context.Background(), fmt.Sprintf(`PRAGMA max_page_count = %d`, n), nil)
					return err
				}
			}
			return nil
		})
	}
	if n > 0 {
		pageLimits.byPath[s.path] = n
	} else {
		delete(pageLimits.byPath, s.path)
	}
	pageLimits.Unlock()
	conn, err := s.write.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	if n == 0 {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return nil
	}
	var got int
	return conn.QueryRowContext(context.Background(), fmt.Sprintf(`PRAGMA max_page_count = %d`, n)).Scan(&got)
}
