package incident_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/storetest"
)

// warRoomRules opens a war room for every alert, keyed by its service.
type warRoomRules struct{}

func (warRoomRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i, a := range alerts {
		v := 0.031
		out[i] = incident.Decision{Action: incident.ActionWarRoom, Rule: "r", Key: "r/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: "prod", Severity: incident.Critical, Value: &v}
	}
	return out
}

func openWarRoom(t *testing.T, svc *incident.Service, service string) {
	t.Helper()
	d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: "firing", ReceivedAt: time.Now(),
		Alerts: []incident.Alert{{Fingerprint: "fp-" + service, Status: incident.AlertFiring, Source: incident.SourceAlertmanager,
			Labels: map[string]string{"alertname": "HighErrorRate", "service": service}, StartsAt: time.Now()}}}
	if _, err := svc.Ingest(context.Background(), d); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

// onWarRoom runs fn on each store, in parallel, with a war room opened for
// the service pay (INC-1) and its opening steps due.
func onWarRoom(t *testing.T, fn func(t *testing.T, b storetest.Backend, dsn string, s *sqlstore.Store, svc *incident.Service)) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			dsn := b.DSN(t)
			s := b.Open(t, dsn)
			svc := incident.NewService(s, warRoomRules{}, incident.Options{})
			openWarRoom(t, svc, "pay")
			fn(t, b, dsn, s, svc)
		})
	}
}

// run is one run of a job as an executor saw it.
type run struct {
	key      string
	attempt  int
	firstRun bool
}

// recorder is an executor that records every run and succeeds, unless
// block says to hold the run.
type recorder struct {
	mu    sync.Mutex
	runs  []run
	block func(ctx context.Context, j incident.Job) error
}

func (r *recorder) Execute(ctx context.Context, j incident.Job) error {
	r.mu.Lock()
	r.runs = append(r.runs, run{j.Key, j.Attempt, j.FirstRun()})
	r.mu.Unlock()
	if r.block != nil {
		return r.block(ctx, j)
	}
	return nil
}

func (r *recorder) all() []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs...)
}

func (r *recorder) ran(key string) int {
	n := 0
	for _, x := range r.all() {
		if x.key == key {
			n++
		}
	}
	return n
}

// logCounter counts log records whose message starts with prefix and,
// if job is set, that are about that job.
type logCounter struct {
	prefix, job string
	n           *atomic.Int64
	attrs       []slog.Attr
}

func (h logCounter) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, h.prefix) {
		return nil
	}
	if h.job != "" && !slices.ContainsFunc(h.attrs, func(a slog.Attr) bool { return a.Key == "job" && a.Value.String() == h.job }) {
		return nil
	}
	h.n.Add(1)
	return nil
}
func (h logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h logCounter) WithAttrs(a []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clone(h.attrs), a...)
	return h
}
func (h logCounter) WithGroup(string) slog.Handler { return h }

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startWorker(t *testing.T, w *incident.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

func jobStates(t *testing.T, s incident.Store, id string) map[string]incident.JobStatus {
	t.Helper()
	jobs, err := s.Jobs(context.Background(), id)
	if err != nil {
		t.Fatalf("jobs of %s: %v", id, err)
	}
	out := map[string]incident.JobStatus{}
	for _, j := range jobs {
		out[j.Key] = j
	}
	return out
}

func allDone(t *testing.T, s incident.Store, id string, want int) func() bool {
	return func() bool {
		states := jobStates(t, s, id)
		if len(states) < want {
			return false
		}
		for _, j := range states {
			if j.State != incident.JobDone {
				return false
			}
		}
		return true
	}
}

// A claim whose commit fails (here a real COMMIT that the database
// refuses) runs nothing: the jobs are not the worker's, and running them
// would run them beside the next claim, each as a "first" run. Once
// commits succeed again every job runs exactly once, as a first run.
func TestWorkerRunsOnlyCommittedClaims(t *testing.T) {
	onWarRoom(t, func(t *testing.T, b storetest.Backend, dsn string, s *sqlstore.Store, _ *incident.Service) {
		fault := storetest.FailCommits(t, b.Driver, dsn, "jobs")
		fault.On(t)

		var failedClaims atomic.Int64
		rec := &recorder{}
		w := incident.NewWorker(s, rec, incident.WorkerOptions{Poll: 10 * time.Millisecond,
			Logger: slog.New(logCounter{prefix: "claim jobs", n: &failedClaims})})
		startWorker(t, w)
		waitUntil(t, 10*time.Second, "three claims to fail at commit", func() bool { return failedClaims.Load() >= 3 })
		if runs := rec.all(); len(runs) != 0 {
			t.Fatalf("jobs ran although their claim did not commit: %+v", runs)
		}

		fault.Off(t)
		// The three opening steps and the six they cause.
		waitUntil(t, 20*time.Second, "every step of the war room done", allDone(t, s, "INC-1", 9))
		for key, j := range jobStates(t, s, "INC-1") {
			if n := rec.ran(key); n != 1 {
				t.Errorf("%s ran %d times, want once", key, n)
			}
			if j.Attempt != 1 {
				t.Errorf("%s finished at attempt %d, want 1", key, j.Attempt)
			}
		}
		for _, r := range rec.all() {
			if !r.firstRun || r.attempt != 1 {
				t.Errorf("run %+v: want a first run", r)
			}
		}
	})
}

// A commit that fails after a step reached the outside (the outcome could
// not be recorded) makes the next run look for what it made: the run is
// not a first run.
func TestWorkerRunAfterFailedOutcomeLooks(t *testing.T) {
	onWarRoom(t, func(t *testing.T, b storetest.Backend, dsn string, s *sqlstore.Store, _ *incident.Service) {
		fault := storetest.FailCommits(t, b.Driver, dsn, "jobs")
		const key = "slack.create_channel:INC-1"
		var failedOutcomes atomic.Int64
		once := sync.Once{}
		rec := &recorder{block: func(_ context.Context, j incident.Job) error {
			if j.Key == key {
				// The outside call is made; then the store fails the
				// commit of its outcome.
				once.Do(func() { fault.On(t) })
			}
			return nil
		}}
		w := incident.NewWorker(s, rec, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: 600 * time.Millisecond,
			Logger: slog.New(logCounter{prefix: "record job outcome", job: key, n: &failedOutcomes})})
		startWorker(t, w)
		waitUntil(t, 10*time.Second, "the outcome's commit to fail", func() bool { return failedOutcomes.Load() >= 1 })
		fault.Off(t)
		waitUntil(t, 20*time.Second, "every step of the war room done", allDone(t, s, "INC-1", 9))
		var runs []run
		for _, r := range rec.all() {
			if r.key == key {
				runs = append(runs, r)
			}
		}
		if len(runs) != 2 || !runs[0].firstRun || runs[1].firstRun || runs[1].attempt != 2 {
			t.Fatalf("runs of %s: %+v; want a first run, then one that looks (attempt 2)", key, runs)
		}
	})
}

// partitioned is a store that a worker cannot reach while cut is set: its
// process is alive, its calls fail.
type partitioned struct {
	incident.Store
	cut atomic.Bool
}

func (p *partitioned) Update(ctx context.Context, key string, fn func(incident.Tx) error) error {
	if p.cut.Load() {
		return errors.New("network partition")
	}
	return p.Store.Update(ctx, key, fn)
}

// A worker cut off from the store loses the job within the lease: it
// gives the job up before the lease runs out, another worker takes it, as
// a run that looks for what the first made, and the first run, when its
// hung call returns and the partition heals, cannot write a thing.
func TestWorkerLostLeaseFailsOver(t *testing.T) {
	onWarRoom(t, func(t *testing.T, _ storetest.Backend, _ string, s *sqlstore.Store, svc *incident.Service) {
		const key = "slack.create_channel:INC-1"
		const lease = time.Second

		started, release := make(chan struct{}), make(chan struct{})
		type afterRelease struct {
			cause    error
			writeErr error
		}
		outcome := make(chan afterRelease, 1)
		storeA := &partitioned{Store: s}
		svcA := incident.NewService(storeA, warRoomRules{}, incident.Options{})
		a := &recorder{block: func(ctx context.Context, j incident.Job) error {
			if j.Key != key {
				return nil
			}
			close(started)
			<-release               // a call that hangs and ignores cancellation
			storeA.cut.Store(false) // and the partition heals
			_, err := svcA.RecordStep(context.WithoutCancel(ctx), j.IncidentID, func(*incident.Incident) (string, error) {
				return "channel made by the run that lost its lease", nil
			})
			outcome <- afterRelease{context.Cause(ctx), err}
			return err
		}}
		stopA := startWorker(t, incident.NewWorker(storeA, a, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: lease}))
		var releaseOnce sync.Once
		unblock := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(unblock) // before stopA's cleanup, should the test fail early
		<-started
		storeA.cut.Store(true)

		bRec := &recorder{block: func(ctx context.Context, j incident.Job) error {
			if j.Key != key {
				return nil
			}
			_, err := svc.RecordStep(ctx, j.IncidentID, func(*incident.Incident) (string, error) {
				return "channel made by the run that took over", nil
			})
			return err
		}}
		cut := time.Now()
		startWorker(t, incident.NewWorker(s, bRec, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: lease}))
		waitUntil(t, 10*time.Second, "the other worker to take the job", func() bool { return bRec.ran(key) == 1 })
		t.Logf("taken over %s after the heartbeats stopped (lease %s)", time.Since(cut).Round(time.Millisecond), lease)
		if r := bRec.all(); r[len(r)-1].key == key && r[len(r)-1].firstRun {
			t.Errorf("the run that took over is a first run: it would not look for what the first made")
		}
		unblock()
		got := <-outcome
		if !errors.Is(got.cause, incident.ErrLeaseLost) {
			t.Errorf("the first run's context: cause %v, want ErrLeaseLost", got.cause)
		}
		if !errors.Is(got.writeErr, incident.ErrLeaseLost) {
			t.Errorf("the first run's write after losing its lease: %v, want ErrLeaseLost", got.writeErr)
		}
		stopA()
		waitUntil(t, 10*time.Second, "the job done", func() bool { return jobStates(t, s, "INC-1")[key].State == incident.JobDone })
		tl, _ := s.Timeline(context.Background(), "INC-1")
		var steps []string
		for _, e := range tl {
			if strings.HasPrefix(e.Text, "channel made") {
				steps = append(steps, e.Text)
			}
		}
		if fmt.Sprint(steps) != "[channel made by the run that took over]" {
			t.Errorf("timeline steps %q, want only the run that took over", steps)
		}
	})
}

// On shutdown a running job gets ShutdownGrace, then it is cancelled and
// its lease released: the next worker runs it at once, as a run that
// looks for what the cut one made.
func TestWorkerShutdownReleasesLeases(t *testing.T) {
	onWarRoom(t, func(t *testing.T, _ storetest.Backend, _ string, s *sqlstore.Store, _ *incident.Service) {
		const key = "slack.create_channel:INC-1"
		started := make(chan struct{})
		first := &recorder{block: func(ctx context.Context, j incident.Job) error {
			if j.Key != key {
				return nil
			}
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}
		stop := startWorker(t, incident.NewWorker(s, first, incident.WorkerOptions{Poll: 10 * time.Millisecond,
			Lease: time.Hour, ShutdownGrace: 50 * time.Millisecond}))
		<-started
		stop()
		st := jobStates(t, s, "INC-1")[key]
		if st.State != incident.JobPending || st.Attempt != 1 {
			t.Fatalf("job cut short by the shutdown: %+v; want available again (lease released), attempt 1 spent", st)
		}
		second := &recorder{}
		startWorker(t, incident.NewWorker(s, second, incident.WorkerOptions{Poll: 10 * time.Millisecond, Lease: time.Hour}))
		waitUntil(t, 10*time.Second, "the released job to run again", func() bool { return second.ran(key) == 1 })
		for _, r := range second.all() {
			if r.key == key && (r.firstRun || r.attempt != 2) {
				t.Errorf("run after the release: %+v; want attempt 2, not a first run", r)
			}
		}
	})
}

// An outside API whose error text holds a NUL (which the store refuses as
// bad input) still has the job's outcome recorded, NUL dropped.
func TestWorkerRecordsErrorsWithNUL(t *testing.T) {
	onWarRoom(t, func(t *testing.T, _ storetest.Backend, _ string, s *sqlstore.Store, _ *incident.Service) {
		const key = "slack.create_channel:INC-1"
		rec := &recorder{block: func(_ context.Context, j incident.Job) error {
			if j.Key == key {
				return incident.Permanent(errors.New("slack said: bad\x00name"))
			}
			return nil
		}}
		startWorker(t, incident.NewWorker(s, rec, incident.WorkerOptions{Poll: 10 * time.Millisecond}))
		waitUntil(t, 10*time.Second, "the failure recorded", func() bool {
			return jobStates(t, s, "INC-1")[key].State == incident.JobFailed
		})
		if st := jobStates(t, s, "INC-1")[key]; st.LastError != "slack said: badname" {
			t.Errorf("recorded error %q, want the text without its NUL", st.LastError)
		}
		if n := rec.ran(key); n != 1 {
			t.Errorf("%s ran %d times, want once", key, n)
		}
	})
}
