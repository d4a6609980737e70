package incident_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/storetest"
)

// withReminders runs the reminder steps with svc and every other step
// with rest.
type withReminders struct {
	svc  *incident.Service
	rest incident.Executor
}

func (x withReminders) Execute(ctx context.Context, j incident.Job) error {
	if j.Kind == incident.JobRemindAck || j.Kind == incident.JobRemindUpdate {
		return x.svc.Reminders().Execute(ctx, j)
	}
	return x.rest.Execute(ctx, j)
}

// reminderOptions nudge a war room unacknowledged after 2s, and page.
func reminderOptions(clock *clocktest.Clock) incident.Options {
	return incident.Options{Now: clock.Now, Reminders: incident.Reminders{AckWithin: 2 * time.Second, Page: true}}
}

// nudgesOf counts the unacknowledged nudges on the timeline and the
// jobs they made (the Slack nudge, the page).
func nudgesOf(t *testing.T, s incident.Store, id string) (events, slack, pages int) {
	t.Helper()
	tl, err := s.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl {
		if e.Kind == incident.EventNudgedAck {
			events++
		}
	}
	for _, j := range jobStates(t, s, id) {
		switch j.Kind {
		case incident.JobSlackNudge:
			slack++
		case incident.JobPageTrigger:
			pages++
		}
	}
	return events, slack, pages
}

// A reminder is a job due later in the store: the process that scheduled
// it may die before it is due, and the process (or the replicas) that
// open the store after run it once.
func TestReminderOutlivesTheProcessAndRunsOnce(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			dsn := b.DSN(t)
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			first, err := sqlstore.Open(context.Background(), b.Driver, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			svc := incident.NewService(first, warRoomRules{}, reminderOptions(clock))
			openWarRoom(t, svc, "pay")
			rec := &recorder{}
			stop := startWorker(t, incident.NewWorker(first, withReminders{svc, rec}, incident.WorkerOptions{Poll: 10 * time.Millisecond, Now: clock.Now}))
			waitUntil(t, 10*time.Second, "the opening steps", func() bool {
				return rec.ran("slack.create_channel:INC-1") == 1 && rec.ran("jira.create_issue:INC-1") == 1
			})
			// The process dies with the reminder scheduled and not due.
			stop()
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			clock.Add(2 * time.Second)

			// The store opened again: on SQLite by one process, on
			// PostgreSQL by two replicas at once.
			replicas := 1
			if b.Driver == sqlstore.Postgres {
				replicas = 2
			}
			var ran atomic.Int64
			counting := &recorder{block: func(_ context.Context, j incident.Job) error {
				if j.Kind == incident.JobSlackNudge {
					ran.Add(1)
				}
				return nil
			}}
			var stores []*sqlstore.Store
			for range replicas {
				s := b.Open(t, dsn)
				stores = append(stores, s)
				rsvc := incident.NewService(s, warRoomRules{}, reminderOptions(clock))
				startWorker(t, incident.NewWorker(s, withReminders{rsvc, counting}, incident.WorkerOptions{Poll: 10 * time.Millisecond, Now: clock.Now}))
			}
			s := stores[0]
			waitUntil(t, 10*time.Second, "the reminder and its nudge", func() bool {
				st := jobStates(t, s, "INC-1")
				return st["reminder.ack:INC-1"].State == incident.JobDone && st["slack.nudge:reminder.ack:INC-1"].State == incident.JobDone
			})
			events, slack, pages := nudgesOf(t, s, "INC-1")
			if events != 1 || slack != 1 || pages != 1 || ran.Load() != 1 {
				t.Errorf("after the restart: %d nudge events, %d Slack nudges (run %d times), %d pages; want one each", events, slack, ran.Load(), pages)
			}
			if r := jobStates(t, s, "INC-1")["reminder.ack:INC-1"]; r.Attempt != 1 {
				t.Errorf("the reminder ran %d times, want once", r.Attempt)
			}
		})
	}
}

// A run that made its nudge and died before its outcome was stored is
// run again by another worker once its lease runs out: that run, not a
// first one, finds the nudge and makes no second.
func TestReminderRunAgainAfterACrashNudgesOnce(t *testing.T) {
	onWarRoomWith(t, func(clock *clocktest.Clock) incident.Options { return reminderOptions(clock) },
		func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
			const lease = time.Second
			storeA := &partitioned{Store: s}
			svcA := incident.NewService(storeA, warRoomRules{}, reminderOptions(clock))
			nudged, release := make(chan struct{}), make(chan struct{})
			a := &recorder{block: func(ctx context.Context, j incident.Job) error {
				if j.Kind != incident.JobRemindAck {
					return nil
				}
				if err := svcA.Reminders().Execute(ctx, j); err != nil {
					return err
				}
				storeA.cut.Store(true) // the process is gone before its outcome
				close(nudged)
				select { // a hung process: it never records the outcome
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}}
			startWorker(t, incident.NewWorker(storeA, a, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: lease, Now: clock.Now}))
			t.Cleanup(func() { close(release) }) // before the worker's cleanup: they run last first
			clock.Add(2 * time.Second)
			<-nudged
			clock.Add(3 * lease)

			b := &recorder{}
			startWorker(t, incident.NewWorker(s, withReminders{svc, b}, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: lease, Now: clock.Now}))
			waitUntil(t, 10*time.Second, "the reminder taken over", func() bool {
				return jobStates(t, s, "INC-1")["reminder.ack:INC-1"].State == incident.JobDone
			})
			if r := jobStates(t, s, "INC-1")["reminder.ack:INC-1"]; r.Attempt != 2 {
				t.Errorf("the reminder ran %d times, want twice (the crashed run, the one that took over)", r.Attempt)
			}
			waitUntil(t, 10*time.Second, "the nudge sent", func() bool { return b.ran("slack.nudge:reminder.ack:INC-1") == 1 })
			if events, slack, pages := nudgesOf(t, s, "INC-1"); events != 1 || slack != 1 || pages != 1 {
				t.Errorf("%d nudge events, %d Slack nudges, %d pages; want one each", events, slack, pages)
			}
		})
}

// onWarRoomWith is onWarRoom with the service's options made from a
// test clock, which the workers share.
func onWarRoomWith(t *testing.T, opts func(*clocktest.Clock) incident.Options,
	fn func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service)) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t, b.DSN(t))
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			svc := incident.NewService(s, warRoomRules{}, opts(clock))
			openWarRoom(t, svc, "pay")
			fn(t, clock, s, svc)
		})
	}
}

// A war room that reopens needs acknowledging again: unacknowledged
// ack_within after the reopening, it is nudged (and paged) once more,
// by a reminder keyed by the reopening.
func TestReopenedWarRoomIsRemindedAgain(t *testing.T) {
	onWarRoomWith(t, reminderOptions, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		ctx := context.Background()
		if _, err := svc.Ack(ctx, "INC-1", "U1"); err != nil {
			t.Fatal(err)
		}
		breach(t, svc, incident.AlertResolved, "pay")
		clock.Add(time.Minute)
		if r := breach(t, svc, incident.AlertFiring, "pay")[0]; r.Outcome != incident.OutcomeReopened {
			t.Fatalf("the alert firing again: %s, want reopened", r.Outcome)
		}
		rec := &recorder{}
		startWorker(t, incident.NewWorker(s, withReminders{svc, rec}, incident.WorkerOptions{Poll: 10 * time.Millisecond, Now: clock.Now}))
		clock.Add(3 * time.Second)
		t.Cleanup(func() {
			if t.Failed() {
				for k, j := range jobStates(t, s, "INC-1") {
					t.Logf("job %s %s run_at %s attempt %d %s", k, j.State, j.RunAt.Sub(clock.Now()), j.Attempt, j.LastError)
				}
			}
		})
		waitUntil(t, 10*time.Second, "the reopening's nudge", func() bool {
			events, _, _ := nudgesOf(t, s, "INC-1")
			return events == 1
		})
		events, slack, pages := nudgesOf(t, s, "INC-1")
		if events != 1 || slack != 1 || pages != 1 {
			t.Errorf("%d nudge events, %d Slack nudges, %d pages after the reopening; want one each", events, slack, pages)
		}
		tl := timeline(t, s, "INC-1")
		for _, e := range tl {
			if e.Kind == incident.EventNudgedAck && !strings.HasSuffix(e.Text, "after the war room reopened") {
				t.Errorf("the nudge says %q, want it to count from the reopening", e.Text)
			}
		}
	})
}
