package sqlstore

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// checkpointInterval is how often the writer copies the WAL into the
// database between two batches while it is busy; idleCheckpoint is how
// often the checkpointer does it while the writer is not.
const (
	checkpointInterval = 100 * time.Millisecond
	idleCheckpoint     = 250 * time.Millisecond
)

// checkpointer watches the WAL's size and copies the WAL into the
// database while the writer is idle. While the writer is busy, the writer
// checkpoints itself between two batches (see catchUp): a checkpoint run
// beside the writer, from this connection, made every commit that
// overlapped it wait behind the database file's fsync on the same disk,
// and put a 10–20 ms stall into the webhooks four times a second
// (scripts/bench storm: p99 about 16 ms against 12 ms with the writer
// checkpointing itself, BENCHMARKS.md).
func (s *Store) checkpointer() {
	defer s.wg.Done()
	t := time.NewTicker(idleCheckpoint)
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
	size, err := s.WALSize()
	if err == nil && size > s.walLimit {
		s.walOver.Store(true)
	}
	if time.Since(time.Unix(0, s.lastCheckpoint.Load())) < idleCheckpoint {
		return err // the writer is busy and checkpoints itself
	}
	s.lastCheckpoint.Store(time.Now().UnixNano())
	var busy, logFrames, done int
	if cerr := s.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); cerr != nil {
		return cerr
	}
	return err
}

// catchUp runs on the writer goroutine between two batches: a PASSIVE
// checkpoint on the writer's own connection every checkpointInterval, and
// at once when the WAL has passed its limit. With the writer paused, the
// copy catches up with the log, and the next batch's transaction starts
// the log again from the beginning and, at its commit, cuts the file to
// journal_size_limit. Unlike a RESTART or TRUNCATE checkpoint from another
// connection, this never holds the write lock while it waits for readers:
// a reader still in the log merely puts the restart off to a later batch.
func (s *Store) catchUp() {
	if s.ckpt == nil {
		return
	}
	over := s.walOver.CompareAndSwap(true, false)
	if !over && time.Since(time.Unix(0, s.lastCheckpoint.Load())) < checkpointInterval {
		return
	}
	s.lastCheckpoint.Store(time.Now().UnixNano())
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
