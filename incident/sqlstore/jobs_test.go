package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// The queue keeps River's contract for leases: a claim holds its job until
// its lease runs out unless renewed; once another claim holds the job, the
// old one can neither renew, nor write, nor record an outcome; a snooze
// gives the attempt back, a release at shutdown does not.
func TestLeases(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		t0 := time.Now()
		update := func(fn func(tx incident.Tx) error) error { return s.Update(ctx, "", fn) }
		claimOne := func(now time.Time, kind incident.JobKind) incident.Job {
			t.Helper()
			var jobs []incident.Job
			if err := update(func(tx incident.Tx) (err error) { jobs, err = tx.ClaimJobs(10, now, time.Minute); return }); err != nil {
				t.Fatalf("claim: %v", err)
			}
			var out *incident.Job
			for i := range jobs {
				if jobs[i].Kind == kind {
					out = &jobs[i]
				} else if err := update(func(tx incident.Tx) error {
					return tx.FinishJob(jobs[i].Lease(), incident.JobSnooze, now.Add(time.Hour), "", nil)
				}); err != nil {
					t.Fatalf("put back %s: %v", jobs[i].Key, err)
				}
			}
			if out == nil {
				t.Fatalf("no %s among the claimed jobs %+v", kind, jobs)
			}
			return *out
		}
		first := claimOne(t0, incident.JobSlackCreateChannel)
		if first.Attempt != 1 || first.Runs != 1 || !first.FirstRun() || !first.LastRunAt.IsZero() {
			t.Fatalf("first claim: %+v, want attempt 1, run 1, a first run", first)
		}
		var lost []int64
		if err := update(func(tx incident.Tx) (err error) {
			lost, err = tx.ExtendLeases([]incident.Lease{first.Lease()}, t0.Add(2*time.Minute))
			return
		}); err != nil || len(lost) != 0 {
			t.Fatalf("heartbeat of a held lease: lost %v, %v", lost, err)
		}
		rescue := func(now time.Time) int {
			var n int
			if err := update(func(tx incident.Tx) (err error) { n, err = tx.RescueJobs(now); return }); err != nil {
				t.Fatalf("rescue: %v", err)
			}
			return n
		}
		if n := rescue(t0.Add(90 * time.Second)); n != 0 {
			t.Fatalf("rescued %d jobs whose renewed lease still holds", n)
		}
		if n := rescue(t0.Add(3 * time.Minute)); n != 1 {
			t.Fatalf("rescued %d jobs after the lease ran out, want 1", n)
		}
		if err := update(func(tx incident.Tx) error { return tx.CheckLease(first.Lease()) }); !errors.Is(err, incident.ErrLeaseLost) {
			t.Fatalf("check of a rescued lease: %v, want ErrLeaseLost", err)
		}
		second := claimOne(t0.Add(3*time.Minute), incident.JobSlackCreateChannel)
		if second.Attempt != 2 || second.Runs != 2 || second.FirstRun() || !second.LastRunAt.Equal(t0.Truncate(time.Nanosecond)) {
			t.Fatalf("claim after a rescue: %+v, want attempt 2, run 2, not a first run, last run at %v", second, t0)
		}
		if err := update(func(tx incident.Tx) (err error) {
			lost, err = tx.ExtendLeases([]incident.Lease{first.Lease(), second.Lease()}, t0.Add(4*time.Minute))
			return
		}); err != nil || len(lost) != 1 || lost[0] != first.ID {
			t.Fatalf("heartbeat of the old and the new lease: lost %v, %v; want the old one lost", lost, err)
		}
		// The old run can record nothing, not even a failure on the timeline.
		err := update(func(tx incident.Tx) error {
			return tx.FinishJob(first.Lease(), incident.JobFailed, t0, "old run", nil)
		})
		if !errors.Is(err, incident.ErrLeaseLost) {
			t.Fatalf("outcome of the old run: %v, want ErrLeaseLost", err)
		}
		if err := update(func(tx incident.Tx) error { return tx.ReleaseJob(first.Lease(), t0) }); !errors.Is(err, incident.ErrLeaseLost) {
			t.Fatalf("release by the old run: %v, want ErrLeaseLost", err)
		}
		if _, err := svc.RecordStep(incident.WithLease(ctx, first.Lease()), "INC-1", func(*incident.Incident) (string, error) {
			return "written by a run that lost its lease", nil
		}); !errors.Is(err, incident.ErrLeaseLost) {
			t.Fatalf("a step written by the old run: %v, want ErrLeaseLost", err)
		}
		if _, err := svc.RecordStep(incident.WithLease(ctx, second.Lease()), "INC-1", func(*incident.Incident) (string, error) {
			return "written by the run that holds the job", nil
		}); err != nil {
			t.Fatalf("a step written by the holder: %v", err)
		}
		tl, _ := s.Timeline(ctx, "INC-1")
		for _, e := range tl {
			if e.Text == "written by a run that lost its lease" || strings.Contains(e.Text, "old run") {
				t.Errorf("the run that lost its lease wrote %q", e.Text)
			}
		}
		job := func(id int64) incident.JobStatus {
			t.Helper()
			jobs, err := s.Jobs(ctx, "INC-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				if j.ID == id {
					return j
				}
			}
			t.Fatalf("job %d gone", id)
			return incident.JobStatus{}
		}
		if st := job(second.ID); st.State != incident.JobRunning {
			t.Fatalf("after the old run's writes the job is %s, want still running for the new one", st.State)
		}

		// A snooze gives the attempt back and keeps the time of the last
		// run that may have reached the outside.
		t1 := t0.Add(5 * time.Minute)
		if err := update(func(tx incident.Tx) error {
			return tx.FinishJob(second.Lease(), incident.JobSnooze, t1, "429", nil)
		}); err != nil {
			t.Fatal(err)
		}
		third := claimOne(t1, incident.JobSlackCreateChannel)
		if third.Attempt != 2 || third.Runs != 3 || !third.LastRunAt.Equal(t0.Truncate(time.Nanosecond)) {
			t.Fatalf("claim after a snooze: %+v, want attempt 2, run 3, last run at %v", third, t0)
		}
		// A release at shutdown keeps the attempt spent and makes the job
		// due at once.
		if err := update(func(tx incident.Tx) error { return tx.ReleaseJob(third.Lease(), t1) }); err != nil {
			t.Fatal(err)
		}
		if st := job(third.ID); st.State != incident.JobPending || st.Attempt != 2 {
			t.Fatalf("released job: %+v, want available with attempt 2 spent", st)
		}
		fourth := claimOne(t1, incident.JobSlackCreateChannel)
		if fourth.Attempt != 3 || fourth.FirstRun() || !fourth.LastRunAt.Equal(t1.Truncate(time.Nanosecond)) {
			t.Fatalf("claim after a release: %+v, want attempt 3, last run at %v", fourth, t1)
		}
		if err := update(func(tx incident.Tx) error {
			return tx.FinishJob(fourth.Lease(), incident.JobDone, t1, "", incident.Successors(fourth, t1))
		}); err != nil {
			t.Fatal(err)
		}
		if st := job(fourth.ID); st.State != incident.JobDone {
			t.Fatalf("finished job: %+v", st)
		}
	})
}

// A coalesced job's key is renamed once when it is first claimed; a
// rescued run keeps that name, so a rescue never makes a job look new.
func TestCoalescedKeyStableAcrossRescues(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		now := time.Now().Add(time.Minute)
		var keys []string
		for round := range 4 {
			var claimed []incident.Job
			if err := s.Update(ctx, "", func(tx incident.Tx) (err error) {
				if _, err = tx.RescueJobs(now); err != nil {
					return err
				}
				claimed, err = tx.ClaimJobs(100, now, time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, j := range claimed {
				if j.Kind == incident.JobSlackUpdate {
					keys = append(keys, j.Key)
					if j.Runs != round+1 {
						t.Errorf("round %d: update claimed as run %d", round, j.Runs)
					}
				}
			}
			now = now.Add(2 * time.Second) // every lease of the round runs out
		}
		if len(keys) != 4 {
			t.Fatalf("the update was claimed %d times over 4 rescues, want 4: %v", len(keys), keys)
		}
		for _, k := range keys {
			if k != keys[0] || len(k) > len("slack.update:INC-1#")+20 {
				t.Fatalf("keys of one coalesced job across rescues: %v, want one stable key", keys)
			}
		}
	})
}

// A job snoozed waiting for another step is made due at once when that
// step wakes it (its result recorded, or a run of it completed), and at
// once when the step it awaits had completed before the snooze.
func TestAwaitAndWake(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		t0 := time.Now()
		update := func(fn func(tx incident.Tx) error) {
			t.Helper()
			if err := s.Update(ctx, "", fn); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(now time.Time) map[incident.JobKind]incident.Job {
			t.Helper()
			var jobs []incident.Job
			update(func(tx incident.Tx) (err error) { jobs, err = tx.ClaimJobs(10, now, time.Minute); return })
			out := map[incident.JobKind]incident.Job{}
			for _, j := range jobs {
				out[j.Kind] = j
			}
			return out
		}
		snooze := func(j incident.Job, now time.Time) {
			t.Helper()
			update(func(tx incident.Tx) error {
				if err := tx.FinishJob(j.Lease(), incident.JobSnooze, now.Add(time.Hour), "waiting", nil); err != nil {
					return err
				}
				return tx.AwaitJob(j.Lease(), incident.JobCorrelateGather, now)
			})
		}
		jobs := claim(t0)
		ticket, gather := jobs[incident.JobJiraCreateIssue], jobs[incident.JobCorrelateGather]
		if ticket.ID == 0 || gather.ID == 0 {
			t.Fatalf("claimed %v", jobs)
		}
		snooze(ticket, t0)
		if got := claim(t0.Add(time.Minute)); len(got) != 0 {
			t.Fatalf("a snoozed job ran before its time: %v", got)
		}
		var n int
		update(func(tx incident.Tx) (err error) {
			n, err = tx.WakeJobs("INC-1", incident.JobSlackCreateChannel, t0)
			return
		})
		if n != 0 {
			t.Errorf("waking the jobs that await another step woke %d", n)
		}
		update(func(tx incident.Tx) (err error) {
			n, err = tx.WakeJobs("INC-1", incident.JobCorrelateGather, t0)
			return
		})
		if n != 1 {
			t.Fatalf("woke %d jobs, want the ticket", n)
		}
		ticket = claim(t0.Add(time.Minute))[incident.JobJiraCreateIssue]
		if ticket.ID == 0 {
			t.Fatal("the woken job is not due")
		}
		if ticket.Attempt != 1 {
			t.Errorf("a woken snooze spent an attempt: %d", ticket.Attempt)
		}

		update(func(tx incident.Tx) error {
			return tx.FinishJob(gather.Lease(), incident.JobDone, t0, "", nil)
		})
		snooze(ticket, t0.Add(time.Minute))
		if ticket = claim(t0.Add(time.Minute))[incident.JobJiraCreateIssue]; ticket.ID == 0 {
			t.Fatal("a job awaiting a step that has completed was snoozed all the same")
		}
	})
}
