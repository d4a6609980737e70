package incident

import "context"

// Lease is a claimed job's hold on its row: the job's ID and the number of
// the claim (Runs), which grows with every claim and so fences off a run
// that lost its lease. Only the holder of the current lease may record the
// job's outcome or write on the job's behalf.
type Lease struct {
	JobID int64
	Runs  int
}

// ErrLeaseLost is what a write on behalf of a job returns once another
// claim holds the job: the lease ran out (the heartbeat did not reach the
// store in time) and another worker, or this one, took the job again. The
// run must stop without writing; the new holder does the work.
var ErrLeaseLost = Errorf(ECONFLICT, "job lease lost: a later claim holds the job")

type leaseKey struct{}

// WithLease returns ctx carrying l: every step transaction of the Service
// made with it first checks that l still holds, so that a run that lost
// its lease changes nothing.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFrom returns the lease ctx carries, if any.
func LeaseFrom(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}
