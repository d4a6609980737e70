package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/pgtest"
)

// A step finishing on one replica (its job's row, then its incident's
// row) beside a webhook on another (the incident's row, then a new job
// with the same key) waited on each other until PostgreSQL broke the
// cycle a second later. Every batch now locks its incidents first, in
// one order: the step's batch waits for the incident before it touches
// the job, so that at the moment it waits it holds no job row the
// webhook's batch could need.
func TestStepAndWebhookTakeLocksInOneOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLockLab(t)
	stepSide, hookSide := l.replica("wr_deadlock_step"), l.replica("wr_deadlock_hook")
	svc := incident.NewService(hookSide, testRules{}, incident.Options{})
	mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
	inc, err := hookSide.Incident(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	// The step: one of the war room's opening jobs, claimed.
	var claimed incident.Job
	if err := stepSide.Update(ctx, "", func(tx incident.Tx) error {
		jobs, err := tx.ClaimJobs(1, time.Now().Add(time.Hour), time.Hour)
		if len(jobs) == 1 {
			claimed = jobs[0]
		}
		return err
	}); err != nil || claimed.Key == "" {
		t.Fatalf("claim a job of %s: %+v, %v", inc.ID, claimed, err)
	}
	lease := claimed.Lease()
	var args incident.JobArgs
	if err := json.Unmarshal(claimed.Args, &args); err != nil {
		t.Fatal(err)
	}
	update := incident.NewJob(claimed.Kind, inc.ID, args, time.Now()) // its key again

	watch := l.watch
	// waiting waits until the step's batch waits for a lock.
	waiting := func() error { _, err := l.waitingOn("wr_deadlock_step"); return err }

	holding := make(chan struct{})
	hookDone := make(chan error, 1)
	var jobRowFree error
	go func() {
		hookDone <- hookSide.Update(ctx, inc.Key, func(tx incident.Tx) error {
			if _, err := tx.LockOpenIncident(inc.Key); err != nil {
				return err
			}
			close(holding)
			if err := waiting(); err != nil {
				return err
			}
			// The step's batch waits while this one holds the incident:
			// it must not hold the job's row.
			jobRowFree = func() error {
				tx, err := watch.Begin(ctx)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback(ctx) }()
				_, err = tx.Exec(ctx, `SELECT 1 FROM jobs WHERE key = $1 FOR UPDATE NOWAIT`, update.Key)
				return err
			}()
			_, err := tx.Enqueue(update)
			return err
		})
	}()
	select {
	case <-holding:
	case err := <-hookDone:
		t.Fatalf("the webhook's batch ended before it held the incident: %v", err)
	}
	stepErr := stepSide.Update(ctx, inc.ID, func(tx incident.Tx) error {
		if err := tx.FinishJob(lease, incident.JobDone, time.Now(), "", nil); err != nil {
			return err
		}
		_, err := tx.LockIncident(inc.ID)
		return err
	})
	if err := <-hookDone; err != nil || stepErr != nil {
		t.Fatalf("webhook batch: %v; step batch: %v", err, stepErr)
	}
	var pgErr *pgconn.PgError
	if errors.As(jobRowFree, &pgErr) && pgErr.Code == "55P03" {
		t.Fatal("the step's batch held the job's row while it waited for the incident: a webhook enqueueing that job waits on it, a deadlock")
	} else if jobRowFree != nil {
		t.Fatalf("check the job's row: %v", jobRowFree)
	}
}

// A batch that opened an incident (the incident counter's row, its key)
// and then counted war rooms, beside one that counted war rooms first and
// then opened another, waited on each other until PostgreSQL broke the
// cycle. A batch that may open an incident takes the war-room lock before
// any writer runs: the second batch waits for that lock holding nothing
// the first needs.
func TestOpeningAndCountingTakeTheWarRoomLockFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLockLab(t)
	first, second := l.replica("wr_cap_first"), l.replica("wr_cap_second")
	waitingOn := func() (string, error) { return l.waitingOn("wr_cap_second") }
	incidentFor := func(tx incident.Tx, key string) error {
		seq, err := tx.NextSeq("incident")
		if err != nil {
			return err
		}
		return tx.InsertIncident(&incident.Incident{ID: incident.FormatID(seq), Seq: seq, Key: key, Service: key,
			State: incident.Triggered, Severity: incident.Critical, OpenedAt: time.Now(), UpdatedAt: time.Now()})
	}

	opened := make(chan struct{})
	firstDone := make(chan error, 1)
	var waitedOn string
	go func() {
		firstDone <- first.Update(ctx, "rule/service=a", func(tx incident.Tx) error {
			if err := incidentFor(tx, "rule/service=a"); err != nil {
				return err
			}
			close(opened)
			var err error
			if waitedOn, err = waitingOn(); err != nil {
				return err
			}
			_, err = tx.WarRoomsSince(time.Now().Add(-time.Minute))
			return err
		})
	}()
	<-opened
	secondErr := second.Update(ctx, "rule/service=b", func(tx incident.Tx) error {
		if _, err := tx.WarRoomsSince(time.Now().Add(-time.Minute)); err != nil {
			return err
		}
		return incidentFor(tx, "rule/service=b")
	})
	if err := <-firstDone; err != nil || secondErr != nil {
		t.Fatalf("first batch: %v; second batch: %v", err, secondErr)
	}
	if waitedOn != "advisory" {
		t.Fatalf("the second batch waited on a %s lock while the first held its new incident: it held the war-room lock, a deadlock", waitedOn)
	}
}

// lockLab is two or more replicas on one fresh PostgreSQL schema, each
// named by its application_name, and a connection that watches their
// locks.
type lockLab struct {
	t     *testing.T
	dsn   string
	watch *pgx.Conn
}

func newLockLab(t *testing.T) *lockLab {
	t.Helper()
	l := &lockLab{t: t, dsn: pgtest.Fresh(t)}
	watch, err := pgx.Connect(context.Background(), l.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Close(context.Background()) })
	l.watch = watch
	return l
}

// replica opens a store whose connections are named app.
func (l *lockLab) replica(app string) *sqlstore.Store {
	l.t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Postgres, l.dsn+"&application_name="+app, sqlstore.Options{})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitingOn waits until a connection of app waits for a lock, and returns
// the kind of lock (pg_locks.locktype).
func (l *lockLab) waitingOn(app string) (string, error) {
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var kind string
		err := l.watch.QueryRow(ctx, `SELECT l.locktype FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE a.application_name = $1 AND NOT l.granted LIMIT 1`, app).Scan(&kind)
		if err == nil {
			return kind, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
		time.Sleep(time.Millisecond) // polling the server's state
	}
	return "", fmt.Errorf("%s never waited for a lock", app)
}
