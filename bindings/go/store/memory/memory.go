// Package memory is an in-memory [store.BlockStore] backed by blockmem, a
// block store written in Rust and linked in statically through cgo.
//
// It is a drop-in replacement for a Go map-based memory store: change the
// import path and keep calling New. Block data lives outside the Go heap,
// so stored blocks add nothing to garbage collection work, writes copy
// once into native memory, and counts, sizes and prefix queries never scan
// the store.
//
// Beyond [store.BlockStore], a Store offers zero-copy streaming
// ([Store.ReadBlockTo], [Store.ReadBlockRangeTo], [Store.WriteBlockFrom]),
// reads into caller buffers ([Store.ReadBlockInto],
// [Store.ReadBlockRangeInto]) that allocate nothing, [Store.Stat] and
// [Store.Exists] that copy no data, paginated listing with sizes
// ([Store.ListPage], [Store.Entries]), deletes that report what they
// removed ([Store.Delete], [Store.DeleteByPrefixStats]), byte and size
// limits and the caller's own errors ([Options]) and [Store.Stats].
//
// Rules every method follows:
//   - A context that is already done returns ctx.Err() and changes nothing.
//     Operations never block, so a context is only checked on entry; only
//     WriteBlockFrom, which waits for its reader, checks it again before
//     publishing.
//   - Errors are the sentinels of package store (or the caller's own values
//     given in Options.Errors), unwrapped, so == works.
//     Argument errors (ErrInvalidKey, ErrInvalidRange, ErrInvalidArgument)
//     are reported before the store's state (ErrStoreClosed,
//     ErrBlockNotFound). Two more types exist: *ArgumentError for a
//     negative limit (in Options, or for ListPage) and *NativeError for a
//     Store not made by New.
//   - No argument makes a method panic: negative or huge offsets and
//     lengths are ErrInvalidRange, bad keys ErrInvalidKey, a nil io.Reader
//     or io.Writer ErrInvalidArgument; a nil context counts as
//     context.Background(), and a nil *Store acts as a closed store.
//   - Every method is safe for concurrent use, including with Close.
package memory

import (
	"context"
	"io"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/blockmem/blockmem/bindings/go/store"
)

/*
#include "blockmem.h"
*/
import "C"

// Store is a blockmem store. Create it with New or NewWithOptions. The zero
// value is not usable: its methods with an error result return a
// *NativeError, and BlockCount, TotalSize and Stats report an empty,
// closed store.
//
// A nil *Store acts as a store that was closed (with the default options
// and store's sentinels): its methods do not panic; after the argument
// checks they return store.ErrStoreClosed (Entries yields it once), Close
// returns nil, BlockCount and TotalSize 0, and Stats reports Closed with
// zeros everywhere else.
//
// # Lifetime
//
// Close marks the store closed and frees every block at once; it is
// idempotent and safe while other goroutines are mid-call (their calls
// finish normally or return store.ErrStoreClosed). The small native handle
// itself is freed by a runtime cleanup registered in New, which runs only
// once the *Store is unreachable. Every method reads the handle through
// the Store and calls runtime.KeepAlive(s) after its C call, so the
// cleanup cannot run while a call is using the handle, and it runs exactly
// once. That is why no Go-side lock or reference count is needed on the
// hot path.
//
// Close does not free the handle itself: doing so safely would need every
// call to register with Close (a lock or an atomic counter per operation)
// to learn when the last call has left the library, costing every
// operation to save about a hundred bytes per closed store until the next
// garbage collection.
type Store struct {
	h    *C.blockmem_store
	errs *errorSet // what each status returns; see check
	pace *pacer    // nil unless Options.PaceGC; see pace.go
}

var _ store.BlockStore = (*Store)(nil)

// Options sets a store's limits. The zero value of each field means "no
// limit", except MaxKeyLen, whose zero value means the default of 1024
// bytes. Negative values are rejected by NewWithOptions.
type Options struct {
	// MaxBytes caps the sum of all block sizes (what TotalSize reports).
	// A write that would exceed it fails with store.ErrStoreFull (unless
	// Evict is set); a replacement counts as total - old size + new size.
	MaxBytes int64
	// Evict turns the store into a cache: a write that would take
	// TotalSize over MaxBytes evicts other blocks instead of failing, and
	// store.ErrStoreFull comes back only for a block larger than MaxBytes
	// itself. The policy is S3-FIFO: blocks read since they were written
	// outlast blocks never read again, and a one-pass scan does not flush
	// the blocks that are read often. A write never evicts the block it
	// replaces. Stats reports Hits, Misses, Evictions and EvictedBytes.
	// A block evicted during ReadBlockTo, or held by a slice ReadBlock
	// returned, is unaffected; its bytes stop counting in TotalSize. No
	// effect without MaxBytes.
	Evict bool
	// MaxBlockSize caps one block's size; larger writes fail with
	// store.ErrBlockTooLarge.
	MaxBlockSize int64
	// MaxKeyLen caps key length in bytes; longer keys fail with
	// store.ErrInvalidKey.
	MaxKeyLen int
	// Errors replaces package store's sentinels with the caller's own
	// values; see Errors.
	Errors Errors
	// PaceGC makes the Go collector run about as often as it would if the
	// store's blocks were on the Go heap, as a map store's are. The
	// blocks live outside the Go heap, so a program whose Go heap is small
	// beside them, and which allocates (ReadBlock and ReadBlockRange
	// return new slices), collects many times more often than with a map
	// store. With PaceGC the store holds pointer-free Go allocations about
	// as large as its blocks (in 64 MiB steps, following TotalSize), which
	// the collector counts as live but never scans.
	//
	// Trade-offs: the allocations are never written, so they take address
	// space but almost no memory (the operating system backs untouched
	// pages with none; where the runtime reuses heap memory the program
	// freed earlier, it zeroes it, which keeps that memory resident, as it
	// already was); runtime.MemStats and GOMEMLIMIT count them as heap,
	// so a memory limit must leave room for them; and they affect the whole
	// program's pacing, as a map store's blocks would. ReadBlockInto and
	// ReadBlockTo allocate nothing and need no pacing; GOMEMLIMIT with
	// GOGC=off is the other way to fix the collector's budget.
	PaceGC bool
}

// DefaultMaxKeyLen is the key length limit when Options.MaxKeyLen is 0.
const DefaultMaxKeyLen = 1024

// DefaultMaxKeyLen must equal the library's default (compile-time check).
const _ = uint(DefaultMaxKeyLen-C.BLOCKMEM_DEFAULT_MAX_KEY_LEN) + uint(C.BLOCKMEM_DEFAULT_MAX_KEY_LEN-DefaultMaxKeyLen)

// New returns an empty store with no limits but the default key length
// (1024 bytes), like the classic memory store's New.
func New() *Store {
	s, err := NewWithOptions(Options{})
	if err != nil {
		// Only a broken library can fail here: the options are valid.
		panic("blockmem: creating a store failed: " + err.Error())
	}
	return s
}

// NewWithOptions returns an empty store with the given limits. It fails
// only when a limit is negative, with an *ArgumentError naming the field.
func NewWithOptions(opts Options) (*Store, error) {
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"Options.MaxBytes", opts.MaxBytes},
		{"Options.MaxBlockSize", opts.MaxBlockSize},
		{"Options.MaxKeyLen", int64(opts.MaxKeyLen)},
	} {
		if f.value < 0 {
			return nil, &ArgumentError{Op: "NewWithOptions", Arg: f.name, Value: f.value}
		}
	}
	s := &Store{errs: newErrorSet(opts.Errors)}
	if opts.PaceGC {
		s.pace = &pacer{}
	}
	var copts C.blockmem_options
	if err := s.check("NewWithOptions", C.blockmem_options_init(&copts)); err != nil {
		return nil, err
	}
	copts.max_bytes = C.uint64_t(opts.MaxBytes)
	copts.max_block_size = C.uint64_t(opts.MaxBlockSize)
	copts.max_key_len = C.uint64_t(opts.MaxKeyLen)
	copts.evict = C.bool(opts.Evict)
	var h *C.blockmem_store
	if err := s.check("NewWithOptions", C.blockmem_store_new(&copts, &h)); err != nil {
		return nil, err
	}
	s.h = h
	runtime.AddCleanup(s, freeHandle, h)
	return s, nil
}

// freeHandle releases a native handle once its Store is unreachable. It
// must not refer to the Store, or the Store would never become unreachable.
func freeHandle(h *C.blockmem_store) {
	C.blockmem_store_free(h)
	handlesFreed.Add(1)
}

// handlesFreed counts handles released by cleanups, so tests can observe
// that an unreachable Store is freed.
var handlesFreed atomic.Int64

// WriteBlock stores a private copy of data under blockKey, replacing any
// existing block atomically. data is copied once, straight from the Go
// slice into native memory; later changes to data do not affect the store.
//
// Errors: store.ErrInvalidKey, store.ErrBlockTooLarge, store.ErrStoreFull,
// store.ErrOutOfMemory, store.ErrStoreClosed. On error nothing changes.
func (s *Store) WriteBlock(ctx context.Context, blockKey string, data []byte) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	st := C.blockmem_write(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)),
		bufPtr(data), C.size_t(len(data)))
	runtime.KeepAlive(s)
	if st == C.BLOCKMEM_STATUS_OK {
		s.pacer().wrote(s, len(data))
	}
	return s.check("WriteBlock", st)
}

// WriteBlockFrom stores exactly size bytes read from r under blockKey,
// replacing any existing block atomically. The bytes are read straight
// into the new block's memory (no copy through Go memory, no allocation of
// the block's size) and published only after the last one has arrived:
// until then readers see the old block or none.
//
// The slices passed to r.Read are the new block's memory, so this relies
// on the io.Reader contract: Read must not keep a slice after it returns.
// Bytes r has beyond size are left unread.
//
// The reader, the key, the size and the caps are checked before anything
// is reserved or read (and the caps again at publication). A done context
// is checked before reading and again after.
//
// Errors: store.ErrInvalidArgument (r is nil, whatever the size),
// *ArgumentError (negative size), store.ErrInvalidKey,
// store.ErrBlockTooLarge, store.ErrStoreFull, store.ErrOutOfMemory,
// store.ErrStoreClosed, ctx.Err(); io.ErrUnexpectedEOF when r ends before
// size bytes; r's error as it is. On any error nothing changes and the
// reserved memory is freed, also when r panics.
func (s *Store) WriteBlockFrom(ctx context.Context, blockKey string, r io.Reader, size int64) error {
	const op = "WriteBlockFrom"
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if r == nil {
		return s.errInvalidArgument()
	}
	if size < 0 {
		return &ArgumentError{Op: op, Arg: "size", Value: size}
	}
	if uint64(size) > math.MaxInt { // only where int is 32 bits
		return s.check(op, C.BLOCKMEM_STATUS_OUT_OF_MEMORY)
	}
	var (
		data *C.uint8_t
		res  *C.blockmem_reservation
	)
	st := C.blockmem_reserve(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)), C.size_t(size), &data, &res)
	runtime.KeepAlive(s)
	if err := s.check(op, st); err != nil {
		return err
	}
	defer func() {
		if res != nil { // not committed
			C.blockmem_reservation_free(res)
		}
	}()
	if _, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(data)), int(size))); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // size > 0 bytes expected, none came
		}
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	st = C.blockmem_commit(s.handle(), res)
	res = nil // consumed by the commit, on error too
	runtime.KeepAlive(s)
	if st == C.BLOCKMEM_STATUS_OK {
		s.pacer().wrote(s, int(size))
	}
	return s.check(op, st)
}

// ReadBlock returns a copy of the whole block under blockKey in a new slice
// owned by the caller. An empty block reads as an empty, non-nil slice.
//
// Errors: store.ErrBlockNotFound, store.ErrInvalidKey,
// store.ErrStoreClosed.
func (s *Store) ReadBlock(ctx context.Context, blockKey string) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	return s.readPinned("ReadBlock", blockKey, 0, -1)
}

// ReadBlockRange returns a copy of bytes [offset, min(offset+length, size))
// of the block in a new slice. offset == size or length == 0 gives an
// empty, non-nil slice; a length past the end clamps.
//
// Errors: store.ErrInvalidRange (offset > size, or a negative offset or
// length), store.ErrBlockNotFound, store.ErrInvalidKey,
// store.ErrStoreClosed.
func (s *Store) ReadBlockRange(ctx context.Context, blockKey string, offset, length int64) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, s.check("ReadBlockRange", C.BLOCKMEM_STATUS_INVALID_RANGE)
	}
	if length <= smallRange {
		return s.readSmallRange(blockKey, offset, length)
	}
	return s.readPinned("ReadBlockRange", blockKey, offset, length)
}

// smallRange is the longest range read in a single C call into a buffer of
// the requested length. make zeroes that buffer first; up to this size
// that costs less than the second C call of readPinned (about 30 ns), so
// short ranges, the common case for range reads, take one call.
const smallRange = 4 << 10

func (s *Store) readSmallRange(key string, offset, length int64) ([]byte, error) {
	buf := make([]byte, length)
	var n C.size_t
	st := C.blockmem_read_range(s.handle(), keyPtr(key), C.size_t(len(key)),
		C.uint64_t(offset), C.uint64_t(length), bufPtr(buf), C.size_t(len(buf)), &n)
	runtime.KeepAlive(s)
	if err := s.check("ReadBlockRange", st); err != nil {
		return nil, err
	}
	if int(n) < len(buf)/2 {
		// Clamped at the end of the block: do not hand out (and keep
		// alive) a buffer mostly unused.
		return append([]byte{}, buf[:n]...), nil
	}
	return buf[:n:n], nil
}

// ReadBlockTo writes the whole block under blockKey to w in one Write call,
// straight from the store's memory: no copy into Go memory and no
// allocation of the block's size. It returns the number of bytes w
// accepted.
//
// The slice passed to w.Write is the stored block itself, so this relies
// on the io.Writer contract: Write must not modify the slice, even
// temporarily, and must not retain it after returning. The bytes stay
// valid and unchanged for the whole call even if the key is replaced or
// deleted or the store closed meanwhile (the block is pinned until Write
// returns). An empty block calls no Write.
//
// Errors: store.ErrInvalidArgument (w is nil; checked before the key and
// the block, so also for an empty or missing one), store.ErrBlockNotFound,
// store.ErrInvalidKey, store.ErrStoreClosed; w's error as it is;
// io.ErrShortWrite when w accepts fewer bytes without an error (a count
// outside [0, len(p)] is an error too). A failing writer changes nothing
// stored.
func (s *Store) ReadBlockTo(ctx context.Context, blockKey string, w io.Writer) (int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	return s.readTo("ReadBlockTo", blockKey, 0, -1, w)
}

// ReadBlockRangeTo writes bytes [offset, min(offset+length, size)) of the
// block to w like ReadBlockTo, with the range rules of ReadBlockRange:
// offset == size or length == 0 writes nothing and succeeds.
//
// Errors: store.ErrInvalidRange (offset > size, or a negative offset or
// length), and those of ReadBlockTo.
func (s *Store) ReadBlockRangeTo(ctx context.Context, blockKey string, offset, length int64, w io.Writer) (int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if offset < 0 || length < 0 {
		return 0, s.check("ReadBlockRangeTo", C.BLOCKMEM_STATUS_INVALID_RANGE)
	}
	return s.readTo("ReadBlockRangeTo", blockKey, offset, length, w)
}

func (s *Store) readTo(op, key string, offset, length int64, w io.Writer) (int64, error) {
	if w == nil {
		return 0, s.errInvalidArgument()
	}
	src, blk, err := s.pin(op, key, offset, length)
	if err != nil {
		return 0, err
	}
	defer unpin(blk) // also if Write panics
	if len(src) == 0 {
		return 0, nil
	}
	n, err := w.Write(src)
	switch {
	case n < 0 || n > len(src):
		n, err = 0, errInvalidWrite
	case err == nil && n < len(src):
		err = io.ErrShortWrite
	}
	return int64(n), err
}

// ReadBlockInto copies the whole block into dst and returns its size,
// without allocating.
//
// When dst is too small it returns the block's size and
// store.ErrBufferTooSmall, and writes nothing to dst: grow dst to the
// returned size and call again (the block may have been replaced in
// between, in which case the call reports the new size the same way).
//
// Errors: store.ErrBufferTooSmall, store.ErrBlockNotFound,
// store.ErrInvalidKey, store.ErrStoreClosed.
func (s *Store) ReadBlockInto(ctx context.Context, blockKey string, dst []byte) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if len(dst) >= goCopyMin {
		return s.copyPinned("ReadBlockInto", blockKey, 0, -1, dst)
	}
	var n C.size_t
	st := C.blockmem_read(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)),
		bufPtr(dst), C.size_t(len(dst)), &n)
	runtime.KeepAlive(s)
	return int(n), s.check("ReadBlockInto", st)
}

// ReadBlockRangeInto copies bytes [offset, min(offset+len(dst), size)) of
// the block into dst and returns how many it copied, without allocating.
// offset == size or an empty dst copies nothing and succeeds.
//
// Errors: store.ErrInvalidRange (offset > size or negative),
// store.ErrBlockNotFound, store.ErrInvalidKey, store.ErrStoreClosed.
func (s *Store) ReadBlockRangeInto(ctx context.Context, blockKey string, offset int64, dst []byte) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if offset < 0 {
		return 0, s.check("ReadBlockRangeInto", C.BLOCKMEM_STATUS_INVALID_RANGE)
	}
	if len(dst) >= goCopyMin {
		return s.copyPinned("ReadBlockRangeInto", blockKey, offset, int64(len(dst)), dst)
	}
	var n C.size_t
	st := C.blockmem_read_range(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)),
		C.uint64_t(offset), C.uint64_t(len(dst)), bufPtr(dst), C.size_t(len(dst)), &n)
	runtime.KeepAlive(s)
	return int(n), s.check("ReadBlockRangeInto", st)
}

// Stat returns the size of the block under blockKey without copying it.
//
// Errors: store.ErrBlockNotFound, store.ErrInvalidKey,
// store.ErrStoreClosed.
func (s *Store) Stat(ctx context.Context, blockKey string) (int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	var size C.uint64_t
	st := C.blockmem_stat(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)), &size)
	runtime.KeepAlive(s)
	return int64(size), s.check("Stat", st)
}

// Exists reports whether a block is stored under blockKey.
//
// Errors: store.ErrInvalidKey, store.ErrStoreClosed.
func (s *Store) Exists(ctx context.Context, blockKey string) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	var ok C.bool
	st := C.blockmem_exists(s.handle(), keyPtr(blockKey), C.size_t(len(blockKey)), &ok)
	runtime.KeepAlive(s)
	return bool(ok), s.check("Exists", st)
}

// DeleteBlock removes the block under blockKey. Deleting a missing key
// succeeds.
//
// Errors: store.ErrInvalidKey, store.ErrStoreClosed.
func (s *Store) DeleteBlock(ctx context.Context, blockKey string) error {
	_, err := s.delete(ctx, "DeleteBlock", blockKey)
	return err
}

// Delete removes the block under blockKey like DeleteBlock and also
// reports whether there was one.
func (s *Store) Delete(ctx context.Context, blockKey string) (existed bool, err error) {
	return s.delete(ctx, "Delete", blockKey)
}

func (s *Store) delete(ctx context.Context, op, key string) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	var existed C.bool
	st := C.blockmem_delete(s.handle(), keyPtr(key), C.size_t(len(key)), &existed)
	runtime.KeepAlive(s)
	if existed {
		s.pacer().deleted(s)
	}
	return bool(existed), s.check(op, st)
}

// DeleteByPrefix removes every block whose key starts with prefix; the
// empty prefix removes everything. Cost is O(k log n) for k removed
// blocks, as an ordered map's removals. Every matching key stored when the call begins and not written
// during it is removed; a key written during the call may or may not be.
// Blocks are removed one at a time, so writers of other keys never wait
// for the whole deletion. When memory runs out (store.ErrOutOfMemory),
// nothing has been removed.
//
// Errors: store.ErrStoreClosed, store.ErrOutOfMemory.
func (s *Store) DeleteByPrefix(ctx context.Context, prefix string) error {
	_, _, err := s.deletePrefix(ctx, "DeleteByPrefix", prefix)
	return err
}

// DeleteByPrefixStats removes every block whose key starts with prefix,
// like DeleteByPrefix, and reports how many blocks and bytes it freed.
func (s *Store) DeleteByPrefixStats(ctx context.Context, prefix string) (blocks int, bytes int64, err error) {
	return s.deletePrefix(ctx, "DeleteByPrefixStats", prefix)
}

func (s *Store) deletePrefix(ctx context.Context, op, prefix string) (int, int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, 0, err
	}
	var blocks, bytes C.uint64_t
	st := C.blockmem_delete_prefix(s.handle(), keyPtr(prefix), C.size_t(len(prefix)), &blocks, &bytes)
	runtime.KeepAlive(s)
	if blocks > 0 {
		s.pacer().follow(s)
	}
	return int(blocks), int64(bytes), s.check(op, st)
}

// Close frees every block and marks the store closed; afterwards every
// method returns store.ErrStoreClosed and the counters read 0. Close is
// idempotent, safe to call concurrently with any method, and always
// returns nil.
func (s *Store) Close() error {
	st := C.blockmem_store_close(s.handle())
	runtime.KeepAlive(s)
	s.pacer().follow(s) // 0 bytes now: drops the ballast
	return s.check("Close", st)
}

// HealthCheck returns nil while the store is open and store.ErrStoreClosed
// after Close.
func (s *Store) HealthCheck(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	st := C.blockmem_health_check(s.handle())
	runtime.KeepAlive(s)
	return s.check("HealthCheck", st)
}

// BlockCount returns the number of blocks stored, in O(1); 0 after Close.
func (s *Store) BlockCount() int {
	n := C.blockmem_block_count(s.handle())
	runtime.KeepAlive(s)
	return int(n)
}

// TotalSize returns the sum of all block sizes in bytes, in O(1); 0 after
// Close. It never exceeds Options.MaxBytes when that is set.
func (s *Store) TotalSize() int64 {
	n := C.blockmem_total_size(s.handle())
	runtime.KeepAlive(s)
	return int64(n)
}

// Stats is a point-in-time summary of a store.
type Stats struct {
	BlockCount   int   // number of blocks stored
	TotalSize    int64 // sum of all block sizes in bytes
	MaxBytes     int64 // effective byte limit (0 = none)
	MaxBlockSize int64 // effective block size limit (0 = none)
	MaxKeyLen    int   // effective key length limit (never 0)
	Closed       bool  // whether Close has been called

	// Reads since the store was made, kept after Close: every ReadBlock,
	// ReadBlockRange, ReadBlockInto, ReadBlockRangeInto, ReadBlockTo and
	// ReadBlockRangeTo that reached the store counts one hit (the key was
	// stored, whatever the call returned) or one miss
	// (store.ErrBlockNotFound). Stat and Exists count neither.
	Hits, Misses int64
	// Blocks evicted to make room (Options.Evict), and their bytes.
	Evictions, EvictedBytes int64
}

// Stats returns the counters and effective limits as one snapshot. After
// Close BlockCount and TotalSize are 0 and Closed is true (the read and
// eviction counters keep their values). A nil *Store, or a Store
// not made by New, has nothing and can do nothing: it reports Closed and
// zeros everywhere else.
func (s *Store) Stats() Stats {
	if s == nil {
		return Stats{Closed: true} // not the shared closed handle's limits
	}
	var cs C.blockmem_stats
	cc := C.blockmem_cache_stats{struct_size: C.size_t(unsafe.Sizeof(C.blockmem_cache_stats{}))}
	st := C.blockmem_store_stats(s.handle(), &cs)
	if st == C.BLOCKMEM_STATUS_OK {
		st = C.blockmem_store_cache_stats(s.handle(), &cc)
	}
	runtime.KeepAlive(s)
	if st != C.BLOCKMEM_STATUS_OK {
		return Stats{Closed: true}
	}
	return Stats{
		BlockCount:   int(cs.block_count),
		TotalSize:    int64(cs.total_size),
		MaxBytes:     int64(cs.max_bytes),
		MaxBlockSize: int64(cs.max_block_size),
		MaxKeyLen:    int(cs.max_key_len),
		Closed:       bool(cs.closed),
		Hits:         int64(cc.hits),
		Misses:       int64(cc.misses),
		Evictions:    int64(cc.evictions),
		EvictedBytes: int64(cc.evicted_bytes),
	}
}
