// Package storetest runs tests on both stores and makes real commits fail.
//
// Backends lists SQLite (a file in the test's temporary folder) and
// PostgreSQL (a fresh schema, see internal/pgtest). FailCommits installs, in
// the database itself, a constraint that is checked only at COMMIT and
// fails while a switch is on: the store's transaction runs every statement
// and then the commit fails, as it does on a full disk or a lost
// connection, which a closed store or a fake cannot show.
package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/pgtest"
)

// suiteTimeout bounds a write of the suite's stores (sqlstore.Options.Timeout).
const suiteTimeout = 30 * time.Second

// Backend is one store driver and how a test gets a database of its own.
type Backend struct {
	Driver string
	DSN    func(t testing.TB) string
	// NoCache opens the store with its memories off
	// (sqlstore.Options.NoCache).
	NoCache bool
}

// Name names the backend in a subtest: the driver, and "nocache" when the
// store's memories are off.
func (b Backend) Name() string {
	if b.NoCache {
		return b.Driver + "/nocache"
	}
	return b.Driver
}

func sqliteFile(t testing.TB) string { return filepath.Join(t.TempDir(), "warroom.db") }

// Backends are the drivers the tests run on, as the store runs in
// production (its memories on).
var Backends = []Backend{
	{Driver: sqlstore.SQLite, DSN: sqliteFile},
	{Driver: sqlstore.Postgres, DSN: pgtest.Fresh},
}

// Uncached are Backends with the store's memories off: the store suite runs
// on both, so that a memory can neither hide a bug of the SQL behind it nor
// be needed for a result to be right.
var Uncached = []Backend{
	{Driver: sqlstore.SQLite, DSN: sqliteFile, NoCache: true},
	{Driver: sqlstore.Postgres, DSN: pgtest.Fresh, NoCache: true},
}

// Open opens the store of dsn and closes it when the test ends.
func (b Backend) Open(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	// The suite's tests run in parallel, with the race detector, beside
	// other packages: a batch may wait its turn for seconds on a loaded
	// machine, which is not what they test. The tests of the timeout open
	// their stores with one of their own.
	s, err := sqlstore.Open(context.Background(), b.Driver, dsn, sqlstore.Options{NoCache: b.NoCache, Timeout: suiteTimeout})
	if err != nil {
		t.Fatalf("open %s: %v", b.Driver, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// CommitFault switches failing commits on and off.
type CommitFault struct {
	db *sql.DB
}

// On makes every commit that changed the table fail from now on.
func (f *CommitFault) On(t testing.TB) {
	t.Helper()
	if _, err := f.db.Exec(`INSERT INTO fault_on (x) VALUES (1)`); err != nil {
		t.Fatalf("switch commit fault on: %v", err)
	}
}

// Off lets commits succeed again.
func (f *CommitFault) Off(t testing.TB) {
	t.Helper()
	if _, err := f.db.Exec(`DELETE FROM fault_on`); err != nil {
		t.Fatalf("switch commit fault off: %v", err)
	}
}

// FailCommits prepares the database of an open store so that, while the
// fault is on, a transaction that inserts into or updates table (jobs,
// incidents, alerts…) fails at COMMIT: on PostgreSQL a deferred constraint
// trigger raises, on SQLite a deferred foreign key is left dangling. The
// fault starts off.
func FailCommits(t testing.TB, driver, dsn, table string) *CommitFault {
	t.Helper()
	var db *sql.DB
	var err error
	var stmts []string
	switch driver {
	case sqlstore.SQLite:
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS fault_on (x INTEGER)`,
			`CREATE TABLE IF NOT EXISTS fault_parent (id INTEGER PRIMARY KEY)`,
			`CREATE TABLE IF NOT EXISTS fault_child (p INTEGER REFERENCES fault_parent (id) DEFERRABLE INITIALLY DEFERRED)`,
			`CREATE TRIGGER fault_ins_` + table + ` AFTER INSERT ON ` + table + ` WHEN EXISTS (SELECT 1 FROM fault_on)
				BEGIN INSERT INTO fault_child (p) VALUES (-1); END`,
			`CREATE TRIGGER fault_upd_` + table + ` AFTER UPDATE ON ` + table + ` WHEN EXISTS (SELECT 1 FROM fault_on)
				BEGIN INSERT INTO fault_child (p) VALUES (-1); END`,
		}
	case sqlstore.Postgres:
		db, err = sql.Open("pgx", dsn)
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS fault_on (x INT)`,
			`CREATE OR REPLACE FUNCTION fault_fail() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF EXISTS (SELECT 1 FROM fault_on) THEN RAISE EXCEPTION 'injected commit failure'; END IF;
					RETURN NULL;
				END $$`,
			`CREATE CONSTRAINT TRIGGER fault_` + table + ` AFTER INSERT OR UPDATE ON ` + table + `
				DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_fail()`,
		}
	default:
		t.Fatalf("FailCommits: unknown driver %q", driver)
	}
	if err != nil {
		t.Fatalf("FailCommits: open %s: %v", driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("FailCommits: %v", err)
		}
	}
	return &CommitFault{db: db}
}
