// Package pgtest gives tests a fresh PostgreSQL schema of their own.
//
// PostgreSQL is reached at WARROOM_TEST_POSTGRES, by default the database
// warroom_test on the local server, which is created when it is missing:
// the tests never write to a database that someone else uses (the server's
// "test" or "postgres"). When PostgreSQL is unreachable the test is
// skipped, unless WARROOM_REQUIRE_POSTGRES=1 (set by .ci/run), which makes
// it a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Database is the database the tests use on the local server unless
// WARROOM_TEST_POSTGRES names another.
const Database = "warroom_test"

// server is the local server; admin is its maintenance database, which
// every PostgreSQL server has, used only to create Database.
const (
	server = "postgres://postgres@127.0.0.1:5432/"
	admin  = server + "postgres?sslmode=disable"
)

// DSN is the database tests use.
func DSN() string {
	if dsn := os.Getenv("WARROOM_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return server + Database + "?sslmode=disable"
}

var (
	ensureOnce sync.Once
	ensureErr  error
)

// ensureDatabase creates the default database when it is missing, once
// per test binary. A database named by WARROOM_TEST_POSTGRES is the
// caller's: it is used as it is.
func ensureDatabase() error {
	if os.Getenv("WARROOM_TEST_POSTGRES") != "" {
		return nil
	}
	ensureOnce.Do(func() { ensureErr = createDatabase(admin, Database) })
	return ensureErr
}

// createDatabase creates name through the server of adminDSN unless it
// exists. Test binaries run in parallel, so another may create it first:
// that is success too.
func createDatabase(adminDSN, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+name)
	var pg *pgconn.PgError
	// 42P04 duplicate_database; 23505 when two CREATEs race on the catalog.
	if errors.As(err, &pg) && (pg.Code == "42P04" || pg.Code == "23505") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Fresh returns a DSN whose search_path is a new, empty schema, dropped
// when the test ends, so that tests never see each other's rows.
func Fresh(t testing.TB) string {
	t.Helper()
	err := ensureDatabase()
	var db *sql.DB
	if err == nil {
		db, err = sql.Open("pgx", DSN())
	}
	if err == nil {
		if err = db.Ping(); err != nil {
			_ = db.Close()
		}
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
