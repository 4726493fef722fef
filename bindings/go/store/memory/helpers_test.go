package memory_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/fnv"
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

// Self-verifying payloads: an 8-byte seed, the 8-byte size, a body derived
// from the seed, then the FNV-64a of the key and everything before it. A
// torn, mixed or misdirected read fails verify; any prefix of at least 16
// bytes can be checked with verifyPrefix.
const minPayload = 24

func payload(key string, seed uint64, size int) []byte {
	size = max(size, minPayload)
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(size))
	x := seed | 1
	for i := 16; i < size-8; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	binary.LittleEndian.PutUint64(b[size-8:], sum(key, b[:size-8]))
	return b
}

func sum(key string, body []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write(body)
	return h.Sum64()
}

func verify(key string, b []byte) bool {
	return len(b) >= minPayload && binary.LittleEndian.Uint64(b[8:]) == uint64(len(b)) && verifyPrefix(key, b)
}

func verifyPrefix(key string, b []byte) bool {
	if len(b) < 16 {
		return false
	}
	size := binary.LittleEndian.Uint64(b[8:])
	if size < minPayload || size > 1<<30 || uint64(len(b)) > size {
		return false
	}
	return bytes.Equal(b, payload(key, binary.LittleEndian.Uint64(b), int(size))[:len(b)])
}
