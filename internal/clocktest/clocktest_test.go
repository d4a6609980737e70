package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/clocktest"
)

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC)
	c := clocktest.New(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	if got := c.Add(time.Second); !got.Equal(t0.Add(time.Second)) || !c.Now().Equal(got) {
		t.Errorf("Add: %v, Now %v", got, c.Now())
	}
	if c.AdvanceTo(t0) {
		t.Error("AdvanceTo an earlier time moved the clock")
	}
	if !c.AdvanceTo(t0.Add(time.Hour)) || !c.Now().Equal(t0.Add(time.Hour)) {
		t.Errorf("AdvanceTo a later time: Now %v", c.Now())
	}
}

// Read and moved from many goroutines at once (run with -race).
func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC)
	c := clocktest.New(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); c.Add(time.Millisecond) }()
		go func() { defer wg.Done(); _ = c.Now() }()
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(t0.Add(8 * time.Millisecond)) {
		t.Errorf("after 8 moves of 1ms: %v", got.Sub(t0))
	}
}
