package memory

// The header and the per-platform libraries come with the module; the
// #cgo flags that find them are in cgo.go and cgo_<platform>.go.

/*
#include "blockmem.h"
*/
import "C"

import (
	"cmp"
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/blockmem/blockmem/bindings/go/store"
)

// This file holds the plumbing shared by every method: passing Go memory to
// C and turning C statuses into errors.
//
// Pointer rules (cgo): keys and data are Go memory without Go pointers, so
// they may be passed for the duration of a call. The library never keeps
// them (every input is "borrowed for the call only" in blockmem.h), which
// is also what makes the noescape annotations in hints.go sound. Empty
// inputs are passed as NULL with length 0, never as a pointer past the end
// of a Go allocation.

// keyPtr returns a C view of a string's bytes, NULL when empty.
func keyPtr(s string) *C.uint8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s)))
}

// bufPtr returns a C view of a slice's bytes, NULL when empty.
func bufPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// ctxErr is ctx.Err(), tolerating a nil context (treated as Background).
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// Every status-to-error decision is made here, from the header's constants.
// The library writes out-parameters only on success (and the needed size
// for BUFFER_TOO_SMALL), so a method may return its out-parameters together
// with s.check's result without a branch: they are still zero on error.

// status is the library's status type, nameable from tests.
type status = C.blockmem_status

// statusText is the library's message for a status number.
func statusText(st int32) string {
	return C.GoString(C.blockmem_status_str(C.int32_t(st)))
}

// statusLimit is one past the highest status number the header defines.
const statusLimit = C.BLOCKMEM_STATUS_PANIC + 1

// errorSet holds, per status number, the error a Store returns for it; nil
// for OK and for the statuses a Go caller cannot cause (INVALID_ARGUMENT,
// PANIC), which become a *NativeError. invalidArgument is the error for
// the nil arguments the binding rejects itself (a nil io.Reader or
// io.Writer): the library never sees those.
type errorSet struct {
	byStatus        [statusLimit]error
	invalidArgument error
}

// newErrorSet maps each status a Go caller can cause to the caller's value
// in e or, where e has none, to the sentinel of package store with the
// same meaning.
func newErrorSet(e Errors) *errorSet {
	t := errorSet{invalidArgument: cmp.Or(e.InvalidArgument, store.ErrInvalidArgument)}
	for _, m := range []struct {
		st         status
		own, store error
	}{
		{C.BLOCKMEM_STATUS_NOT_FOUND, e.BlockNotFound, store.ErrBlockNotFound},
		{C.BLOCKMEM_STATUS_STORE_CLOSED, e.StoreClosed, store.ErrStoreClosed},
		{C.BLOCKMEM_STATUS_INVALID_KEY, e.InvalidKey, store.ErrInvalidKey},
		{C.BLOCKMEM_STATUS_INVALID_RANGE, e.InvalidRange, store.ErrInvalidRange},
		{C.BLOCKMEM_STATUS_BUFFER_TOO_SMALL, e.BufferTooSmall, store.ErrBufferTooSmall},
		{C.BLOCKMEM_STATUS_BLOCK_TOO_LARGE, e.BlockTooLarge, store.ErrBlockTooLarge},
		{C.BLOCKMEM_STATUS_STORE_FULL, e.StoreFull, store.ErrStoreFull},
		{C.BLOCKMEM_STATUS_OUT_OF_MEMORY, e.OutOfMemory, store.ErrOutOfMemory},
	} {
		t.byStatus[m.st] = cmp.Or(m.own, m.store)
	}
	return &t
}

// storeErrors is the errorSet of a nil *Store and of a Store not made by
// New.
var storeErrors = newErrorSet(Errors{})

// errSet returns the Store's errorSet; storeErrors for a nil *Store or one
// not made by New.
func (s *Store) errSet() *errorSet {
	if s == nil || s.errs == nil {
		return storeErrors
	}
	return s.errs
}

// check turns the status of op into the Store's error: nil for OK, the
// mapped error, or a *NativeError. Checks made in Go before calling the
// library pass the status the library would return, so that both report
// the same error.
func (s *Store) check(op string, st status) error {
	if st == C.BLOCKMEM_STATUS_OK {
		return nil
	}
	errs := s.errSet()
	if st >= 0 && st < statusLimit && errs.byStatus[st] != nil {
		return errs.byStatus[st]
	}
	return &NativeError{Op: op, Status: int32(st)}
}

// errInvalidArgument is the Store's error for a nil io.Reader or
// io.Writer: store.ErrInvalidArgument or the caller's Errors.InvalidArgument.
func (s *Store) errInvalidArgument() error {
	return s.errSet().invalidArgument
}

// handle is the native handle every method passes to the library. A nil
// *Store gets a shared handle closed when it was made, so its methods
// behave exactly as on a closed store (argument errors first, then
// store.ErrStoreClosed; Close succeeds; the counters read 0) and none
// dereferences nil: one check here instead of one per method.
func (s *Store) handle() *C.blockmem_store {
	if s == nil {
		return closedHandle()
	}
	return s.h
}

// closedHandle makes, on first use, the closed store behind every nil
// *Store. It is never freed. Should the library fail to make it (only a
// broken library can), it is NULL, and the methods of a nil *Store return
// a *NativeError, as those of a zero Store do: still no panic.
var closedHandle = sync.OnceValue(func() *C.blockmem_store {
	var h *C.blockmem_store
	if C.blockmem_store_new(nil, &h) != C.BLOCKMEM_STATUS_OK {
		return nil
	}
	if C.blockmem_store_close(h) != C.BLOCKMEM_STATUS_OK {
		C.blockmem_store_free(h)
		return nil
	}
	return h
})

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

// NativeError reports a status the binding never expects from the library:
// INVALID_ARGUMENT (the binding passes no NULLs, so this means a Store that
// was not made by New or NewWithOptions), PANIC (an internal panic caught
// at the C boundary; the store stays consistent) or a status number this
// binding does not know. It is deliberately not one of the store sentinels.
type NativeError struct {
	Op     string // the method that failed, e.g. "WriteBlock"
	Status int32  // the blockmem_status number
}

func (e *NativeError) Error() string {
	msg := statusText(e.Status)
	if e.Status == C.BLOCKMEM_STATUS_INVALID_ARGUMENT {
		msg += " (use memory.New or memory.NewWithOptions to create a Store)"
	}
	return "blockmem: " + e.Op + ": " + msg + " (status " + strconv.Itoa(int(e.Status)) + ")"
}

// ArgumentError reports an argument rejected before the library is called
// that no store sentinel describes: a negative limit in Options, or a
// negative ListPage limit. Test for it with errors.As.
type ArgumentError struct {
	Op    string // the function, e.g. "NewWithOptions"
	Arg   string // the argument, e.g. "Options.MaxBytes"
	Value int64  // the rejected value
}

func (e *ArgumentError) Error() string {
	return "memory: " + e.Op + ": " + e.Arg + " is negative (" + strconv.FormatInt(e.Value, 10) + ")"
}
