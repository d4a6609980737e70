package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Executor performs one side-effect step. It must be idempotent: before
// making something, it looks for what an earlier attempt of the same job
// made. It returns Permanent(err) for failures that retrying cannot fix and
// a *SnoozeError to wait without spending an attempt.
type Executor interface {
	Execute(ctx context.Context, j Job) error
}

// WorkerOptions tune a Worker. Zero values take the defaults.
type WorkerOptions struct {
	Concurrency int           // jobs run at once; default 8 (steps wait on outside APIs, not CPU)
	Poll        time.Duration // how often to look for due jobs without a wake-up; default 250ms
	Lease       time.Duration // how long a claimed job is ours before another process may take it; default 5m
	Timeout     time.Duration // bound on one run of a job; default 1m
	Now         func() time.Time
	Logger      *slog.Logger
	// Observe, if set, is told the outcome and duration of every run.
	Observe func(kind JobKind, outcome JobOutcome, d time.Duration)
}

// Worker runs due jobs from a Store with an Executor, at least once each.
type Worker struct {
	store Store
	exec  Executor
	opts  WorkerOptions
	wake  chan struct{}
}

// NewWorker returns a worker; call Run to start it.
func NewWorker(store Store, exec Executor, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Lease <= 0 {
		opts.Lease = 5 * time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, exec: exec, opts: opts, wake: make(chan struct{}, 1)}
}

// Notify tells the worker that jobs may be due now.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends, then waits for the jobs it is
// running. Jobs not yet claimed stay for the next start.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, w.opts.Concurrency)
	ticker := time.NewTicker(w.opts.Poll)
	defer ticker.Stop()
	var lastRescue time.Time
	for {
		if time.Since(lastRescue) > w.opts.Lease/4 {
			lastRescue = time.Now()
			w.rescue(ctx)
		}
		free := cap(slots) - len(slots)
		var jobs []Job
		if free > 0 {
			err := w.store.Update(ctx, "", func(tx Tx) error {
				var err error
				jobs, err = tx.ClaimJobs(free, w.opts.Now(), w.opts.Lease)
				return err
			})
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Error("claim jobs", "err", err)
			}
		}
		for _, j := range jobs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots; w.Notify() }()
				w.run(ctx, j)
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
		w.opts.Logger.Info("rescued jobs left running by an earlier process", "jobs", n)
	}
}

// run executes one claimed job and records the outcome. The outcome is
// recorded even while shutting down, so that a finished job is not run again.
func (w *Worker) run(parent context.Context, j Job) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), w.opts.Timeout)
	defer cancel()
	start := time.Now()
	err := w.safeExecute(ctx, j)
	now := w.opts.Now()
	log := w.opts.Logger.With("job", j.Key, "attempt", j.Attempt)

	outcome, runAt, errText := JobDone, now, ""
	var snooze *SnoozeError
	var retry *RetryError
	switch {
	case err == nil:
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
	}
	uerr := w.store.Update(ctx, j.IncidentID, func(tx Tx) error {
		if err := tx.FinishJob(j.ID, outcome, runAt, errText, next); err != nil {
			return err
		}
		if outcome != JobFailed {
			return nil
		}
		return recordStepFailure(tx, j, errText, now)
	})
	if uerr != nil {
		// The lease runs out and the job runs again: executors are idempotent.
		log.Error("record job outcome", "outcome", outcome, "err", uerr)
	}
	if w.opts.Observe != nil {
		w.opts.Observe(j.Kind, outcome, time.Since(start))
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
