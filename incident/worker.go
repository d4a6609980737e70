package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Executor performs one side-effect step. It must be idempotent: unless
// j.FirstRun(), it looks for what an earlier run of the same job made
// before making it. It returns Permanent(err) for failures that retrying
// cannot fix and a *SnoozeError to wait without spending an attempt; it
// snoozes only before it has changed anything outside (a snooze gives the
// attempt back, so the next run may skip the look-up).
type Executor interface {
	Execute(ctx context.Context, j Job) error
}

// WorkerOptions tune a Worker. Zero values take the defaults.
type WorkerOptions struct {
	Concurrency int           // jobs run at once; default 8 (steps wait on outside APIs, not CPU)
	Poll        time.Duration // how often to look for due jobs without a wake-up; default 250ms
	// Lease is how long a claimed job is ours without a heartbeat before
	// another worker may take it; default 15s, so that a job held by a
	// process that died runs again within Lease + Lease/3 (20 s).
	Lease time.Duration
	// Heartbeat is how often the leases of running jobs are renewed;
	// default Lease/3, so that two heartbeats may fail before one runs out.
	Heartbeat time.Duration
	// Timeout bounds one run of a job; default 1m.
	Timeout time.Duration
	// ShutdownGrace is how long running jobs may go on once Run's context
	// ends; then they are cancelled and their leases released, so that the
	// next worker (another replica, or this one restarted) takes them at
	// once. Default 5s.
	ShutdownGrace time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
	// Observe, if set, is told the outcome and duration of every run.
	Observe func(kind JobKind, outcome JobOutcome, d time.Duration)
	// Tracer, if set, makes every run a span of the trace the job was
	// enqueued in (Job.TraceParent); tracing is off without one.
	Tracer trace.Tracer
}

// The WorkerOptions defaults.
const (
	DefaultLease         = 15 * time.Second
	DefaultJobTimeout    = time.Minute
	DefaultShutdownGrace = 5 * time.Second
)

// Worker runs due jobs from a Store with an Executor, at least once each.
type Worker struct {
	store Store
	exec  Executor
	opts  WorkerOptions
	wake  chan struct{}

	mu      sync.Mutex
	running map[int64]*runningJob
}

// runningJob is a job this worker runs, its lease and how to stop it.
type runningJob struct {
	lease  Lease
	until  time.Time // when the lease runs out unless renewed
	cancel context.CancelCauseFunc
}

// errShutdown is the cause of the cancellation of a run cut short by Run's
// context ending after ShutdownGrace.
var errShutdown = errors.New("worker shutting down")

// NewWorker returns a worker; call Run to start it.
func NewWorker(store Store, exec Executor, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Heartbeat <= 0 || opts.Heartbeat >= opts.Lease {
		opts.Heartbeat = opts.Lease / 3
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultJobTimeout
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, exec: exec, opts: opts, wake: make(chan struct{}, 1), running: map[int64]*runningJob{}}
}

// Notify tells the worker that jobs may be due now.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends. Then it gives the running jobs
// ShutdownGrace to finish, cancels the rest and releases their leases.
// Jobs not yet claimed stay for the next start.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	// Runs outlive ctx by up to ShutdownGrace: they have a context of
	// their own, cancelled by the heartbeat or by the shutdown below.
	runCtx, stopRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRuns(errShutdown)
	beatDone := make(chan struct{})
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(beatDone)
		w.heartbeat(beatCtx)
	}()
	defer func() {
		w.drain(&wg, stopRuns)
		stopBeat()
		<-beatDone
	}()

	slots := make(chan struct{}, w.opts.Concurrency)
	ticker := time.NewTicker(w.opts.Poll)
	defer ticker.Stop()
	rescueEvery := w.opts.Lease / 3
	var lastRescue time.Time
	for {
		if time.Since(lastRescue) >= rescueEvery {
			lastRescue = time.Now()
			w.rescue(ctx)
		}
		free := cap(slots) - len(slots)
		var jobs []Job
		if free > 0 && ctx.Err() == nil {
			now := w.opts.Now()
			err := w.store.Update(ctx, "", func(tx Tx) error {
				var err error
				jobs, err = tx.ClaimJobs(free, now, w.opts.Lease)
				return err
			})
			if err != nil {
				// Not committed: the jobs are not ours, and running them
				// would run them beside whoever claims them next.
				jobs = nil
				if ctx.Err() == nil {
					w.opts.Logger.Error("claim jobs", "err", err)
				}
			}
			for _, j := range jobs {
				w.track(j, now)
			}
		}
		for _, j := range jobs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots; w.Notify() }()
				w.run(runCtx, j)
			}()
		}
		if len(jobs) == free && free > 0 {
			continue // there may be more due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-ticker.C:
		}
	}
}

// drain waits ShutdownGrace for the running jobs, then cancels them; each
// releases its lease as it stops.
func (w *Worker) drain(wg *sync.WaitGroup, stopRuns context.CancelCauseFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(w.opts.ShutdownGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	w.mu.Lock()
	n := len(w.running)
	w.mu.Unlock()
	w.opts.Logger.Warn("shutdown grace over: cancelling running jobs and releasing their leases", "jobs", n)
	stopRuns(errShutdown)
	<-done
}

// track registers a claimed job for the heartbeat; its context comes when
// it starts.
func (w *Worker) track(j Job, claimedAt time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running[j.ID] = &runningJob{lease: j.Lease(), until: claimedAt.Add(w.opts.Lease)}
}

func (w *Worker) untrack(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.running, id)
}

// heartbeat renews the leases of the running jobs every Heartbeat, all in
// one transaction. A job whose lease no longer holds, or ran out because
// the store did not answer in time, is cancelled: another worker may run
// it now, and this run must stop before it writes.
func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		leases := make([]Lease, 0, len(w.running))
		for _, r := range w.running {
			leases = append(leases, r.lease)
		}
		w.mu.Unlock()
		if len(leases) == 0 {
			continue
		}
		now := w.opts.Now()
		until := now.Add(w.opts.Lease)
		var lost []int64
		err := w.store.Update(ctx, "", func(tx Tx) error {
			var err error
			lost, err = tx.ExtendLeases(leases, until)
			return err
		})
		w.mu.Lock()
		if err == nil {
			for _, l := range leases {
				if r := w.running[l.JobID]; r != nil && r.lease == l {
					r.until = until
				}
			}
			for _, id := range lost {
				if r := w.running[id]; r != nil && r.cancel != nil {
					r.cancel(ErrLeaseLost)
				}
			}
		} else if ctx.Err() == nil {
			w.opts.Logger.Warn("renew job leases", "jobs", len(leases), "err", err)
		}
		for _, r := range w.running {
			// A lease that would run out before the next heartbeat is
			// given up now, before another worker can take the job.
			if r.cancel != nil && !now.Add(w.opts.Heartbeat).Before(r.until) {
				r.cancel(ErrLeaseLost)
			}
		}
		w.mu.Unlock()
	}
}

// rescue frees jobs left running by a process that died.
func (w *Worker) rescue(ctx context.Context) {
	var n int
	err := w.store.Update(ctx, "", func(tx Tx) error {
		var err error
		n, err = tx.RescueJobs(w.opts.Now())
		return err
	})
	switch {
	case err != nil && ctx.Err() == nil:
		w.opts.Logger.Error("rescue jobs", "err", err)
	case n > 0:
		w.opts.Logger.Info("rescued jobs whose lease ran out (their process died or stalled)", "jobs", n)
	}
}

// run executes one claimed job and records the outcome. The outcome is
// recorded even while shutting down, so that a finished job is not run
// again; a run cut short by the shutdown releases its lease instead, and a
// run that lost its lease records nothing.
func (w *Worker) run(parent context.Context, j Job) {
	defer w.untrack(j.ID)
	ctx, cancel := context.WithCancelCause(WithLease(parent, j.Lease()))
	defer cancel(nil)
	w.mu.Lock()
	if r := w.running[j.ID]; r != nil {
		r.cancel = cancel
	}
	w.mu.Unlock()
	ctx, cancelTimeout := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancelTimeout()

	start := time.Now()
	var span trace.Span
	if w.opts.Tracer != nil {
		ctx, span = w.opts.Tracer.Start(RemoteParent(ctx, j.TraceParent), "job "+string(j.Kind),
			trace.WithAttributes(attribute.String("warroom.job.kind", string(j.Kind)), attribute.String("warroom.incident", j.IncidentID),
				attribute.Int("warroom.job.attempt", j.Attempt)))
		defer span.End()
	}
	err := w.safeExecute(ctx, j)
	if span != nil && err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	now := w.opts.Now()
	log := w.opts.Logger.With("job", j.Key, "attempt", j.Attempt, "run", j.Runs)
	// The record is written whatever happened to the run's context.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), w.opts.Timeout)
	defer rcancel()

	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrLeaseLost):
		log.Warn("job lease lost: stopped; a later claim runs it", "err", err)
		w.observe(j.Kind, JobRunning, start)
		return
	case errors.Is(cause, errShutdown):
		uerr := w.store.Update(rctx, j.IncidentID, func(tx Tx) error { return tx.ReleaseJob(j.Lease(), now) })
		if uerr != nil {
			log.Error("release job lease at shutdown; it runs again when the lease runs out", "err", uerr)
		} else {
			log.Info("job cut short by shutdown: lease released", "err", err)
		}
		w.observe(j.Kind, JobPending, start)
		return
	}

	outcome, runAt, errText := JobDone, now, ""
	if err != nil {
		// An outside API's words may hold a NUL, which the store refuses
		// as bad input: the outcome must be recorded all the same.
		err = textError{err, strings.ReplaceAll(err.Error(), "\x00", "")}
	}
	var snooze *SnoozeError
	var retry *RetryError
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		// A write of the run found another claim holding the job.
		log.Warn("job lease lost: stopped; a later claim runs it", "err", err)
		w.observe(j.Kind, JobRunning, start)
		return
	case errors.As(err, &retry) && j.Attempt < j.MaxAttempt && !IsPermanent(err):
		outcome, runAt, errText = JobRetry, now.Add(max(retry.Wait, Backoff(j.Attempt))), err.Error()
		log.Warn("job failed; will retry", "retry_at", runAt, "err", err)
	case errors.As(err, &snooze):
		outcome, runAt, errText = JobSnooze, now.Add(snooze.Wait), err.Error()
		log.Info("job snoozed", "wait", snooze.Wait.String(), "err", err)
	case IsPermanent(err) || j.Attempt >= j.MaxAttempt:
		outcome, errText = JobFailed, err.Error()
		log.Error("job failed for good", "err", err)
	default:
		outcome, runAt, errText = JobRetry, now.Add(Backoff(j.Attempt)), err.Error()
		log.Warn("job failed; will retry", "retry_at", runAt, "err", err)
	}
	var next []Job
	if outcome == JobDone {
		next = Successors(j, now)
		if span != nil {
			// The steps that follow are children of this run.
			tp := TraceParent(ctx)
			for i := range next {
				next[i].TraceParent = tp
			}
		}
	}
	uerr := w.store.Update(rctx, j.IncidentID, func(tx Tx) error {
		if err := tx.FinishJob(j.Lease(), outcome, runAt, errText, next); err != nil {
			return err
		}
		switch outcome {
		case JobSnooze:
			if err := tx.AwaitJob(j.Lease(), snooze.Awaits, now); err != nil {
				return err
			}
		case JobDone:
			if !j.Kind.Awaited() {
				break
			}
			// Steps snoozed waiting for this one (the first summary and
			// the ticket wait for the evidence) need not wait longer.
			if _, err := tx.WakeJobs(j.IncidentID, j.Kind, now); err != nil {
				return err
			}
		}
		if outcome != JobFailed {
			return nil
		}
		return recordStepFailure(tx, j, errText, now)
	})
	switch {
	case errors.Is(uerr, ErrLeaseLost):
		log.Warn("job outcome not recorded: a later claim holds the job", "outcome", outcome)
	case uerr != nil:
		// The lease runs out and the job runs again, not as a first run:
		// it looks for what this one made.
		log.Error("record job outcome", "outcome", outcome, "err", uerr)
	}
	w.observe(j.Kind, outcome, start)
}

// textError is err with the text it is recorded with.
type textError struct {
	error
	text string
}

func (e textError) Error() string { return e.text }
func (e textError) Unwrap() error { return e.error }

func (w *Worker) observe(kind JobKind, outcome JobOutcome, start time.Time) {
	if w.opts.Observe != nil {
		w.opts.Observe(kind, outcome, time.Since(start))
	}
}

func (w *Worker) safeExecute(ctx context.Context, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("%s panicked: %v", j.Kind, r))
		}
	}()
	return w.exec.Execute(ctx, j)
}

// recordStepFailure puts a step's permanent failure on its incident's
// timeline, where /warroom status and the API show it.
func recordStepFailure(tx Tx, j Job, errText string, now time.Time) error {
	inc, err := tx.LockIncident(j.IncidentID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return err
	}
	text := fmt.Sprintf("%s failed: %s", j.Kind, errText)
	inc.LastError = text
	inc.UpdatedAt = now
	if err := tx.UpdateIncident(inc); err != nil {
		return err
	}
	return tx.AppendEvent(&Event{IncidentID: inc.ID, At: now, Kind: EventStepFailed, Actor: ActorSystem, Text: text})
}
