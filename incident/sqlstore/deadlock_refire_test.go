package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warroom/warroom/incident"
)

// A step finishing on a resolved incident (its batch keyed by the
// incident's ID) beside a webhook firing the incident's key again (no
// open incident: the war-room lock first, then LastResolved ... FOR
// UPDATE on the resolved row). The step's batch used to take the
// war-room lock after the row, as every batch keyed by an ID did (no open
// incident has that key), and the two waited on each other until
// PostgreSQL broke the cycle; a storm made it common (every child runs
// correlate.gather, and a flapping child's alert resolves and fires
// again meanwhile). The step's batch now opens nothing, takes no
// war-room lock, and finishes while the webhook holds it.
func TestStepOnResolvedIncidentBesideItsRefire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLockLab(t)
	stepSide, hookSide := l.replica("wr_step_resolved"), l.replica("wr_hook_refire")
	svc := incident.NewService(hookSide, testRules{}, incident.Options{})
	mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
	mustIngest(t, svc, delivery(alert("pay", "a1", "0.001", incident.AlertResolved)))
	inc, err := hookSide.Incident(ctx, "INC-1")
	if err != nil || inc.State != incident.Resolved {
		t.Fatalf("INC-1: %v, %v; want it resolved", inc, err)
	}

	holding, stepped := make(chan struct{}), make(chan error, 1)
	var once sync.Once
	hookDone := make(chan error, 1)
	go func() {
		hookDone <- hookSide.Update(ctx, inc.Key, func(tx incident.Tx) error {
			if _, err := tx.LockOpenIncident(inc.Key); err != nil { // none: the batch takes the war-room lock
				return err
			}
			// The lock waits in the pipe for the next round trip (in a
			// webhook's batch, LastResolved's own): send it now.
			if _, err := tx.WarRoomsSince(time.Now()); err != nil {
				return err
			}
			first := false
			once.Do(func() { first = true })
			if first {
				close(holding)
				// The step's batch must finish while this one holds the
				// war-room lock; one that waits for it instead shows in
				// pg_locks.
				for {
					select {
					case err := <-stepped:
						if err != nil {
							return err
						}
					default:
						var kind string
						err := l.watch.QueryRow(ctx, `SELECT l.locktype FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
							WHERE a.application_name = 'wr_step_resolved' AND NOT l.granted LIMIT 1`).Scan(&kind)
						switch {
						case err == nil:
							return fmt.Errorf("the step's batch waits for the %s lock while it holds %s's row, which this batch's LastResolved locks next: a deadlock", kind, inc.ID)
						case !errors.Is(err, pgx.ErrNoRows):
							return err
						}
						time.Sleep(time.Millisecond) // polling the server's state
						continue
					}
					break
				}
			}
			_, err := tx.LastResolved(inc.Key)
			return err
		})
	}()
	<-holding
	stepped <- stepSide.Update(ctx, inc.ID, func(tx incident.Tx) error {
		_, err := tx.LockIncident(inc.ID)
		return err
	})
	if err := <-hookDone; err != nil {
		t.Fatal(err)
	}
}
