package sqlstore

import "github.com/warroom/warroom/incident"

// What the store remembers from one batch to the next, so that the hot path
// of an alert storm skips reads, and every rule for when a memory is dropped.
//
//   - Open incidents by key (SQLite only, where this process is the one
//     writer): a write that changes an incident puts its new version
//     (txn.remember); a resolved incident is dropped.
//   - The fingerprints of each incident's alerts, per writer loop: a new
//     alert is added (txn.learn). On PostgreSQL a set is trusted only while
//     the incident's row carries the version this loop last wrote
//     (txn.lockedVersion, txn.bumpVersion): another replica's write bumps it.
//   - The keys of coalesced jobs known to wait in the table (SQLite only):
//     put by Enqueue, dropped when a run of the job is claimed.
//   - SQLite's prepared statements on the one writer connection.
//   - PostgreSQL's prepared statements, in pgx's cache of each connection,
//     and the event IDs each writer took from the sequence ahead of use.
//     They hold no data, and stay under Options.NoCache.
//
// A writer whose savepoint is rolled back takes back what it put
// (txn.forgetTouched); a transaction that rolls back or fails to commit
// empties every memory (Store.forgetAll); so does the writer connection
// being dropped (Store.resetWriter). Dropping a memory is always correct,
// only slower: with Options.NoCache every memory stays empty, and the store
// suite runs both ways.

// memo is one such memory: a map that a disabled memo never fills, and that
// starts again empty when it reaches its bound. Only the writer goroutine
// that owns it touches it.
type memo[K comparable, V any] struct {
	m   map[K]V // nil: disabled
	max int     // 0: unbounded
}

func newMemo[K comparable, V any](on bool, bound int) *memo[K, V] {
	c := &memo[K, V]{max: bound}
	if on {
		c.m = map[K]V{}
	}
	return c
}

func (c *memo[K, V]) get(k K) (V, bool) {
	v, ok := c.m[k]
	return v, ok
}

func (c *memo[K, V]) put(k K, v V) {
	if c.m == nil {
		return
	}
	if c.max > 0 && len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
}

func (c *memo[K, V]) drop(k K) { delete(c.m, k) }

func (c *memo[K, V]) reset() { clear(c.m) }

// enabled reports whether the memo remembers anything.
func (c *memo[K, V]) enabled() bool { return c.m != nil }

// openIncidents remembers the open incident of each key.
type openIncidents = memo[string, incident.Incident]
