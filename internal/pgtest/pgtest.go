// Package pgtest gives tests a fresh PostgreSQL schema of their own.
//
// PostgreSQL is reached at WARROOM_TEST_POSTGRES (default: the local test
// database). When it is unreachable the test is skipped, unless
// WARROOM_REQUIRE_POSTGRES=1 (set by .ci/run), which makes it a failure.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// DSN is the database tests use.
func DSN() string {
	if dsn := os.Getenv("WARROOM_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Fresh returns a DSN whose search_path is a new, empty schema, dropped
// when the test ends, so that tests never see each other's rows.
func Fresh(t testing.TB) string {
	t.Helper()
	db, err := sql.Open("pgx", DSN())
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		if os.Getenv("WARROOM_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required (WARROOM_REQUIRE_POSTGRES=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set WARROOM_REQUIRE_POSTGRES=1 to fail instead", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		_ = db.Close()
	})
	sep := "?"
	if strings.Contains(DSN(), "?") {
		sep = "&"
	}
	return DSN() + sep + "search_path=" + schema
}
