package memory_test

import (
	"context"
	"io"
	"strings"
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

// everyCall returns every method that takes a context, called with ctx on
// key (prefixes: key's first byte), each returning only its error. Writes
// store one byte under key.
func everyCall(s *memory.Store, ctx context.Context, key string) map[string]func() error {
	buf := make([]byte, 8)
	prefix := key[:1]
	return map[string]func() error{
		"WriteBlock":          func() error { return s.WriteBlock(ctx, key, []byte("x")) },
		"ReadBlock":           func() error { _, err := s.ReadBlock(ctx, key); return err },
		"ReadBlockRange":      func() error { _, err := s.ReadBlockRange(ctx, key, 0, 1); return err },
		"ReadBlockInto":       func() error { _, err := s.ReadBlockInto(ctx, key, buf); return err },
		"ReadBlockRangeInto":  func() error { _, err := s.ReadBlockRangeInto(ctx, key, 0, buf); return err },
		"WriteBlockFrom":      func() error { return s.WriteBlockFrom(ctx, key, strings.NewReader("x"), 1) },
		"ReadBlockTo":         func() error { _, err := s.ReadBlockTo(ctx, key, io.Discard); return err },
		"ReadBlockRangeTo":    func() error { _, err := s.ReadBlockRangeTo(ctx, key, 0, 1, io.Discard); return err },
		"Stat":                func() error { _, err := s.Stat(ctx, key); return err },
		"Exists":              func() error { _, err := s.Exists(ctx, key); return err },
		"DeleteBlock":         func() error { return s.DeleteBlock(ctx, key) },
		"Delete":              func() error { _, err := s.Delete(ctx, key); return err },
		"DeleteByPrefix":      func() error { return s.DeleteByPrefix(ctx, prefix) },
		"DeleteByPrefixStats": func() error { _, _, err := s.DeleteByPrefixStats(ctx, ""); return err },
		"ListByPrefix":        func() error { _, err := s.ListByPrefix(ctx, ""); return err },
		"ListPage":            func() error { _, err := s.ListPage(ctx, "", "", 1); return err },
		"Entries": func() error {
			for _, err := range s.Entries(ctx, "", 1) {
				return err
			}
			return nil
		},
		"HealthCheck": func() error { return s.HealthCheck(ctx) },
	}
}
