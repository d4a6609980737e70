package incident_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/warroom/warroom/incident"
)

// With tracing off no context holds a span: finding that out costs
// nothing on the intake's path, and an empty trace context changes
// nothing.
func TestTracingOffIsFree(t *testing.T) {
	ctx := context.Background()
	if allocs := testing.AllocsPerRun(100, func() { _ = incident.TraceParent(ctx) }); allocs != 0 {
		t.Errorf("TraceParent without a span: %v allocations, want 0", allocs)
	}
	if got := incident.TraceParent(ctx); got != "" {
		t.Errorf("TraceParent without a span: %q", got)
	}
	if got := incident.RemoteParent(ctx, ""); got != ctx {
		t.Error("RemoteParent of no trace made a new context")
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := incident.RemoteParent(context.Background(), tp)
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsRemote() || !sc.IsSampled() {
		t.Fatalf("parsed %q: %+v", tp, sc)
	}
	if got := incident.TraceParent(trace.ContextWithSpanContext(context.Background(), sc)); got != tp {
		t.Errorf("round trip: %q, want %q", got, tp)
	}
	for _, bad := range []string{
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // another version
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // invalid trace ID
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
		"00-4bf92f3577b34da6a3ce929d0e0e4736x00f067aa0ba902b7-01",
	} {
		if ctx := incident.RemoteParent(context.Background(), bad); trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("%q was taken as a trace context", bad)
		}
	}
}
