package slack

import (
	"context"
	"testing"
	"time"
)

// A burst goes through at once; past it, calls are spaced at the tier's
// rate, and chat.postMessage is paced per channel.
func TestPacer(t *testing.T) {
	clock := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	var slept []time.Duration
	p := newPacer()
	p.now = func() time.Time { return clock }
	p.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	ctx := context.Background()

	for range 10 { // tier 2: burst 10
		if err := p.wait(ctx, "conversations.create", ""); err != nil {
			t.Fatal(err)
		}
	}
	if len(slept) != 0 {
		t.Fatalf("burst waited: %v", slept)
	}
	_ = p.wait(ctx, "conversations.create", "")
	_ = p.wait(ctx, "conversations.create", "")
	if len(slept) != 2 || slept[0] != 3*time.Second || slept[1] != 6*time.Second {
		t.Fatalf("past the burst waited %v, want [3s 6s] (20 a minute)", slept)
	}
	slept = nil
	clock = clock.Add(time.Minute) // refilled to the burst, not beyond
	for range 10 {
		_ = p.wait(ctx, "conversations.create", "")
	}
	if len(slept) != 0 {
		t.Fatalf("after a minute the burst waited: %v", slept)
	}

	slept = nil
	for range 3 {
		_ = p.wait(ctx, "chat.postMessage", "C1")
		_ = p.wait(ctx, "chat.postMessage", "C2")
	}
	_ = p.wait(ctx, "chat.postMessage", "C1")
	if len(slept) != 1 || slept[0] != time.Second {
		t.Fatalf("postMessage waits %v, want one 1s wait on C1 only", slept)
	}
	if err := p.wait(ctx, "chat.unknownMethod", ""); err != nil || len(slept) != 1 {
		t.Fatalf("unpaced method: %v %v", err, slept)
	}
}
