package memory

/*
#include "blockmem.h"

// blockmem_get with its three outputs in one struct of integers. cgo checks
// at run time, on every call, that the memory behind a pointer argument
// holds no Go pointers when its type could hold pointers; the three
// separate out-pointers of blockmem_get cost two such checks (about a
// sixth of a 1 KiB ReadBlock's instructions), a struct of integers none.
typedef struct {
	uintptr_t data;
	size_t len;
	uintptr_t block;
} go_pin;

static blockmem_status go_get(const blockmem_store *store, const uint8_t *key, size_t key_len, go_pin *out) {
	const uint8_t *data;
	size_t len;
	blockmem_block *block;
	blockmem_status st = blockmem_get(store, key, key_len, &data, &len, &block);
	if (st == BLOCKMEM_STATUS_OK) {
		out->data = (uintptr_t)data;
		out->len = len;
		out->block = (uintptr_t)block;
	}
	return st;
}
*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Pinning: zero-copy access to a stored block (blockmem_get), used by
// ReadBlock, ReadBlockRange and the streaming reads.

// readPinned copies [offset, offset+length) of the block (length < 0: to
// the end) into a new Go slice of exactly the right size: one C call (the
// pin; unpin releases it in Go), and the Go allocation is never zeroed
// first (make followed by copy compiles to one call that copies into
// fresh memory). The pinned bytes are immutable, so the
// copy needs no lock.
//
// Why pin: Go must allocate the result before anything is copied into it,
// and ReadBlock does not know the size. blockmem_stat followed by
// blockmem_read costs two calls and two lookups, and make zeroes the
// buffer that read then overwrites (measurably slower at 1 and 4 MiB);
// reading into a guessed or stack buffer adds zeroing or a copy.
func (s *Store) readPinned(op, key string, offset, length int64) ([]byte, error) {
	src, blk, err := s.pin(op, key, offset, length)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(src))
	copy(out, src) // with the make, one runtime call that does not zero first
	unpin(blk)
	return out, nil
}

// pin pins the block under key and returns a view of bytes [offset,
// min(offset+length, size)) of it (length < 0: to the end) in the store's
// memory, valid until the caller passes blk to unpin, which it must do
// exactly once when err is nil. The view must not be written.
func (s *Store) pin(op, key string, offset, length int64) (src []byte, blk *C.blockmem_block, err error) {
	var out C.go_pin
	st := C.go_get(s.handle(), keyPtr(key), C.size_t(len(key)), &out)
	runtime.KeepAlive(s)
	if err := s.check(op, st); err != nil {
		return nil, nil, err
	}
	// The integers hold C pointers; read them back as pointers.
	data := *(**byte)(unsafe.Pointer(&out.data))
	blk = *(**C.blockmem_block)(unsafe.Pointer(&out.block))
	size := int64(out.len)
	if offset > size {
		unpin(blk)
		return nil, nil, s.check(op, C.BLOCKMEM_STATUS_INVALID_RANGE)
	}
	end := size
	if length >= 0 && length < size-offset {
		end = offset + length
	}
	return unsafe.Slice(data, int(size))[offset:end], blk, nil
}

// Pins from blockmem_get are released in Go where the header's protocol
// allows: the pin points at the block's 32-bit reference count, which a
// holder may decrement with a compare-and-swap unless it is the last
// reference or saturated. That saves the second cgo call of every pinned
// read. It relies on the layout of BLOCKMEM_ABI_VERSION, so it is used only
// when the linked library reports that version; otherwise every release
// calls blockmem_block_free.
var inGoUnpin = C.blockmem_abi_version() == C.BLOCKMEM_ABI_VERSION

// The count is an atomic.Uint32 (compile-time check of the header's width).
const _ = uint(C.BLOCKMEM_PIN_REFS_BITS-32) + uint(32-C.BLOCKMEM_PIN_REFS_BITS)

// unpin releases a pin from blockmem_get; blk and its data must not be
// used afterwards.
func unpin(blk *C.blockmem_block) {
	if inGoUnpin {
		refs := (*atomic.Uint32)(unsafe.Pointer(blk))
		for c := refs.Load(); c >= 2 && c < C.BLOCKMEM_PIN_REFS_LIMIT; c = refs.Load() {
			if refs.CompareAndSwap(c, c-1) {
				return
			}
		}
	}
	C.blockmem_block_free(blk)
}

// Reads into a caller's buffer of at least goCopyMin bytes
// (ReadBlockInto, ReadBlockRangeInto) pin the block and copy in Go instead
// of copying inside the C call. A copy
// of tens of microseconds inside a cgo call holds the goroutine's thread
// in C, where the scheduler may hand its P to another thread mid-copy;
// a Go copy is an ordinary preemptible loop, as in a map store. Measured
// ad hoc over 256 MiB of random 64 KiB blocks: 0.76x the map store from 2
// goroutines with the C copy, 0.95x with the Go copy (1 goroutine: 0.85x,
// 0.88x); at 1 MiB no difference shows.
const goCopyMin = 16 << 10

// copyPinned copies bytes [offset, min(offset+length, size)) of the block
// (length < 0: to the end) into dst, which they must fit.
func (s *Store) copyPinned(op, key string, offset, length int64, dst []byte) (int, error) {
	src, blk, err := s.pin(op, key, offset, length)
	if err != nil {
		return 0, err
	}
	if len(src) > len(dst) {
		unpin(blk)
		return len(src), s.check(op, C.BLOCKMEM_STATUS_BUFFER_TOO_SMALL)
	}
	n := copy(dst, src)
	unpin(blk)
	return n, nil
}
