package memory

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// The ballast follows the store's size in whole chunks: it grows with
// writes (whole and streamed), shrinks with deletions by key and by
// prefix, and goes at Close. A store without PaceGC holds none.
func TestPaceGCBallastFollowsTheStoreSize(t *testing.T) {
	old := paceChunk
	paceChunk = 64 << 10
	defer func() { paceChunk = old }()
	ctx := context.Background()

	plain := New()
	defer plain.Close()
	if err := plain.WriteBlock(ctx, "k", make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if plain.pace != nil || plain.pacer().ballast() != 0 {
		t.Fatal("a store without PaceGC has a pacer")
	}
	var none *Store
	none.pacer().follow(none) // a nil *Store has no pacer, and does not panic

	s, err := NewWithOptions(Options{PaceGC: true})
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 16<<10)
	for i := range 64 { // 1 MiB: 16 chunks
		if err := s.WriteBlock(ctx, fmt.Sprintf("a/%d", i), block); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.pacer().ballast(); got < 12*paceChunk || got > 16*paceChunk {
		t.Fatalf("ballast %d after writing 1 MiB (chunks of %d)", got, paceChunk)
	}
	s.pacer().follow(s)
	if got := s.pacer().ballast(); got != 16*paceChunk {
		t.Fatalf("ballast %d, want %d", got, 16*paceChunk)
	}
	if _, _, err := s.DeleteByPrefixStats(ctx, "a/1"); err != nil { // 11 blocks
		t.Fatal(err)
	}
	if got, want := s.pacer().ballast(), s.TotalSize()/paceChunk*paceChunk; got != want {
		t.Fatalf("ballast %d after a prefix deletion, want %d", got, want)
	}
	for i := range paceDeletes {
		if _, err := s.Delete(ctx, fmt.Sprintf("a/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s.pacer().follow(s)
	if got, want := s.pacer().ballast(), s.TotalSize()/paceChunk*paceChunk; got != want {
		t.Fatalf("ballast %d after deletions, want %d", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.pacer().ballast(); got != 0 {
		t.Fatalf("ballast %d after Close", got)
	}
}

// residentPages counts the pages of b's whole pages that are in memory
// (mincore).
func residentPages(t *testing.T, b []byte) (resident, pages int) {
	whole := wholePages(b)
	if len(whole) == 0 {
		return 0, 0
	}
	vec := make([]byte, len(whole)/os.Getpagesize())
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE,
		uintptr(unsafe.Pointer(unsafe.SliceData(whole))), uintptr(len(whole)),
		uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		t.Skipf("mincore: %v", errno)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, len(vec)
}

// The ballast takes address space, not memory: 128 MiB of ballast for a
// store of 128 MiB of blocks counts as heap for the collector, while less
// than an eighth of its pages are in memory (mincore on the chunks). The
// Go heap first held 256 MiB of written and freed slices, which the
// runtime zeroes, and so makes resident, when it reuses them: release
// must undo that.
func TestPaceGCBallastIsNotResident(t *testing.T) {
	ctx := context.Background()
	s, err := NewWithOptions(Options{PaceGC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// No ballast while the blocks are written.
	old := paceChunk
	defer func() { paceChunk = old }()
	paceChunk = 1 << 50
	const total, size = 128 << 20, 64 << 10
	block := make([]byte, size)
	for i := range total / size {
		if err := s.WriteBlock(ctx, fmt.Sprintf("b/%d", i), block); err != nil {
			t.Fatal(err)
		}
	}
	garbage := make([][]byte, 4)
	for i := range garbage {
		garbage[i] = make([]byte, 64<<20)
		for j := 0; j < len(garbage[i]); j += 4096 {
			garbage[i][j] = 1
		}
	}
	garbage = nil
	runtime.GC()
	paceChunk = 64 << 20
	s.pacer().follow(s)
	if got := s.pacer().ballast(); got != total {
		t.Fatalf("ballast %d, want %d", got, total)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc < total {
		t.Fatalf("the collector counts %d bytes of heap, less than the %d-byte ballast", ms.HeapAlloc, total)
	}
	s.pacer().mu.Lock()
	defer s.pacer().mu.Unlock()
	for i, chunk := range s.pacer().chunks {
		if resident, pages := residentPages(t, chunk); resident > pages/8 {
			t.Errorf("chunk %d: %d of its %d pages are in memory", i, resident, pages)
		}
	}
}

// ballast is the number of bytes the pacer holds.
func (p *pacer) ballast() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(len(p.chunks)) * paceChunk
}
