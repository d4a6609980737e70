package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

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

// checkArgs refuses arguments holding a NUL character, in a string or
// in an array of them (PostgreSQL's flush, see flush_pg.go).
func checkArgs(args []any) error {
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				return &nulError{}
			}
		case []string:
			for _, e := range v {
				if strings.IndexByte(e, 0) >= 0 {
					return &nulError{}
				}
			}
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
