package slack

import (
	"context"
	"errors"
	"fmt"
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
	// Past the burst the next turn is 3s away (20 a minute): too far to
	// wait in line; the caller is told, and takes no turn.
	err := p.wait(ctx, "conversations.create", "")
	var we *WaitError
	if !errors.As(err, &we) || we.Wait != 3*time.Second || len(slept) != 0 {
		t.Fatalf("past the burst: %v, slept %v; want a 3s WaitError", err, slept)
	}
	if wait, ok := RetryAfter(fmt.Errorf("create: %w", err)); !ok || wait != 3*time.Second {
		t.Fatalf("RetryAfter of a pacing error: %v %v", wait, ok)
	}
	clock = clock.Add(2500 * time.Millisecond) // half a second from a turn: waited in line
	if err := p.wait(ctx, "conversations.create", ""); err != nil || len(slept) != 1 || slept[0] != 500*time.Millisecond {
		t.Fatalf("close to a turn: %v, slept %v; want a 500ms wait", err, slept)
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
		t.Fatalf("postMessage waits %v, want one 1s wait on C1 only (a second: waited in line)", slept)
	}
	if err := p.wait(ctx, "chat.unknownMethod", ""); err != nil || len(slept) != 1 {
		t.Fatalf("unpaced method: %v %v", err, slept)
	}
}
