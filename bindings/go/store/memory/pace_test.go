package memory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

const paceChildEnv = "BLOCKMEM_PACE_CHILD"

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

// residentBytes is this process's resident memory, from /proc/self/statm.
func residentBytes(t *testing.T) int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(statm), &size, &resident); err != nil {
		t.Fatal(err)
	}
	return resident * int64(os.Getpagesize())
}

// The ballast takes address space, not memory: 128 MiB of ballast for a
// store of 128 MiB of blocks counts as heap for the collector, while
// resident memory grows by less than an eighth of it when it is made.
// Checked in a child process of this test binary, whose Go heap holds
// nothing freed by other tests (the runtime zeroes, and so touches, freed
// heap memory it reuses for a new allocation), and not under the race
// detector, which writes shadow memory for heap allocations (make
// test-long runs it without).
func TestPaceGCBallastIsNotResident(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector writes shadow memory for every heap allocation")
	}
	if os.Getenv(paceChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPaceGCBallastIsNotResident$", "-test.v")
		cmd.Env = append(os.Environ(), paceChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child failed: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestPaceGCBallastIsNotResident") {
			t.Fatalf("child did not pass:\n%s", out)
		}
		return
	}
	ctx := context.Background()
	s, err := NewWithOptions(Options{PaceGC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// No ballast while the blocks are written, so that what the ballast
	// alone adds can be measured afterwards.
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
	runtime.GC()
	before := residentBytes(t)
	paceChunk = 64 << 20
	s.pacer().follow(s)
	grown := residentBytes(t) - before
	if got := s.pacer().ballast(); got != total {
		t.Fatalf("ballast %d, want %d", got, total)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc < total {
		t.Fatalf("the collector counts %d bytes of heap, less than the %d-byte ballast", ms.HeapAlloc, total)
	}
	if grown > total/8 {
		t.Fatalf("resident memory grew by %d bytes with %d bytes of ballast", grown, total)
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
