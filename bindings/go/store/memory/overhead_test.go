// The race detector's own memory grows with every cgo call and would count
// as the store's; this bound is checked in the plain and cgocheck2 runs.

//go:build !race

package memory_test

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// maxOverheadPerBlock is the documented bound on what a stored block costs
// beyond its key and data bytes (block header, allocator rounding, and an
// index entry of a pointer and 8 key bytes with its share of the tree):
// 72 bytes, plus up to 15 bytes of padding that starts the block's data on
// a 16-byte boundary (the same bound tests/memory.rs asserts).
const maxOverheadPerBlock = 72 + 15

// The resident memory a store adds per block, beyond keys and data, stays
// within maxOverheadPerBlock. Keys are built in one reused buffer and the
// data is one reused slice, so the Go heap does not grow while the store
// fills and the resident-set change is the native store's. (The benchmark
// report measures 10^6 blocks against the Go reference; this checks the
// bound with fewer blocks, so that it runs with every test.)
func TestMemoryOverheadBound(t *testing.T) {
	const blocks = 100_000
	s := memory.New()
	defer s.Close()
	data := make([]byte, 1024)
	keyBuf := make([]byte, 0, 64)
	var keyData int64
	benchSettle()
	before := benchResidentBytes(t)
	for i := range blocks {
		keyBuf = fmt.Appendf(keyBuf[:0], "share/content/chunk-%07d/block-%d", i/100, i%100)
		if err := s.WriteBlock(bg, unsafe.String(unsafe.SliceData(keyBuf), len(keyBuf)), data); err != nil {
			t.Fatal(err)
		}
		keyData += int64(len(keyBuf) + len(data))
	}
	benchSettle()
	after := benchResidentBytes(t)
	runtime.KeepAlive(keyBuf)
	perBlock := float64(after-before-keyData) / blocks
	t.Logf("%.1f bytes per block beyond key and data (%d blocks of %d bytes)", perBlock, blocks, len(data))
	if perBlock > maxOverheadPerBlock {
		t.Errorf("%.1f bytes per block beyond key and data, want at most %d", perBlock, maxOverheadPerBlock)
	}
}
