package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// The job queue's half of the transaction: claims with leases renewed by a
// heartbeat, fenced by the claim's number (runs), as River's contract has
// them (docs: incident.Tx).

// jobColumns are the columns a claim returns.
const jobColumns = `id, kind, key, incident_id, args, run_at, attempt, max_attempts, coalesce, runs, prev_claimed_at, trace_parent`

func (t *txn) ClaimJobs(n int, now time.Time, lease time.Duration) ([]incident.Job, error) {
	lock := ""
	if t.s.driver == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	// A claimed coalesced job gives up its key, once, so that a change made
	// while it runs queues the next run; a rescued run keeps the name it
	// took. claimed_at moves to prev_claimed_at (both sides of a SET read
	// the old row).
	var jobs []incident.Job
	err := t.query(`UPDATE jobs SET state = 'running', attempt = attempt + 1, runs = runs + 1,
		locked_until = ?, locked_by = ?, prev_claimed_at = claimed_at, claimed_at = ?,
		key = CASE WHEN coalesce = 1 AND key NOT LIKE '%#%' THEN key || '#' || CAST(id AS TEXT) ELSE key END
		WHERE id IN (SELECT id FROM jobs WHERE state = 'available' AND run_at <= ? ORDER BY run_at, id LIMIT ?`+lock+`)
		RETURNING `+jobColumns,
		[]any{nanos(now.Add(lease)), t.s.owner, nanos(now), nanos(now), n}, func(row scanner) error {
			var j incident.Job
			var kind, args string
			var runAt, coalesce, lastRun int64
			if err := row.Scan(&j.ID, &kind, &j.Key, &j.IncidentID, &args, &runAt, &j.Attempt, &j.MaxAttempt, &coalesce, &j.Runs, &lastRun, &j.TraceParent); err != nil {
				return err
			}
			j.Kind, j.Args, j.RunAt, j.Coalesce = incident.JobKind(kind), json.RawMessage(args), fromNanos(runAt), coalesce != 0
			if lastRun != 0 && j.Attempt > 1 {
				j.LastRunAt = fromNanos(lastRun)
			}
			if i := strings.LastIndexByte(j.Key, '#'); j.Coalesce && i > 0 {
				// Claimed: the key is free again (forgetting is always safe).
				t.s.pending.drop(j.Key[:i])
			}
			jobs = append(jobs, j)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return jobs, nil
}

func (t *txn) ExtendLeases(leases []incident.Lease, until time.Time) ([]int64, error) {
	var lost []int64
	for _, l := range leases {
		res, err := t.exec(`UPDATE jobs SET locked_until = ? WHERE id = ? AND runs = ? AND state = 'running'`, nanos(until), l.JobID, l.Runs)
		if err != nil {
			return nil, fmt.Errorf("extend lease of job %d: %w", l.JobID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("extend lease of job %d: %w", l.JobID, err)
		} else if n == 0 {
			lost = append(lost, l.JobID)
		}
	}
	return lost, nil
}

func (t *txn) CheckLease(l incident.Lease) error {
	// FOR SHARE keeps a claim by another replica from committing before
	// this transaction does (PostgreSQL; SQLite has one writer).
	lock := ""
	if t.s.driver == Postgres {
		lock = ` FOR SHARE`
	}
	var runs int
	var state string
	err := t.queryRow(`SELECT runs, state FROM jobs WHERE id = ?`+lock, l.JobID).Scan(&runs, &state)
	if err != nil {
		return fmt.Errorf("check lease of job %d: %w", l.JobID, notFoundAsLost(err))
	}
	if runs != l.Runs || state != string(incident.JobRunning) {
		return incident.ErrLeaseLost
	}
	return nil
}

// notFoundAsLost turns a job that is gone into a lost lease.
func notFoundAsLost(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return incident.ErrLeaseLost
	}
	return err
}

func (t *txn) RescueJobs(now time.Time) (int, error) {
	// On SQLite one process owns the file, so a job leased by an earlier
	// run of the program is orphaned whatever its lease says.
	q := `UPDATE jobs SET state = 'available', locked_by = '' WHERE state = 'running' AND locked_until <= ?`
	args := []any{nanos(now)}
	if t.s.driver == SQLite {
		q = `UPDATE jobs SET state = 'available', locked_by = '' WHERE state = 'running' AND (locked_until <= ? OR locked_by <> ?)`
		args = append(args, t.s.owner)
	}
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, fmt.Errorf("rescue jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// held is the condition that a lease still holds its job.
const held = ` WHERE id = ? AND runs = ? AND state = 'running'`

func (t *txn) FinishJob(l incident.Lease, outcome incident.JobOutcome, runAt time.Time, errText string, next []incident.Job) error {
	var q string
	var args []any
	now := nanos(time.Now())
	switch outcome {
	case incident.JobDone:
		q, args = `UPDATE jobs SET state = 'completed', finished_at = ?, last_error = '', locked_by = ''`, []any{now}
	case incident.JobRetry:
		q = `UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
			run_at = ?, last_error = ?, locked_by = ''`
		args = []any{nanos(runAt), errText}
	case incident.JobSnooze:
		// The snoozed run reached nothing outside: it gives its attempt
		// back and leaves the time of the last run that may have.
		q = `UPDATE jobs SET state = 'available', attempt = attempt - 1, claimed_at = prev_claimed_at,
			run_at = ?, last_error = ?, locked_by = ''`
		args = []any{nanos(runAt), errText}
	case incident.JobFailed:
		q, args = `UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, locked_by = ''`, []any{now, errText}
	default:
		return fmt.Errorf("finish job %d: unknown outcome %q", l.JobID, outcome)
	}
	res, err := t.exec(q+held, append(args, l.JobID, l.Runs)...)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", l.JobID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("finish job %d: %w", l.JobID, err)
	} else if n == 0 {
		return incident.ErrLeaseLost
	}
	for _, j := range next {
		if _, err := t.Enqueue(j); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) ReleaseJob(l incident.Lease, runAt time.Time) error {
	res, err := t.exec(`UPDATE jobs SET state = 'available', run_at = ?, locked_until = 0, locked_by = ''`+held,
		nanos(runAt), l.JobID, l.Runs)
	if err != nil {
		return fmt.Errorf("release job %d: %w", l.JobID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("release job %d: %w", l.JobID, err)
	} else if n == 0 {
		return incident.ErrLeaseLost
	}
	return nil
}

func (t *txn) AwaitJob(l incident.Lease, kind incident.JobKind, now time.Time) error {
	if _, err := t.exec(`UPDATE jobs SET awaits = ?,
		run_at = CASE WHEN EXISTS (SELECT 1 FROM jobs AS done WHERE done.incident_id = jobs.incident_id
			AND done.kind = ? AND done.state = 'completed') THEN ? ELSE run_at END
		WHERE id = ? AND runs = ?`, string(kind), string(kind), nanos(now), l.JobID, l.Runs); err != nil {
		return fmt.Errorf("job %d awaits %s: %w", l.JobID, kind, err)
	}
	return nil
}

func (t *txn) WakeJobs(incidentID string, kind incident.JobKind, now time.Time) (int, error) {
	if kind == "" {
		return 0, nil
	}
	res, err := t.exec(`UPDATE jobs SET run_at = ?, awaits = '' WHERE incident_id = ? AND awaits = ? AND state = 'available'`,
		nanos(now), incidentID, string(kind))
	if err != nil {
		return 0, fmt.Errorf("wake the jobs of %s awaiting %s: %w", incidentID, kind, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
