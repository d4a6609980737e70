package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/warroom/warroom/incident"
)

// queueLockKeys queues the read and lock of the incidents of a batch's
// keys, one statement, where each writer would otherwise take a round
// trip (PostgreSQL): the open incident of each incident key (the
// webhooks'), and the incident of each key that is an incident's ID (the
// steps' and the responders'). Every batch of every replica takes them
// here, before any other lock, in the order of their IDs: a batch that
// locked an incident's job row first (a step finishing) and its incident
// row later, beside a batch that did the reverse (a webhook enqueueing
// the incident's next update), waited on each other until PostgreSQL's
// deadlock detection broke the cycle a second later (scripts/bench storm,
// 64 in flight).
func (t *txn) queueLockKeys(keys []string) {
	t.none = make(map[string]bool, len(keys))
	for _, k := range keys {
		t.none[k] = true
	}
	t.pg.queue(`SELECT `+incidentColumns+`, version FROM incidents
		WHERE (key = ANY($1) AND state <> 'resolved') OR id = ANY($1) ORDER BY id FOR UPDATE`, keys).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var version int64
			inc, err := scanIncident(rows, &version)
			if err != nil {
				return fmt.Errorf("lock incidents: %w", err)
			}
			if _, asked := t.none[inc.Key]; asked && inc.State.Open() {
				t.open.put(inc.Key, *inc)
				delete(t.none, inc.Key)
			}
			// A key that is this incident's ID (a step's, a responder's)
			// opens nothing: the batch need not take the war-room lock
			// for it. Taken, it held the incident's row waiting for that
			// lock while a webhook firing the incident's key again held
			// the lock and locked the row (LastResolved): a deadlock.
			delete(t.none, inc.ID)
			t.lockedVersion(inc.ID, version)
		}
		return rows.Err()
	})
}

func (t *txn) LockOpenIncident(key string) (*incident.Incident, error) {
	if inc, ok := t.open.get(key); ok {
		return &inc, nil // read (and locked) earlier in this transaction
	}
	if t.none[key] {
		// Nothing was open at the start of the batch, and whatever this
		// batch opened would be in t.open.
		return nil, nil
	}
	// The query looks at state: the database must hold the latest.
	if err := t.flushIncidents(); err != nil {
		return nil, err
	}
	inc, err := t.oneIncident(`WHERE key = ? AND state <> 'resolved'`+t.forUpdate(), key)
	if inc != nil && err == nil {
		t.remember(inc)
	}
	return inc, err
}

func (t *txn) LockIncident(id string) (*incident.Incident, error) {
	if inc, ok := t.dirty[id]; ok {
		return &inc, nil // read (and locked) earlier in this transaction
	}
	inc, err := t.oneIncident(`WHERE id = ?`+t.forUpdate(), id)
	if err == nil && inc == nil {
		return nil, incident.Errorf(incident.ENOTFOUND, "no incident %s", id)
	}
	return inc, err
}

func (t *txn) LastResolved(key string) (*incident.Incident, error) {
	if err := t.flushIncidents(); err != nil {
		return nil, err
	}
	return t.oneIncident(`WHERE key = ? AND state = 'resolved' ORDER BY resolved_at DESC LIMIT 1`+t.forUpdate(), key)
}

func (t *txn) IncidentByID(id string) (*incident.Incident, error) {
	if inc, ok := t.dirty[id]; ok {
		return &inc, nil
	}
	inc, err := t.oneIncident(`WHERE id = ?`, id)
	if err == nil && inc == nil {
		return nil, incident.Errorf(incident.ENOTFOUND, "no incident %s", id)
	}
	return inc, err
}

func (t *txn) oneIncident(where string, args ...any) (*incident.Incident, error) {
	var version int64
	inc, err := scanIncident(t.queryRow(`SELECT `+incidentColumns+`, version FROM incidents `+where, args...), &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load incident: %w", err)
	}
	if t.s.driver == Postgres && strings.HasSuffix(where, t.forUpdate()) {
		// Locked until commit: the version read is the version while
		// this transaction lasts.
		t.lockedVersion(inc.ID, version)
	}
	return inc, nil
}

// lockedVersion records the version of an incident this transaction has
// locked, and drops the writer's fingerprints of it if another writer has
// changed it since.
func (t *txn) lockedVersion(id string, version int64) {
	if t.versions == nil {
		t.versions = map[string]int64{}
	}
	t.versions[id] = version
	if c, _ := t.w.fps.get(id); c != nil && c.version != version {
		t.w.fps.drop(id)
	}
}

func (t *txn) InsertIncident(inc *incident.Incident) error {
	// The one-open-incident-per-key index must see the latest states.
	if err := t.flushIncidents(); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO incidents (`+incidentColumns+`) VALUES (`+placeholders(incidentColumnCount)+`)`, incidentValues(inc)...)
	if err != nil {
		return fmt.Errorf("insert incident %s: %w", inc.ID, err)
	}
	t.remember(inc)
	if t.s.driver == Postgres {
		t.lockedVersion(inc.ID, 0) // a new row is this transaction's alone
		// and has no alerts: its first needs no read to be known new.
		t.w.fps.put(inc.ID, &fingerprints{version: 0, set: map[string]bool{}})
	}
	return nil
}

// UpdateIncident buffers the incident's new version; flushIncidents writes
// it.
func (t *txn) UpdateIncident(inc *incident.Incident) error {
	if _, ok := t.dirty[inc.ID]; !ok {
		t.dirtyOrder = append(t.dirtyOrder, inc.ID)
		// Not dirty, an incident in t.open is as the database has it.
		if prev, ok := t.open.get(inc.Key); ok && prev.ID == inc.ID && t.pg == nil {
			if t.stored == nil {
				t.stored = map[string]incident.Incident{}
			}
			t.stored[inc.ID] = prev
		}
	}
	t.dirty[inc.ID] = *inc
	t.remember(inc)
	return nil
}

// flushIncidents writes the buffered incidents, the mutable columns only:
// naming the key, the sequence number or the opening time in the SET would
// make SQLite rewrite their index entries. Each write bumps the version.
func (t *txn) flushIncidents() error {
	if t.pg != nil {
		return t.flushIncidentsPostgres()
	}
	for _, id := range t.bumped {
		if _, ok := t.dirty[id]; ok {
			continue // the update below bumps it
		}
		if _, err := t.exec(`UPDATE incidents SET version = version + 1 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("update incident %s: %w", id, err)
		}
		t.bumpVersion(id)
	}
	t.bumped = t.bumped[:0]
	for _, id := range t.dirtyOrder {
		inc := t.dirty[id]
		warRoom := 0
		if inc.WarRoom {
			warRoom = 1
		}
		// Naming an indexed column in the SET makes SQLite rewrite its
		// index entries even when the value is the same: name state and
		// resolved_at (incidents_open_key, incidents_key_resolved) and the
		// channel (incidents_slack_channel) only when they may differ from
		// the row as stored. In a storm, most updates change the value and
		// the time only.
		q := `UPDATE incidents SET rule = ?, severity = ?, war_room = ?, title = ?, value = ?,
		peak_value = ?, threshold = ?, acknowledged_at = ?, mitigated_at = ?, updated_at = ?,
		commander = ?, slack_channel = ?, summary_ts = ?, jira_key = ?, suspect_deploy = ?,
		truncated_alerts = ?, last_error = ?, comms = ?, scribe = ?,
		announce_channel_id = ?, announce_ts = ?, reported_event = ?, evidence = ?, unit = ?, version = version + 1`
		args := []any{inc.Rule, string(inc.Severity), warRoom, inc.Title, inc.Value, inc.PeakValue, inc.Threshold,
			optNanos(inc.AcknowledgedAt), optNanos(inc.MitigatedAt), nanos(inc.UpdatedAt),
			inc.Commander, inc.SlackChannel, inc.SummaryTS, inc.JiraKey, inc.SuspectDeploy,
			inc.TruncatedAlerts, inc.LastError, inc.Comms, inc.Scribe, inc.AnnounceChannelID, inc.AnnounceTS, inc.ReportedEvent, evidenceJSON(inc.Evidence), string(inc.Unit)}
		stored, known := t.stored[id]
		if !known || stored.State != inc.State || stored.ResolvedAt != inc.ResolvedAt {
			q += `, state = ?, resolved_at = ?`
			args = append(args, string(inc.State), optNanos(inc.ResolvedAt))
		}
		if !known || stored.SlackChannelID != inc.SlackChannelID {
			q += `, slack_channel_id = ?`
			args = append(args, inc.SlackChannelID)
		}
		if !known || stored.Storm != inc.Storm {
			q += `, storm = ?` // indexed (incidents_storm_children)
			args = append(args, inc.Storm)
		}
		_, err := t.exec(q+` WHERE id = ?`, append(args, inc.ID)...)
		if err != nil {
			return fmt.Errorf("update incident %s: %w", inc.ID, err)
		}
		t.bumpVersion(id)
	}
	clear(t.dirty)
	clear(t.stored)
	t.dirtyOrder = t.dirtyOrder[:0]
	return nil
}

// bumpVersion follows a version + 1 just written: the writer's
// fingerprints of the incident stay trusted only if this transaction
// holds its lock and so knows the version it wrote.
func (t *txn) bumpVersion(id string) {
	if t.s.driver != Postgres {
		return
	}
	v, ok := t.versions[id]
	if !ok {
		t.w.fps.drop(id)
		return
	}
	t.versions[id] = v + 1
	if c, _ := t.w.fps.get(id); c != nil {
		c.version = v + 1
	}
}
