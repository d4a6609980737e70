package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/incident"
)

// warRoomLock is the PostgreSQL advisory lock that serializes counting
// and starting war rooms across replicas (the migrations use 7325001).
const warRoomLock = 7325002

// keepWarRoomStarts is how long a war room's start stays in the table:
// the cap counts one minute; the rest is for whoever looks.
const keepWarRoomStarts = 24 * time.Hour

// lockWarRooms makes, on PostgreSQL, every other transaction that counts
// or starts war rooms wait until this one ends. Under READ COMMITTED each
// statement after the wait sees what the lock's last holder committed.
// SQLite has one writer, which is the same guarantee.
func (t *txn) lockWarRooms() error {
	if t.s.driver != Postgres || t.warRoomsLocked {
		return nil
	}
	// It waits in the pipe: the count or insert that follows it goes in
	// the same round trip, after it. Held until the transaction ends.
	t.warRoomsLocked = true
	return t.write(`SELECT pg_advisory_xact_lock(?)`, warRoomLock)
}

// WarRoomsSince implements incident.Tx.
func (t *txn) WarRoomsSince(since time.Time) (int, error) {
	if err := t.lockWarRooms(); err != nil {
		return 0, fmt.Errorf("count war rooms: lock: %w", err)
	}
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM war_room_starts WHERE at >= ?`, nanos(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count war rooms: %w", err)
	}
	return n, nil
}

// NoteWarRoom implements incident.Tx. It writes ahead of the batch's
// flush (on PostgreSQL, with the next round trip), so that a count later
// in the same transaction sees it.
func (t *txn) NoteWarRoom(inc *incident.Incident, at time.Time) error {
	if err := t.lockWarRooms(); err != nil {
		return fmt.Errorf("note war room %s: lock: %w", inc.ID, err)
	}
	storm := 0
	if inc.IsStorm() {
		storm = 1
	}
	if err := t.write(`INSERT INTO war_room_starts (incident_id, at, storm) VALUES (?, ?, ?) ON CONFLICT (incident_id) DO NOTHING`,
		inc.ID, nanos(at), storm); err != nil {
		return fmt.Errorf("note war room %s: %w", inc.ID, err)
	}
	if err := t.write(`DELETE FROM war_room_starts WHERE at < ?`, nanos(at.Add(-keepWarRoomStarts))); err != nil {
		return fmt.Errorf("note war room %s: prune: %w", inc.ID, err)
	}
	return nil
}

// WarRoomStarts implements incident.Tx.
func (t *txn) WarRoomStarts(since time.Time) ([]string, error) {
	if err := t.lockWarRooms(); err != nil {
		return nil, fmt.Errorf("war rooms started: lock: %w", err)
	}
	ids, err := t.ids(`SELECT incident_id FROM war_room_starts WHERE at >= ? AND storm = 0 ORDER BY at, incident_id`, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("war rooms started: %w", err)
	}
	return ids, nil
}

// ids runs a query of one text column and returns its values.
func (t *txn) ids(q string, args ...any) ([]string, error) {
	var out []string
	err := t.query(q, args, func(r scanner) error {
		var id string
		if err := r.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	})
	return out, err
}

// OpenStorm implements incident.Tx. The storm may have been opened or
// resolved earlier in this transaction: the buffered incidents go to the
// database first.
func (t *txn) OpenStorm() (*incident.Incident, error) {
	if err := t.lockWarRooms(); err != nil {
		return nil, fmt.Errorf("open storm: lock: %w", err)
	}
	if err := t.flushIncidents(); err != nil {
		return nil, err
	}
	inc, err := t.oneIncident(`WHERE kind = 'storm' AND state <> 'resolved' ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("open storm: %w", err)
	}
	return inc, nil
}

// StormChildren implements incident.Tx.
func (t *txn) StormChildren(stormID string) ([]string, int, error) {
	if err := t.lockWarRooms(); err != nil {
		return nil, 0, fmt.Errorf("children of %s: lock: %w", stormID, err)
	}
	if err := t.flushIncidents(); err != nil {
		return nil, 0, err
	}
	var total int
	if err := t.queryRow(`SELECT COUNT(*) FROM incidents WHERE storm = ? AND storm <> ''`, stormID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("children of %s: %w", stormID, err)
	}
	open, err := t.ids(`SELECT id FROM incidents WHERE storm = ? AND storm <> '' AND state <> 'resolved' ORDER BY seq`, stormID)
	if err != nil {
		return nil, 0, fmt.Errorf("children of %s: %w", stormID, err)
	}
	return open, total, nil
}

// TimelinePage implements incident.Store. The timeline's order is (at,
// id), so the page goes on after the cursor event's place in it; limit 0
// means the rest of the timeline.
func (s *Store) TimelinePage(ctx context.Context, incidentID string, after int64, limit int) ([]incident.Event, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	var at int64
	if after > 0 {
		err := s.read.QueryRowContext(ctx, s.rebind(`SELECT at FROM events WHERE id = ? AND incident_id = ?`), after, incidentID).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, incident.Errorf(incident.EINVALID, "event %d is not on the timeline of %s", after, incidentID)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: timeline page: %w", err)
		}
	}
	q := `SELECT id, incident_id, at, kind, actor, text FROM events WHERE incident_id = ?`
	args := []any{incidentID}
	if after > 0 {
		q += ` AND (at > ? OR (at = ? AND id > ?))`
		args = append(args, at, at, after)
	}
	q += ` ORDER BY at, id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: timeline page: %w", err)
	}
	return scanEvents(rows)
}

// scanEvents reads the rows of a timeline query and closes them.
func scanEvents(rows *sql.Rows) ([]incident.Event, error) {
	defer rows.Close()
	out := []incident.Event{}
	for rows.Next() {
		var e incident.Event
		var at int64
		var kind string
		if err := rows.Scan(&e.ID, &e.IncidentID, &at, &kind, &e.Actor, &e.Text); err != nil {
			return nil, fmt.Errorf("sqlstore: timeline: %w", err)
		}
		e.At, e.Kind = fromNanos(at), incident.EventKind(kind)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: timeline: %w", err)
	}
	return out, nil
}
