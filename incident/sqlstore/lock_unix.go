//go:build unix

package sqlstore

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock beside a SQLite database: one process
// owns the file (it hands out event IDs and rescues the jobs an earlier run
// left running), so a second warroom on the same file must fail at start,
// not misbehave later.
func lockFile(dbPath string) (*os.File, error) {
	f, err := os.OpenFile(dbPath+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", dbPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("sqlstore: %s is in use by another warroom process (%w); SQLite allows one, use PostgreSQL for replicas", dbPath, err)
	}
	return f, nil
}
