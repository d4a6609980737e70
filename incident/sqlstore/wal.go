package sqlstore

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// checkpointInterval is how often the WAL is copied into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointer copies the WAL into the database file beside the writer.
// PASSIVE never blocks the writer, but it never shrinks the WAL either:
// the log starts again from its beginning only when a writer finds all
// of it copied and no reader in it, and during a storm the writer appends
// while the checkpoint copies, so the copy never catches up. Once the WAL
// has grown past the limit, the checkpointer asks the writer to finish
// the copy itself between two batches (see catchUp).
func (s *Store) checkpointer() {
	defer s.wg.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.checkpoint(); err != nil {
				s.log.Warn("wal checkpoint", "err", err)
			}
		}
	}
}

func (s *Store) checkpoint() error {
	var busy, logFrames, done int
	if err := s.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		return err
	}
	size, err := s.WALSize()
	if err == nil && size > s.walLimit {
		s.walOver.Store(true)
	}
	return err
}

// catchUp runs, on the writer goroutine between two batches, a PASSIVE
// checkpoint on the writer's own connection once the WAL has passed its
// limit. With the writer paused, the copy catches up with the log (the
// checkpointer has copied most of it already, so the pause is short), and
// the next batch's transaction starts the log again from the beginning
// and, at its commit, cuts the file to journal_size_limit. Unlike a
// RESTART or TRUNCATE checkpoint from another connection, this never
// holds the write lock while it waits for readers: a reader still in the
// log merely puts the restart off to a later batch.
func (s *Store) catchUp() {
	if s.ckpt == nil || !s.walOver.CompareAndSwap(true, false) {
		return
	}
	var busy, logFrames, done int
	if err := s.write.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		s.log.Warn("wal checkpoint", "err", err)
	}
}

// WALSize returns the size in bytes of the SQLite write-ahead log, 0 for
// PostgreSQL, an in-memory database or no WAL file.
func (s *Store) WALSize() (int64, error) {
	if s.path == "" {
		return 0, nil
	}
	fi, err := os.Stat(s.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
