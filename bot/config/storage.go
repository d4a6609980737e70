package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
)

// Storage selects the store.
type Storage struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver" json:"driver"`
	// DSN is a file path for sqlite (default warroom.db) or a postgres://
	// URL. Its password, if any, is redacted wherever the config is shown;
	// prefer PGPASSWORD or PGPASSFILE.
	DSN string `yaml:"dsn" json:"dsn"`
	// Timeout bounds every write and read of the store (and, on
	// PostgreSQL, each statement and connect): past it the request is
	// answered 503. Default 5s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// WALLimitBytes bounds SQLite's write-ahead log: past it, the log is
	// checkpointed and cut back. Default 64 MiB; keep it well under the
	// volume's free space.
	WALLimitBytes int64 `yaml:"wal_limit_bytes" json:"wal_limit_bytes"`
}

func (s *Storage) validate(bad func(string, ...any)) {
	switch s.Driver {
	case "sqlite", "postgres":
	default:
		bad("storage.driver: unknown driver %q (valid: sqlite, postgres)", s.Driver)
	}
	if s.DSN == "" {
		bad("storage.dsn: required for %s", s.Driver)
	}
	if s.Timeout < 0 {
		bad("storage.timeout: %s is negative", s.Timeout)
	}
	if s.WALLimitBytes < 0 {
		bad("storage.wal_limit_bytes: %d is negative", s.WALLimitBytes)
	}
}

type storage Storage // without the methods, for Format and the marshalers

// Format implements fmt.Formatter: the DSN's password is redacted.
func (s Storage) Format(f fmt.State, verb rune) {
	s.DSN = redactDSN(s.DSN)
	fmt.Fprintf(f, fmt.FormatString(f, verb), storage(s))
}

// MarshalJSON writes the storage config with the DSN's password redacted.
func (s Storage) MarshalJSON() ([]byte, error) {
	s.DSN = redactDSN(s.DSN)
	return json.Marshal(storage(s))
}

// MarshalYAML writes the storage config with the DSN's password redacted.
func (s Storage) MarshalYAML() (any, error) {
	s.DSN = redactDSN(s.DSN)
	return storage(s), nil
}

var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// redactDSN hides the password of a postgres URL or key=value DSN.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			dsn = u.Redacted()
		}
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}"+redactedSecret)
}
