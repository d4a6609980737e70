package sqlstore

import "errors"

// eventIDBlock is how many event IDs a PostgreSQL writer takes at once.
const eventIDBlock = 128

// eventID hands out the next event ID. On SQLite the one writer counts on
// from the largest ID in the table; IDs of rolled-back events are skipped.
// On PostgreSQL each writer takes blocks from the events sequence.
func (s *Store) eventID(t *txn) (int64, error) {
	if s.driver == SQLite {
		if s.lastEventID == 0 {
			if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&s.lastEventID); err != nil {
				return 0, err
			}
		}
		s.lastEventID++
		return s.lastEventID, nil
	}
	w := t.w
	if len(w.eventIDs) == 0 {
		// Rarely: a batch takes IDs with its locks (beginPostgres).
		t.queueEventIDs(eventIDBlock)
		if err := t.pg.send(); err != nil {
			return 0, err
		}
		if len(w.eventIDs) == 0 {
			return 0, errors.New("events sequence gave no IDs")
		}
	}
	id := w.eventIDs[0]
	w.eventIDs = w.eventIDs[1:]
	return id, nil
}
