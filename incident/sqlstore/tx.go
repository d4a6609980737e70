package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// txn is the incident.Tx of one writer inside a group commit.
type txn struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	stmts map[string]*sql.Stmt // nil: no statement cache
	// open caches the open incident per key for the rest of the batch:
	// an alert storm sends many alerts of one incident in one batch. It is
	// dropped whenever a writer's savepoint is rolled back.
	open map[string]incident.Incident
	// none lists the keys known, on PostgreSQL, to have had no open
	// incident when the batch began (see lockKeys).
	none map[string]bool
	// touched and touchedJobs list what the current writer cached, to
	// forget if its savepoint is rolled back.
	touched     []string
	touchedJobs []string

	// Append-only rows wait here and go in with one multi-row INSERT per
	// table when the batch commits: on PostgreSQL every statement is a
	// round trip, and these rows are never read back inside a batch.
	w          *writerLoop
	deliveries []*incident.Delivery
	events     []incident.Event
	jobs       []incident.Job

	// Changed alerts and incidents wait too, the latest version of each,
	// and reads inside the batch see them: in a storm, an incident is
	// written once per batch rather than once per alert.
	alerts     []bufferedAlert
	alertIdx   map[alertKey]int // where each buffered alert is
	dirty      map[string]incident.Incident
	dirtyOrder []string
	touchedFPs []alertKey

	// versions holds, on PostgreSQL, the row version of each incident this
	// transaction has locked (and so may trust the writer's fingerprints
	// of); bumped lists the incidents given new alerts, whose version goes
	// up even if the incident row itself is unchanged.
	versions map[string]int64
	bumped   []string
}

type alertKey struct{ incident, fingerprint string }

type bufferedAlert struct {
	incident string
	alert    incident.Alert
}

// discard drops everything buffered. In savepoint mode the buffers are
// flushed before each writer starts, so they hold only the failed
// writer's rows.
func (t *txn) discard() {
	t.deliveries, t.events, t.jobs, t.alerts = t.deliveries[:0], t.events[:0], t.jobs[:0], t.alerts[:0]
	clear(t.alertIdx)
	clear(t.dirty)
	t.dirtyOrder = t.dirtyOrder[:0]
}

func (t *txn) forgetTouched() {
	for _, k := range t.touched {
		delete(t.open, k)
	}
	for _, k := range t.touchedJobs {
		delete(t.s.pending, k)
	}
	for _, k := range t.touchedFPs {
		if c := t.w.fps[k.incident]; c != nil {
			delete(c.set, k.fingerprint)
		}
	}
	t.touched, t.touchedJobs, t.touchedFPs = t.touched[:0], t.touchedJobs[:0], t.touchedFPs[:0]
	if t.s.driver == Postgres {
		// The undone writer may have bumped versions this transaction
		// counted: trust nothing more until the next transaction reads
		// the versions again.
		clear(t.w.fps)
		clear(t.versions)
		t.bumped = t.bumped[:0]
	}
}

func (t *txn) remember(inc *incident.Incident) {
	t.touched = append(t.touched, inc.Key)
	if inc.State.Open() {
		t.open[inc.Key] = *inc
	} else {
		delete(t.open, inc.Key)
		delete(t.w.fps, inc.ID) // dropping a cache entry is always safe
	}
}

// stmt returns q prepared in this transaction, or nil where statements are
// not cached or q does not prepare (the caller then reports the error).
func (t *txn) stmt(q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if st, ok := t.stmts[q]; ok {
		return st
	}
	var st *sql.Stmt
	if shared, ok := t.s.stmts[q]; ok {
		st = t.tx.StmtContext(t.ctx, shared)
	} else {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, q); err != nil {
			return nil
		}
		t.s.unprepared[q] = true
	}
	t.stmts[q] = st
	return st
}

var _ incident.Tx = (*txn)(nil)

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	if st := t.stmt(q); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.s.rebind(q), args...)
}

// queryRow runs a query returning one row. Its arguments are checked
// like exec's: a NUL makes Scan fail (see nulRow).
func (t *txn) queryRow(q string, args ...any) scanner {
	if err := checkArgs(args); err != nil {
		return nulRow{err}
	}
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

func (t *txn) RecordDelivery(d *incident.Delivery) error {
	t.deliveries = append(t.deliveries, d)
	return nil
}

// forUpdate locks the rows a read returns until commit, on PostgreSQL
// (SQLite has one writer, and no such clause). A read that waits for a
// lock returns the row as its holder committed it.
func (t *txn) forUpdate() string {
	if t.s.driver == Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// lockKeys reads and locks the open incidents of a batch's keys in one
// statement, in key order like every batch of every replica, where each
// writer would otherwise take a round trip (PostgreSQL).
func (t *txn) lockKeys(keys []string) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+incidentColumns+`, version FROM incidents
		WHERE key = ANY($1) AND state <> 'resolved' ORDER BY key FOR UPDATE`, keys)
	if err != nil {
		return fmt.Errorf("lock incidents: %w", err)
	}
	defer rows.Close()
	t.none = make(map[string]bool, len(keys))
	for _, k := range keys {
		t.none[k] = true
	}
	for rows.Next() {
		var version int64
		inc, err := scanIncident(rows, &version)
		if err != nil {
			return fmt.Errorf("lock incidents: %w", err)
		}
		t.open[inc.Key] = *inc
		delete(t.none, inc.Key)
		t.lockedVersion(inc.ID, version)
	}
	return rows.Err()
}

func (t *txn) LockOpenIncident(key string) (*incident.Incident, error) {
	if inc, ok := t.open[key]; ok {
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
	if c := t.w.fps[id]; c != nil && c.version != version {
		delete(t.w.fps, id)
	}
}

func (t *txn) NextSeq(name string) (int64, error) {
	var v int64
	err := t.queryRow(`INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next %s: %w", name, err)
	}
	return v, nil
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
	}
	return nil
}

// UpdateIncident buffers the incident's new version; flushIncidents writes
// it.
func (t *txn) UpdateIncident(inc *incident.Incident) error {
	if _, ok := t.dirty[inc.ID]; !ok {
		t.dirtyOrder = append(t.dirtyOrder, inc.ID)
	}
	t.dirty[inc.ID] = *inc
	t.remember(inc)
	return nil
}

// flushIncidents writes the buffered incidents, the mutable columns only:
// naming the key, the sequence number or the opening time in the SET would
// make SQLite rewrite their index entries. Each write bumps the version.
func (t *txn) flushIncidents() error {
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
	if t.s.driver == Postgres && len(t.dirtyOrder) > 1 {
		return t.flushIncidentsTogether()
	}
	for _, id := range t.dirtyOrder {
		inc := t.dirty[id]
		warRoom := 0
		if inc.WarRoom {
			warRoom = 1
		}
		_, err := t.exec(`UPDATE incidents SET rule = ?, severity = ?, state = ?, war_room = ?, title = ?, value = ?,
		peak_value = ?, threshold = ?, acknowledged_at = ?, mitigated_at = ?, resolved_at = ?, updated_at = ?,
		commander = ?, slack_channel_id = ?, slack_channel = ?, summary_ts = ?, jira_key = ?, suspect_deploy = ?,
		truncated_alerts = ?, last_error = ?, comms = ?, scribe = ?,
		announce_channel_id = ?, announce_ts = ?, reported_event = ?, evidence = ?, version = version + 1 WHERE id = ?`,
			inc.Rule, string(inc.Severity), string(inc.State), warRoom, inc.Title, inc.Value, inc.PeakValue, inc.Threshold,
			optNanos(inc.AcknowledgedAt), optNanos(inc.MitigatedAt), optNanos(inc.ResolvedAt), nanos(inc.UpdatedAt),
			inc.Commander, inc.SlackChannelID, inc.SlackChannel, inc.SummaryTS, inc.JiraKey, inc.SuspectDeploy,
			inc.TruncatedAlerts, inc.LastError, inc.Comms, inc.Scribe, inc.AnnounceChannelID, inc.AnnounceTS, inc.ReportedEvent, evidenceJSON(inc.Evidence), inc.ID)
		if err != nil {
			return fmt.Errorf("update incident %s: %w", inc.ID, err)
		}
		t.bumpVersion(id)
	}
	clear(t.dirty)
	t.dirtyOrder = t.dirtyOrder[:0]
	return nil
}

// flushIncidentsTogether writes the buffered incidents with one UPDATE
// from a VALUES list (PostgreSQL): a storm over many services dirties many
// incidents per batch, and each statement is a round trip.
func (t *txn) flushIncidentsTogether() error {
	for chunk := range slices.Chunk(t.dirtyOrder, flushChunk) {
		args := make([]any, 0, 27*len(chunk))
		var values strings.Builder
		for i, id := range chunk {
			inc := t.dirty[id]
			warRoom := 0
			if inc.WarRoom {
				warRoom = 1
			}
			if i > 0 {
				values.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&values, "($%d::text, $%d::text, $%d::text, $%d::text, $%d::bigint, $%d::text, $%d::float8, $%d::float8, "+
				"$%d::float8, $%d::bigint, $%d::bigint, $%d::bigint, $%d::bigint, $%d::text, $%d::text, $%d::text, $%d::text, "+
				"$%d::text, $%d::text, $%d::bigint, $%d::text, $%d::text, $%d::text, $%d::text, $%d::text, $%d::bigint, $%d::text)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11, n+12, n+13, n+14, n+15, n+16, n+17, n+18, n+19, n+20, n+21, n+22, n+23, n+24, n+25, n+26, n+27)
			args = append(args, inc.ID, inc.Rule, string(inc.Severity), string(inc.State), warRoom, inc.Title, inc.Value,
				inc.PeakValue, inc.Threshold, optNanos(inc.AcknowledgedAt), optNanos(inc.MitigatedAt), optNanos(inc.ResolvedAt),
				nanos(inc.UpdatedAt), inc.Commander, inc.SlackChannelID, inc.SlackChannel, inc.SummaryTS, inc.JiraKey,
				inc.SuspectDeploy, inc.TruncatedAlerts, inc.LastError, inc.Comms, inc.Scribe,
				inc.AnnounceChannelID, inc.AnnounceTS, inc.ReportedEvent, evidenceJSON(inc.Evidence))
		}
		if err := checkArgs(args); err != nil {
			return fmt.Errorf("update %d incidents: %w", len(chunk), err)
		}
		_, err := t.tx.ExecContext(t.ctx, `UPDATE incidents AS i SET rule = v.rule, severity = v.severity, state = v.state,
		war_room = v.war_room, title = v.title, value = v.value, peak_value = v.peak_value, threshold = v.threshold,
		acknowledged_at = v.acknowledged_at, mitigated_at = v.mitigated_at, resolved_at = v.resolved_at,
		updated_at = v.updated_at, commander = v.commander, slack_channel_id = v.slack_channel_id,
		slack_channel = v.slack_channel, summary_ts = v.summary_ts, jira_key = v.jira_key,
		suspect_deploy = v.suspect_deploy, truncated_alerts = v.truncated_alerts, last_error = v.last_error,
		comms = v.comms, scribe = v.scribe, announce_channel_id = v.announce_channel_id,
		announce_ts = v.announce_ts, reported_event = v.reported_event, evidence = v.evidence,
		version = i.version + 1
		FROM (VALUES `+values.String()+`) AS v (id, rule, severity, state, war_room, title, value, peak_value, threshold,
		acknowledged_at, mitigated_at, resolved_at, updated_at, commander, slack_channel_id, slack_channel, summary_ts,
		jira_key, suspect_deploy, truncated_alerts, last_error, comms, scribe, announce_channel_id, announce_ts, reported_event, evidence)
		WHERE i.id = v.id`, args...)
		if err != nil {
			return fmt.Errorf("update %d incidents: %w", len(chunk), err)
		}
		for _, id := range chunk {
			t.bumpVersion(id)
		}
	}
	clear(t.dirty)
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
		delete(t.w.fps, id)
		return
	}
	t.versions[id] = v + 1
	if c := t.w.fps[id]; c != nil {
		c.version = v + 1
	}
}

func (t *txn) Alert(incidentID, fingerprint string) (*incident.Alert, error) {
	if i, ok := t.alertIdx[alertKey{incidentID, fingerprint}]; ok {
		a := t.alerts[i].alert
		return &a, nil
	}
	a, err := scanAlert(t.queryRow(`SELECT `+alertColumns+` FROM alerts WHERE incident_id = ? AND fingerprint = ?`, incidentID, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load alert %s: %w", fingerprint, err)
	}
	return a, nil
}

// knownFingerprints returns the fingerprints an incident holds, kept by
// the writer loop and loaded once per incident, or nil on PostgreSQL when
// this transaction has not locked the incident (and so cannot trust them).
func (t *txn) knownFingerprints(incidentID string) (map[string]bool, error) {
	version, locked := t.versions[incidentID]
	if t.s.driver == Postgres && !locked {
		return nil, nil
	}
	if c, ok := t.w.fps[incidentID]; ok {
		return c.set, nil
	}
	rows, err := t.tx.QueryContext(t.ctx, t.s.rebind(`SELECT fingerprint FROM alerts WHERE incident_id = ?`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("load fingerprints: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return nil, fmt.Errorf("load fingerprints: %w", err)
		}
		set[fp] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load fingerprints: %w", err)
	}
	if len(t.w.fps) >= maxCachedIncidents {
		clear(t.w.fps)
	}
	t.w.fps[incidentID] = &fingerprints{version: version, set: set}
	return set, nil
}

func (t *txn) InsertAlert(incidentID string, a *incident.Alert) (bool, error) {
	k := alertKey{incidentID, a.Fingerprint}
	if _, ok := t.alertIdx[k]; ok {
		return false, nil
	}
	known, err := t.knownFingerprints(incidentID)
	if err != nil {
		return false, err
	}
	if known == nil {
		// PostgreSQL, incident not locked here: the insert itself says
		// whether the alert is new.
		labels, _ := json.Marshal(a.Labels)
		annotations, _ := json.Marshal(a.Annotations)
		values, _ := json.Marshal(a.Values)
		res, err := t.exec(`INSERT INTO alerts (incident_id, `+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, fingerprint) DO NOTHING`,
			incidentID, a.Fingerprint, string(a.Status), string(labels), string(annotations), string(values),
			nanos(a.StartsAt), nanos(a.EndsAt), a.GeneratorURL, a.Value, string(a.Source))
		if err != nil {
			return false, fmt.Errorf("insert alert %s: %w", a.Fingerprint, err)
		}
		n, err := res.RowsAffected()
		return n > 0, err
	}
	if known[a.Fingerprint] {
		return false, nil
	}
	t.learn(known, k)
	t.bufferAlert(incidentID, a)
	return true, nil
}

func (t *txn) PutAlert(incidentID string, a *incident.Alert) error {
	k := alertKey{incidentID, a.Fingerprint}
	if c := t.w.fps[incidentID]; c != nil && !c.set[a.Fingerprint] {
		t.learn(c.set, k)
	} else if c == nil && t.s.driver == Postgres {
		// A new alert may be going in: writers trusting their
		// fingerprints of this incident must see the version move.
		t.bumped = append(t.bumped, incidentID)
	}
	t.bufferAlert(incidentID, a)
	return nil
}

// learn adds a new alert's fingerprint to the writer's set, to forget if
// the writer is undone; on PostgreSQL the incident's version goes up.
func (t *txn) learn(known map[string]bool, k alertKey) {
	known[k.fingerprint] = true
	t.touchedFPs = append(t.touchedFPs, k)
	if t.s.driver == Postgres {
		t.bumped = append(t.bumped, k.incident)
	}
}

func (t *txn) bufferAlert(incidentID string, a *incident.Alert) {
	k := alertKey{incidentID, a.Fingerprint}
	if t.alertIdx == nil {
		t.alertIdx = map[alertKey]int{}
	}
	if i, ok := t.alertIdx[k]; ok {
		t.alerts[i].alert = *a
		return
	}
	t.alertIdx[k] = len(t.alerts)
	t.alerts = append(t.alerts, bufferedAlert{incident: incidentID, alert: *a})
}

// flushAlerts writes the buffered alerts with multi-row upserts.
func (t *txn) flushAlerts() error {
	for chunk := range slices.Chunk(t.alerts, flushChunk) {
		args := make([]any, 0, 11*len(chunk))
		for _, b := range chunk {
			a := &b.alert
			labels, _ := json.Marshal(a.Labels)
			annotations, _ := json.Marshal(a.Annotations)
			values, _ := json.Marshal(a.Values)
			args = append(args, b.incident, a.Fingerprint, string(a.Status), string(labels), string(annotations), string(values),
				nanos(a.StartsAt), nanos(a.EndsAt), a.GeneratorURL, a.Value, string(a.Source))
		}
		if _, err := t.exec(`INSERT INTO alerts (incident_id, `+alertColumns+`) VALUES `+rows(len(chunk), 11)+`
		ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status, labels = excluded.labels,
		annotations = excluded.annotations, grafana_values = excluded.grafana_values, starts_at = excluded.starts_at,
		ends_at = excluded.ends_at, generator_url = excluded.generator_url, value = excluded.value, source = excluded.source`, args...); err != nil {
			return fmt.Errorf("put alerts: %w", err)
		}
	}
	t.alerts = t.alerts[:0]
	clear(t.alertIdx)
	return nil
}

func (t *txn) FiringAlerts(incidentID string) (int, error) {
	if err := t.flushAlerts(); err != nil {
		return 0, err
	}
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND status = 'firing'`, incidentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count firing alerts: %w", err)
	}
	return n, nil
}

func (t *txn) AppendEvent(e *incident.Event) error {
	id, err := t.s.eventID(t)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	e.ID = id
	t.events = append(t.events, *e)
	return nil
}

func (t *txn) Enqueue(j incident.Job) (bool, error) {
	memo := j.Coalesce && t.s.pending != nil
	if memo && t.s.pending[j.Key] {
		return false, nil // a run is already waiting and will see this change
	}
	if j.MaxAttempt == 0 {
		j.MaxAttempt = incident.DefaultMaxAttempts
	}
	t.jobs = append(t.jobs, j)
	if memo {
		t.s.pending[j.Key] = true
		t.touchedJobs = append(t.touchedJobs, j.Key)
	}
	return true, nil
}

// flush writes everything buffered: alerts and incidents first (events
// and jobs refer to incidents), then the append-only rows, a few multi-row
// INSERTs per table.
func (t *txn) flush() error {
	if err := t.flushAlerts(); err != nil {
		return err
	}
	if err := t.flushIncidents(); err != nil {
		return err
	}
	now := nanos(time.Now())
	for chunk := range slices.Chunk(t.deliveries, flushChunk) {
		args := make([]any, 0, 7*len(chunk))
		for _, d := range chunk {
			args = append(args, string(d.Source), d.Receiver, d.GroupKey, d.Status, d.TruncatedAlerts, len(d.Alerts), nanos(d.ReceivedAt))
		}
		if _, err := t.exec(`INSERT INTO deliveries (source, receiver, group_key, status, truncated_alerts, alert_count, received_at) VALUES `+
			rows(len(chunk), 7), args...); err != nil {
			return fmt.Errorf("record deliveries: %w", err)
		}
	}
	for chunk := range slices.Chunk(t.events, flushChunk) {
		args := make([]any, 0, 6*len(chunk))
		for _, e := range chunk {
			args = append(args, e.ID, e.IncidentID, nanos(e.At), string(e.Kind), e.Actor, e.Text)
		}
		if _, err := t.exec(`INSERT INTO events (id, incident_id, at, kind, actor, text) VALUES `+rows(len(chunk), 6), args...); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
	}
	// One row per key: a later duplicate would be dropped by ON CONFLICT
	// anyway, but not every database takes duplicates in one statement.
	seen := make(map[string]bool, len(t.jobs))
	jobs := t.jobs[:0:0]
	for _, j := range t.jobs {
		if !seen[j.Key] {
			seen[j.Key] = true
			jobs = append(jobs, j)
		}
	}
	for chunk := range slices.Chunk(jobs, flushChunk) {
		args := make([]any, 0, 9*len(chunk))
		for _, j := range chunk {
			coalesce := 0
			if j.Coalesce {
				coalesce = 1
			}
			args = append(args, string(j.Kind), j.Key, j.IncidentID, string(j.Args), "available", coalesce, j.MaxAttempt, nanos(j.RunAt), now)
		}
		if _, err := t.exec(`INSERT INTO jobs (kind, key, incident_id, args, state, coalesce, max_attempts, run_at, created_at) VALUES `+
			rows(len(chunk), 9)+` ON CONFLICT (key) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("enqueue jobs: %w", err)
		}
	}
	t.deliveries, t.events, t.jobs = t.deliveries[:0], t.events[:0], t.jobs[:0]
	return nil
}

// nulRow is the row of a query refused before it ran.
type nulRow struct{ err error }

func (r nulRow) Scan(...any) error { return r.err }

// flushChunk bounds the rows of one INSERT (and so its bound parameters).
const flushChunk = 200

// rows renders n rows of k placeholders: (?, ?), (?, ?).
func rows(n, k int) string {
	row := "(" + placeholders(k) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func (t *txn) InsertDeploy(d *incident.Deploy) (bool, error) {
	var id int64
	err := t.queryRow(`INSERT INTO deploys (service, env, sha, previous_sha, version, author, url, finished_at, source, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service, env, sha, finished_at) DO NOTHING RETURNING id`,
		d.Service, d.Env, d.SHA, d.PreviousSHA, d.Version, d.Author, d.URL, nanos(d.FinishedAt), d.Source, nanos(time.Now())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record deploy: %w", err)
	}
	d.ID = id
	return true, nil
}
