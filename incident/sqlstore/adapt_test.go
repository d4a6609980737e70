package sqlstore

import (
	"testing"
	"time"
)

// TestAdapt: one PostgreSQL writer takes every request while batches are
// small; another joins each time a batch reaches growAt, up to all of
// them; one leaves after batches have stayed small for shrinkAfter.
func TestAdapt(t *testing.T) {
	s := &Store{writers: make([]*writerLoop, postgresWriters)}
	for i := range s.writers {
		s.writers[i] = &writerLoop{}
	}
	s.active.Store(1)
	keys := func() map[*writerLoop]bool {
		used := map[*writerLoop]bool{}
		for i := range 200 {
			used[s.route(string(rune('a'+i%26))+string(rune('a'+i/26)))] = true
		}
		return used
	}
	if n := len(keys()); n != 1 {
		t.Fatalf("one writer in use: requests went to %d", n)
	}
	for range 3 {
		s.adapt(growAt / 4)
	}
	if a := s.active.Load(); a != 1 {
		t.Fatalf("small batches: %d writers in use", a)
	}
	for want := int32(2); want <= postgresWriters+1; want++ {
		s.adapt(growAt)
		if a := s.active.Load(); a != min(want, postgresWriters) {
			t.Fatalf("after a full batch: %d writers in use, want %d", a, min(want, postgresWriters))
		}
	}
	if n := len(keys()); n != postgresWriters {
		t.Fatalf("%d writers in use: requests went to %d", postgresWriters, n)
	}
	s.adapt(1) // small, but a full batch was just now
	if a := s.active.Load(); a != postgresWriters {
		t.Fatalf("right after a full batch: %d writers in use", a)
	}
	s.lastFull.Store(time.Now().Add(-2 * shrinkAfter).UnixNano())
	s.adapt(1)
	s.adapt(1) // at most one step per shrinkAfter
	if a := s.active.Load(); a != postgresWriters-1 {
		t.Fatalf("small batches for %s: %d writers in use, want %d", 2*shrinkAfter, a, postgresWriters-1)
	}
}
