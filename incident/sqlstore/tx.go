package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/incident"
)

// txn is the incident.Tx of one writer inside a group commit.
type txn struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
}

var _ incident.Tx = (*txn)(nil)

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.s.rebind(q), args...)
}

func (t *txn) queryRow(q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

func (t *txn) RecordDelivery(d *incident.Delivery) error {
	_, err := t.exec(`INSERT INTO deliveries (source, receiver, group_key, status, truncated_alerts, alert_count, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		string(d.Source), d.Receiver, d.GroupKey, d.Status, d.TruncatedAlerts, len(d.Alerts), nanos(d.ReceivedAt))
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

func (t *txn) LockKey(key string) error {
	if t.s.driver != Postgres {
		return nil // SQLite: the group-commit loop is the only writer
	}
	if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, key); err != nil {
		return fmt.Errorf("lock key: %w", err)
	}
	return nil
}

func (t *txn) OpenIncident(key string) (*incident.Incident, error) {
	return t.oneIncident(`WHERE key = ? AND state <> 'resolved'`, key)
}

func (t *txn) LastResolved(key string) (*incident.Incident, error) {
	return t.oneIncident(`WHERE key = ? AND state = 'resolved' ORDER BY resolved_at DESC LIMIT 1`, key)
}

func (t *txn) IncidentByID(id string) (*incident.Incident, error) {
	inc, err := t.oneIncident(`WHERE id = ?`, id)
	if err == nil && inc == nil {
		return nil, incident.Errorf(incident.ENOTFOUND, "no incident %s", id)
	}
	return inc, err
}

func (t *txn) oneIncident(where string, args ...any) (*incident.Incident, error) {
	inc, err := scanIncident(t.queryRow(`SELECT `+incidentColumns+` FROM incidents `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load incident: %w", err)
	}
	return inc, nil
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
	_, err := t.exec(`INSERT INTO incidents (`+incidentColumns+`) VALUES (`+placeholders(incidentColumnCount)+`)`, incidentValues(inc)...)
	if err != nil {
		return fmt.Errorf("insert incident %s: %w", inc.ID, err)
	}
	return nil
}

func (t *txn) UpdateIncident(inc *incident.Incident) error {
	vals := incidentValues(inc)
	_, err := t.exec(`UPDATE incidents SET (`+incidentColumns+`) = (`+placeholders(incidentColumnCount)+`) WHERE id = ?`, append(vals, inc.ID)...)
	if err != nil {
		return fmt.Errorf("update incident %s: %w", inc.ID, err)
	}
	return nil
}

func (t *txn) Alert(incidentID, fingerprint string) (*incident.Alert, error) {
	a, err := scanAlert(t.queryRow(`SELECT `+alertColumns+` FROM alerts WHERE incident_id = ? AND fingerprint = ?`, incidentID, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load alert %s: %w", fingerprint, err)
	}
	return a, nil
}

func (t *txn) PutAlert(incidentID string, a *incident.Alert) error {
	labels, _ := json.Marshal(a.Labels)
	annotations, _ := json.Marshal(a.Annotations)
	values, _ := json.Marshal(a.Values)
	_, err := t.exec(`INSERT INTO alerts (incident_id, `+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status, labels = excluded.labels,
		annotations = excluded.annotations, grafana_values = excluded.grafana_values, starts_at = excluded.starts_at,
		ends_at = excluded.ends_at, generator_url = excluded.generator_url, value = excluded.value, source = excluded.source`,
		incidentID, a.Fingerprint, string(a.Status), string(labels), string(annotations), string(values),
		nanos(a.StartsAt), nanos(a.EndsAt), a.GeneratorURL, a.Value, string(a.Source))
	if err != nil {
		return fmt.Errorf("put alert %s: %w", a.Fingerprint, err)
	}
	return nil
}

func (t *txn) FiringAlerts(incidentID string) (int, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND status = 'firing'`, incidentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count firing alerts: %w", err)
	}
	return n, nil
}

func (t *txn) AppendEvent(e *incident.Event) error {
	err := t.queryRow(`INSERT INTO events (incident_id, at, kind, actor, text) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		e.IncidentID, nanos(e.At), string(e.Kind), e.Actor, e.Text).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

func (t *txn) Enqueue(j incident.Job) (bool, error) {
	now := time.Now()
	if j.MaxAttempt == 0 {
		j.MaxAttempt = incident.DefaultMaxAttempts
	}
	res, err := t.exec(`INSERT INTO jobs (kind, key, incident_id, args, state, max_attempts, run_at, created_at)
		VALUES (?, ?, ?, ?, 'available', ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		string(j.Kind), j.Key, j.IncidentID, string(j.Args), j.MaxAttempt, nanos(j.RunAt), nanos(now))
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", j.Key, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *txn) ClaimJobs(n int, now time.Time, lease time.Duration) ([]incident.Job, error) {
	// A running job whose lease ran out was left by a crashed process; on
	// SQLite, where one process owns the file, so was one leased by an
	// earlier run of this program.
	rescue := `(state = 'running' AND locked_until <= ?)`
	lock := ""
	args := []any{nanos(now.Add(lease)), t.s.owner, nanos(now), nanos(now)}
	if t.s.driver == SQLite {
		rescue = `(state = 'running' AND (locked_until <= ? OR locked_by <> ?))`
		args = append(args, t.s.owner)
	} else {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	args = append(args, n)
	rows, err := t.tx.QueryContext(t.ctx, t.s.rebind(`UPDATE jobs SET state = 'running', attempt = attempt + 1, locked_until = ?, locked_by = ?
		WHERE id IN (SELECT id FROM jobs WHERE (state = 'available' AND run_at <= ?) OR `+rescue+`
		ORDER BY run_at, id LIMIT ?`+lock+`)
		RETURNING id, kind, key, incident_id, args, run_at, attempt, max_attempts`), args...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	var jobs []incident.Job
	for rows.Next() {
		var j incident.Job
		var kind, args string
		var runAt int64
		if err := rows.Scan(&j.ID, &kind, &j.Key, &j.IncidentID, &args, &runAt, &j.Attempt, &j.MaxAttempt); err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		j.Kind, j.Args, j.RunAt = incident.JobKind(kind), json.RawMessage(args), fromNanos(runAt)
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

func (t *txn) FinishJob(id int64, outcome incident.JobOutcome, runAt time.Time, errText string, next []incident.Job) error {
	var err error
	now := nanos(time.Now())
	switch outcome {
	case incident.JobDone:
		_, err = t.exec(`UPDATE jobs SET state = 'completed', finished_at = ?, last_error = '', locked_by = '' WHERE id = ?`, now, id)
	case incident.JobRetry:
		_, err = t.exec(`UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
			run_at = ?, last_error = ?, locked_by = '' WHERE id = ?`, nanos(runAt), errText, id)
	case incident.JobSnooze:
		_, err = t.exec(`UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = ?, last_error = ?, locked_by = '' WHERE id = ?`,
			nanos(runAt), errText, id)
	case incident.JobFailed:
		_, err = t.exec(`UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, locked_by = '' WHERE id = ?`, now, errText, id)
	default:
		return fmt.Errorf("finish job %d: unknown outcome %q", id, outcome)
	}
	if err != nil {
		return fmt.Errorf("finish job %d: %w", id, err)
	}
	for _, j := range next {
		if _, err := t.Enqueue(j); err != nil {
			return err
		}
	}
	return nil
}
