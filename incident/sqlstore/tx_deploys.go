package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/incident"
)

// The deploys a transaction records (incident.Tx.InsertDeploy): one row
// per deploy, recorded once however many replicas see it.

// deployColumns are the columns of a deploy as scanDeploy reads them.
const deployColumns = `id, service, env, sha, previous_sha, version, author, url, finished_at, source, idempotency_key`

func scanDeploy(sc scanner, d *incident.Deploy) error {
	var fin int64
	if err := sc.Scan(&d.ID, &d.Service, &d.Env, &d.SHA, &d.PreviousSHA, &d.Version, &d.Author, &d.URL, &fin, &d.Source, &d.IdempotencyKey); err != nil {
		return err
	}
	d.FinishedAt = fromNanos(fin)
	return nil
}

// InsertDeploy implements incident.Tx. On PostgreSQL, a lock of the
// transaction on the service, env and SHA makes a replica that records
// the same deploy at once wait for this one and then find it; on SQLite
// the one writer does the same. The idempotency key's unique index
// settles two records that share only the key.
func (t *txn) InsertDeploy(d *incident.Deploy) (bool, error) {
	if t.s.driver == Postgres {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 7325002))`, d.Service+"\n"+d.Env+"\n"+d.SHA); err != nil {
			return false, fmt.Errorf("record deploy: lock: %w", err)
		}
	}
	if found, err := t.recordedDeploy(d); found || err != nil {
		return false, err
	}
	var id int64
	err := t.queryRow(`INSERT INTO deploys (service, env, sha, previous_sha, version, author, url, finished_at, source, idempotency_key, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		d.Service, d.Env, d.SHA, d.PreviousSHA, d.Version, d.Author, d.URL, nanos(d.FinishedAt), d.Source, d.IdempotencyKey, nanos(time.Now())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Another replica committed a deploy with this idempotency key
		// since the look-up.
		found, err := t.recordedDeploy(d)
		if err == nil && !found {
			err = errors.New("record deploy: the conflicting deploy is gone")
		}
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("record deploy: %w", err)
	}
	d.ID = id
	return true, nil
}

// recordedDeploy looks for the deploy d repeats: the one with its
// idempotency key, else the one of its service, env and SHA that finished
// nearest to it within incident.SameDeployWindow. Found, it sets d to it.
func (t *txn) recordedDeploy(d *incident.Deploy) (bool, error) {
	var err error
	if d.IdempotencyKey != "" {
		err = scanDeploy(t.queryRow(`SELECT `+deployColumns+` FROM deploys WHERE idempotency_key = ?`, d.IdempotencyKey), d)
		if !errors.Is(err, sql.ErrNoRows) {
			return err == nil, wrapDeploy(err)
		}
	}
	at, w := nanos(d.FinishedAt), int64(incident.SameDeployWindow)
	err = scanDeploy(t.queryRow(`SELECT `+deployColumns+` FROM deploys
		WHERE service = ? AND env = ? AND sha = ? AND finished_at BETWEEN ? AND ?
		ORDER BY ABS(finished_at - ?), id LIMIT 1`, d.Service, d.Env, d.SHA, at-w, at+w, at), d)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapDeploy(err)
}

func wrapDeploy(err error) error {
	if err != nil {
		return fmt.Errorf("record deploy: %w", err)
	}
	return nil
}
