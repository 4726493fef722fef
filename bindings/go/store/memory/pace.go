package memory

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Pacing the Go collector by the bytes a store holds (Options.PaceGC).
//
// The collector starts a cycle when the Go heap has grown by GOGC percent
// of what was live after the last one. A map store's blocks are on the Go
// heap, so the live heap is large and cycles are rare; this store's blocks
// are not, so a program that allocates (ReadBlock returns a new slice)
// collects far more often for the same work. A pacer holds pointer-free Go
// allocations ("ballast") about as large as the store's blocks: the
// collector counts them as live, which spaces its cycles as if the blocks
// were on the heap, and it never scans them (they hold no pointers). Nothing
// reads or writes them, and each is handed back to the operating system
// when it is made (release), so the cost is address space, not resident
// memory.
type pacer struct {
	mu     sync.Mutex
	chunks [][]byte // ballast, paceChunk bytes each
	// Bytes written, and deletions, since the ballast last followed the
	// store's size.
	written atomic.Int64
	deletes atomic.Int64
}

// Ballast grows and shrinks in chunks of this many bytes, checked against
// the store's size after about this many bytes of writes or paceDeletes
// deletions (a variable so that tests can use small chunks).
var paceChunk = int64(64 << 20)

const paceDeletes = 1024

// pacer is s's pacer, or nil (no pacing, or a nil *Store).
func (s *Store) pacer() *pacer {
	if s == nil {
		return nil
	}
	return s.pace
}

// wrote records a successful write of n bytes.
func (p *pacer) wrote(s *Store, n int) {
	if p != nil && p.written.Add(int64(n)) >= paceChunk/4 {
		p.follow(s)
	}
}

// deleted records a successful deletion of one block.
func (p *pacer) deleted(s *Store) {
	if p != nil && p.deletes.Add(1) >= paceDeletes {
		p.follow(s)
	}
}

// follow sets the ballast to the store's size, rounded down to whole chunks.
func (p *pacer) follow(s *Store) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.written.Store(0)
	p.deletes.Store(0)
	want := int(s.TotalSize() / paceChunk)
	for len(p.chunks) < want {
		p.chunks = append(p.chunks, release(make([]byte, paceChunk)))
	}
	for i := want; i < len(p.chunks); i++ {
		p.chunks[i] = nil
	}
	p.chunks = p.chunks[:want]
}

// release drops the memory behind b's whole pages (madvise MADV_DONTNEED)
// and returns b. The runtime hands out fresh memory untouched, but memory
// it reuses (freed by the program and not yet returned to the system) it
// zeroes first, which makes it resident: in a long-running program a new
// chunk would often cost its full size. After release the pages read as
// zeros and take no memory until written, which nothing does. Should the
// runtime reuse them after the chunk is freed, it zeroes them as usual.
func release(b []byte) []byte {
	if whole := wholePages(b); len(whole) > 0 {
		// Advice only: should it fail, the memory stays as it was.
		_ = syscall.Madvise(whole, syscall.MADV_DONTNEED)
	}
	return b
}

// wholePages is the part of b made of whole pages (possibly empty).
func wholePages(b []byte) []byte {
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((page - start%page) % page) // offset of the first whole page
	hi := int((start+uintptr(len(b)))&^(page-1) - start)
	if hi <= lo {
		return nil
	}
	return b[lo:hi]
}
