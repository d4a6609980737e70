package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// A job keeps the trace of the webhook that caused it (migration 0010),
// on both drivers: the run, maybe on another replica, continues it.
func TestJobKeepsTraceParent(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
			SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			TraceFlags: trace.FlagsSampled})
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		const want = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		if _, err := svc.Ingest(ctx, delivery(alert("pay", "a1", "0.031", incident.AlertFiring))); err != nil {
			t.Fatal(err)
		}
		// Without a span in the context, a job has no trace.
		mustIngest(t, svc, delivery(alert("shop", "b1", "0.031", incident.AlertFiring)))
		var jobs []incident.Job
		if err := s.Update(context.Background(), "", func(tx incident.Tx) (err error) {
			jobs, err = tx.ClaimJobs(100, time.Now(), time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		traced := 0
		for _, j := range jobs {
			switch {
			case j.IncidentID == "INC-1" && j.TraceParent == want:
				traced++
			case j.IncidentID == "INC-2" && j.TraceParent == "":
			default:
				t.Errorf("%s of %s: trace parent %q", j.Key, j.IncidentID, j.TraceParent)
			}
		}
		if traced == 0 {
			t.Fatalf("no job of INC-1 among %d claimed", len(jobs))
		}
		// The run continues the trace: its parent is the stored span.
		got := trace.SpanContextFromContext(incident.RemoteParent(context.Background(), want))
		if got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() || !got.IsSampled() || !got.IsRemote() {
			t.Errorf("remote parent of %s: %+v", want, got)
		}
	})
}

// JobQueue counts the queue by kind and state and finds the oldest due
// job, on both drivers.
func TestJobQueue(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
		now := t0
		svc := incident.NewService(s, testRules{}, incident.Options{Now: func() time.Time { return now }})
		count := func(at time.Time) (map[[2]string]int, time.Time) {
			t.Helper()
			q, err := s.JobQueue(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			n := map[[2]string]int{}
			for _, c := range q.Counts {
				n[[2]string{string(c.Kind), string(c.State)}] += c.N
			}
			return n, q.OldestDue
		}
		if n, oldest := count(t0); len(n) != 0 || !oldest.IsZero() {
			t.Fatalf("empty store: %v, oldest %v", n, oldest)
		}
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		n, oldest := count(t0.Add(-time.Second))
		if n[[2]string{"slack.create_channel", "available"}] != 1 || n[[2]string{"jira.create_issue", "available"}] != 1 {
			t.Fatalf("after a war room opened: %v", n)
		}
		if !oldest.IsZero() {
			t.Errorf("a second before the jobs are due, the oldest due is %v, want none", oldest)
		}
		if _, oldest = count(t0.Add(3 * time.Minute)); !oldest.Equal(t0) {
			t.Errorf("oldest due job due since %v, want %v", oldest, t0)
		}
		var jobs []incident.Job
		if err := s.Update(ctx, "", func(tx incident.Tx) (err error) {
			jobs, err = tx.ClaimJobs(100, t0, time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Kind != incident.JobSlackCreateChannel {
				continue
			}
			if err := s.Update(ctx, "", func(tx incident.Tx) error {
				return tx.FinishJob(j.Lease(), incident.JobFailed, t0, "channel_limit", nil)
			}); err != nil {
				t.Fatal(err)
			}
		}
		n, oldest = count(t0.Add(time.Minute))
		if n[[2]string{"slack.create_channel", "failed"}] != 1 || n[[2]string{"jira.create_issue", "running"}] != 1 ||
			n[[2]string{"jira.create_issue", "available"}] != 0 {
			t.Errorf("after the claim and a failure: %v", n)
		}
		if !oldest.IsZero() {
			t.Errorf("every due job is claimed, yet the oldest due is %v", oldest)
		}
	})
}
