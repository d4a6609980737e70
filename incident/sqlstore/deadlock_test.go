package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
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
	dsn := pgtest.Fresh(t)
	ctx := context.Background()
	open := func(app string) *sqlstore.Store {
		s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn+"&application_name="+app, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	stepSide, hookSide := open("wr_deadlock_step"), open("wr_deadlock_hook")
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

	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = watch.Close(ctx) }()
	// waiting waits until the step's batch waits for a lock.
	waiting := func() error {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var n int
			if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE application_name = 'wr_deadlock_step' AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			time.Sleep(time.Millisecond) // polling the server's state
		}
		return errors.New("the step's batch never waited for the incident")
	}

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
