package sqlstore

import (
	"context"
	"fmt"

	"github.com/warroom/warroom/incident"
)

// Queued returns how many requests wait for the writer that key routes to.
func Queued(s *Store, key string) int { return len(s.route(key).reqs) }

// SetMaxPages sets max_page_count on SQLite's writer connection: past it,
// a write that needs a new page fails with SQLITE_FULL, as on a full disk.
func SetMaxPages(s *Store, n int) error {
	return s.Update(context.Background(), "", func(tx incident.Tx) error {
		t := tx.(*txn)
		var got int
		return t.tx.QueryRowContext(t.ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, n)).Scan(&got)
	})
}
