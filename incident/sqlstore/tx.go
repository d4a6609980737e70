package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// txn is the incident.Tx of one writer inside a group commit.
type txn struct {
	// wrote says the transaction changed a row (see isWrite): only a
	// commit that wrote proves that commits succeed (see committed).
	wrote bool
	// warRoomsLocked says this transaction holds the war-room lock
	// (PostgreSQL; see lockWarRooms).
	warRoomsLocked bool
	s              *Store
	tx             *sql.Tx // SQLite
	pg             *pipe   // PostgreSQL (see pipe.go)
	ctx            context.Context
	stmts          map[string]*sql.Stmt // nil: no statement cache
	// open caches the open incident per key for the rest of the batch:
	// an alert storm sends many alerts of one incident in one batch. It is
	// dropped whenever a writer's savepoint is rolled back.
	open *openIncidents
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
	points     []valuePoint

	// Changed alerts and incidents wait too, the latest version of each,
	// and reads inside the batch see them: in a storm, an incident is
	// written once per batch rather than once per alert.
	alerts   []bufferedAlert
	alertIdx map[alertKey]int // where each buffered alert is
	dirty    map[string]incident.Incident
	// stored holds, for a dirty incident, the row as the database has it,
	// where known (SQLite): the update then names only the indexed
	// columns that changed.
	stored     map[string]incident.Incident
	dirtyOrder []string
	touchedFPs []alertKey

	// versions holds, on PostgreSQL, the row version of each incident this
	// transaction has locked (and so may trust the writer's fingerprints
	// of); bumped lists the incidents given new alerts, whose version goes
	// up even if the incident row itself is unchanged.
	versions map[string]int64
	bumped   []string
}

// discard drops everything buffered. In savepoint mode the buffers are
// flushed before each writer starts, so they hold only the failed
// writer's rows.
func (t *txn) discard() {
	t.deliveries, t.events, t.jobs, t.alerts = t.deliveries[:0], t.events[:0], t.jobs[:0], t.alerts[:0]
	t.points = t.points[:0]
	clear(t.alertIdx)
	clear(t.dirty)
	clear(t.stored)
	t.dirtyOrder = t.dirtyOrder[:0]
}

func (t *txn) forgetTouched() {
	for _, k := range t.touched {
		t.open.drop(k)
	}
	for _, k := range t.touchedJobs {
		t.s.pending.drop(k)
	}
	for _, k := range t.touchedFPs {
		if c, _ := t.w.fps.get(k.incident); c != nil {
			delete(c.set, k.fingerprint)
		}
	}
	t.touched, t.touchedJobs, t.touchedFPs = t.touched[:0], t.touchedJobs[:0], t.touchedFPs[:0]
	if t.s.driver == Postgres {
		// The undone writer may have bumped versions this transaction
		// counted: trust nothing more until the next transaction reads
		// the versions again.
		t.w.fps.reset()
		clear(t.versions)
		t.bumped = t.bumped[:0]
	}
}

func (t *txn) remember(inc *incident.Incident) {
	t.touched = append(t.touched, inc.Key)
	if inc.State.Open() {
		t.open.put(inc.Key, *inc)
	} else {
		t.open.drop(inc.Key)
		t.w.fps.drop(inc.ID) // dropping a memory is always safe
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

// exec runs a statement now (on PostgreSQL, after whatever waits in the
// pipe, in one round trip).
func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	var res sql.Result
	var err error
	switch st := t.stmt(q); {
	case t.pg != nil:
		res, err = t.pg.execNow(t.s.rebind(q), args...)
	case st != nil:
		res, err = st.ExecContext(t.ctx, args...)
	default:
		res, err = t.tx.ExecContext(t.ctx, t.s.rebind(q), args...)
	}
	if err == nil && isWrite(q) {
		if n, nerr := res.RowsAffected(); nerr == nil && n > 0 {
			t.wrote = true
		}
	}
	return res, err
}

// isWrite reports whether q changes rows when it matches any: an UPDATE
// of no row commits on a full disk too, and proves nothing.
func isWrite(q string) bool {
	q = strings.TrimSpace(q)
	for _, verb := range []string{"INSERT", "UPDATE", "DELETE"} {
		if len(q) >= len(verb) && strings.EqualFold(q[:len(verb)], verb) {
			return true
		}
	}
	return false
}

// write runs a statement whose result nobody reads: on PostgreSQL it
// waits in the pipe and goes with the next round trip, which reports its
// error; on SQLite it runs now.
func (t *txn) write(q string, args ...any) error {
	if t.pg == nil {
		_, err := t.exec(q, args...)
		return err
	}
	if err := checkArgs(args); err != nil {
		return err
	}
	t.pg.queue(t.s.rebind(q), args...)
	t.wrote = t.wrote || isWrite(q)
	return nil
}

// queryRow runs a query returning one row. Its arguments are checked
// like exec's: a NUL makes Scan fail (see nulRow).
func (t *txn) queryRow(q string, args ...any) scanner {
	if err := checkArgs(args); err != nil {
		return nulRow{err}
	}
	t.wrote = t.wrote || isWrite(q) // a write that returns its row (a counter)
	if t.pg != nil {
		return pgRow{t.pg, t.s.rebind(q), args}
	}
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

// query runs a query and calls row for each row of its answer.
func (t *txn) query(q string, args []any, row func(scanner) error) error {
	if err := checkArgs(args); err != nil {
		return err
	}
	if isWrite(q) { // UPDATE … RETURNING: a row returned is a row written
		each := row
		row = func(r scanner) error {
			t.wrote = true
			return each(r)
		}
	}
	if t.pg != nil {
		return t.pg.each(t.s.rebind(q), args, row)
	}
	rows, err := t.tx.QueryContext(t.ctx, t.s.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// control runs a statement of the transaction's own (a savepoint): on
// PostgreSQL it waits in the pipe like write's.
func (t *txn) control(q string) error {
	if t.pg != nil {
		t.pg.queue(q)
		return nil
	}
	_, err := t.tx.ExecContext(t.ctx, q)
	return err
}

// sync sends what waits in the pipe (PostgreSQL), so that its errors are
// known now.
func (t *txn) sync() error {
	if t.pg == nil {
		return nil
	}
	return t.pg.send()
}

// mark and dropSince let a writer undone in its savepoint drop the
// statements it queued and never sent (PostgreSQL; on SQLite every
// statement has run).
func (t *txn) mark() int {
	if t.pg == nil {
		return 0
	}
	return t.pg.mark()
}

func (t *txn) dropSince(mark int) {
	if t.pg != nil {
		t.pg.dropSince(mark)
	}
}

// commit commits the transaction; on PostgreSQL the COMMIT goes in one
// round trip with the writes still waiting.
func (t *txn) commit() error {
	if t.pg != nil {
		return t.pg.commit()
	}
	return t.tx.Commit()
}

// rollback ends the transaction, undone.
func (t *txn) rollback() {
	switch {
	case t.pg != nil:
		t.pg.rollback()
	case t.tx != nil:
		_ = t.tx.Rollback()
	}
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

func (t *txn) NextSeq(name string) (int64, error) {
	var v int64
	err := t.queryRow(`INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next %s: %w", name, err)
	}
	return v, nil
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
	memo := j.Coalesce && t.s.pending.enabled()
	if known, _ := t.s.pending.get(j.Key); memo && known {
		return false, nil // a run is already waiting and will see this change
	}
	if j.MaxAttempt == 0 {
		j.MaxAttempt = incident.DefaultMaxAttempts
	}
	t.jobs = append(t.jobs, j)
	if memo {
		t.s.pending.put(j.Key, true)
		t.touchedJobs = append(t.touchedJobs, j.Key)
	}
	return true, nil
}

// flush writes everything buffered: alerts and incidents first (events
// and jobs refer to incidents), then the append-only rows, a few multi-row
// INSERTs per table.
func (t *txn) flush() error {
	if len(t.alerts)+len(t.dirty)+len(t.bumped)+len(t.deliveries)+len(t.events)+len(t.jobs)+len(t.points) > 0 {
		t.wrote = true
	}
	if t.pg != nil {
		return t.flushPostgres()
	}
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
		args := make([]any, 0, 10*len(chunk))
		for _, j := range chunk {
			coalesce := 0
			if j.Coalesce {
				coalesce = 1
			}
			args = append(args, string(j.Kind), j.Key, j.IncidentID, string(j.Args), "available", coalesce, j.MaxAttempt, nanos(j.RunAt), now,
				j.TraceParent)
		}
		if _, err := t.exec(`INSERT INTO jobs (kind, key, incident_id, args, state, coalesce, max_attempts, run_at, created_at, trace_parent) VALUES `+
			rows(len(chunk), 10)+` ON CONFLICT (key) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("enqueue jobs: %w", err)
		}
	}
	for chunk := range slices.Chunk(t.valuePoints(), flushChunk) {
		args := make([]any, 0, 4*len(chunk))
		for _, p := range chunk {
			args = append(args, p.incidentID, p.bucket, nanos(p.At), p.Value)
		}
		if _, err := t.exec(`INSERT INTO value_points (incident_id, bucket, at, value) VALUES `+rows(len(chunk), 4)+
			` ON CONFLICT (incident_id, bucket) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("add value points: %w", err)
		}
	}
	t.deliveries, t.events, t.jobs, t.points = t.deliveries[:0], t.events[:0], t.jobs[:0], t.points[:0]
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
