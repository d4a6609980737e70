package loadgen

import (
	"context"
	"fmt"
	"os"
	"time"
)

// FsyncProbe writes 4 KiB and fsyncs it every 20 ms in a file of its own
// until ctx ends, and returns the slowest fsync and how many took over
// 20 ms. scripts/bench runs it beside every run: the disk of a virtual
// machine stalls now and then for 100 ms and more, for every process on
// it, and a run whose p99 was made by such a stall says so.
func FsyncProbe(ctx context.Context, path string) (slowest time.Duration, over20ms int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = f.Close(); _ = os.Remove(path) }()
	buf := make([]byte, 4096)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return slowest, over20ms, nil
		case <-t.C:
		}
		start := time.Now()
		if _, err := f.WriteAt(buf, 0); err != nil {
			return slowest, over20ms, fmt.Errorf("fsync probe: %w", err)
		}
		if err := f.Sync(); err != nil {
			return slowest, over20ms, fmt.Errorf("fsync probe: %w", err)
		}
		d := time.Since(start)
		slowest = max(slowest, d)
		if d > 20*time.Millisecond {
			over20ms++
		}
	}
}
