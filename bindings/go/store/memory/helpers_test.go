package memory_test

import (
	"context"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

var bg = context.Background()

// canceled is a context that is already done.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func newStore(t testing.TB, opts memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.NewWithOptions(opts)
	if err != nil {
		t.Fatalf("NewWithOptions(%+v): %v", opts, err)
	}
	return s
}

func mustWrite(t testing.TB, s *memory.Store, key string, data []byte) {
	t.Helper()
	if err := s.WriteBlock(bg, key, data); err != nil {
		t.Fatalf("WriteBlock(%q, %d bytes): %v", key, len(data), err)
	}
}

func mustRead(t testing.TB, s *memory.Store, key string) []byte {
	t.Helper()
	got, err := s.ReadBlock(bg, key)
	if err != nil {
		t.Fatalf("ReadBlock(%q): %v", key, err)
	}
	return got
}

// wantCounts checks BlockCount, TotalSize and Stats against expectations.
func wantCounts(t testing.TB, s *memory.Store, blocks int, size int64) {
	t.Helper()
	if got := s.BlockCount(); got != blocks {
		t.Errorf("BlockCount() = %d, want %d", got, blocks)
	}
	if got := s.TotalSize(); got != size {
		t.Errorf("TotalSize() = %d, want %d", got, size)
	}
	st := s.Stats()
	if st.BlockCount != blocks || st.TotalSize != size {
		t.Errorf("Stats() counters = %d blocks, %d bytes; want %d, %d", st.BlockCount, st.TotalSize, blocks, size)
	}
}

// recount lists the whole store and sums what it finds.
func recount(t testing.TB, s *memory.Store) (blocks int, size int64) {
	t.Helper()
	for e, err := range s.Entries(bg, "", 257) {
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		blocks++
		size += e.Size
	}
	return blocks, size
}
