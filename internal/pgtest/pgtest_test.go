package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
)

func TestDSN(t *testing.T) {
	t.Setenv("WARROOM_TEST_POSTGRES", "")
	if got := DSN(); got != "postgres://postgres@127.0.0.1:5432/warroom_test?sslmode=disable" {
		t.Errorf("default DSN %q, want the database warroom_test", got)
	}
	t.Setenv("WARROOM_TEST_POSTGRES", "postgres://ci@db:5432/ci_db")
	if got := DSN(); got != "postgres://ci@db:5432/ci_db" {
		t.Errorf("DSN %q, want WARROOM_TEST_POSTGRES", got)
	}
}

// adminDB opens the local server's maintenance database, or skips (fails
// with WARROOM_REQUIRE_POSTGRES=1) without a server.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		if os.Getenv("WARROOM_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// A missing database is created, by one of several test binaries that
// find it missing at once; one that exists is left as it is.
func TestCreateDatabase(t *testing.T) {
	db := adminDB(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "warroom_pgtest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { _, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name) })
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = createDatabase(admin, name) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
	}
	other, err := sql.Open("pgx", server+name+"?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if _, err := other.Exec(`CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatalf("the new database: %v", err)
	}
	if err := createDatabase(admin, name); err != nil {
		t.Fatalf("create an existing database: %v", err)
	}
	var n int
	if err := other.QueryRow(`SELECT n FROM kept`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("the existing database was not left alone: %d %v", n, err)
	}
}

// By default the tests' schemas live in warroom_test, not in a database
// the server's other users share.
func TestFreshUsesItsOwnDatabase(t *testing.T) {
	if os.Getenv("WARROOM_TEST_POSTGRES") != "" {
		t.Skip("WARROOM_TEST_POSTGRES names the database")
	}
	adminDB(t)
	db, err := sql.Open("pgx", Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var name, schema string
	if err := db.QueryRow(`SELECT current_database(), current_schema()`).Scan(&name, &schema); err != nil {
		t.Fatal(err)
	}
	if name != Database || !strings.HasPrefix(schema, "t_") {
		t.Errorf("database %q schema %q, want %q and a fresh t_ schema", name, schema, Database)
	}
}
