package memory

// The header and the per-platform libraries come with the module; the
// #cgo flags that find them are in cgo.go and cgo_<platform>.go.

/*
#include "blockmem.h"
*/
import "C"

import (
	"context"
	"strconv"
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

// Status numbers from blockmem.h, as Go constants.
const (
	statusOK              = int32(C.BLOCKMEM_STATUS_OK)
	statusNotFound        = int32(C.BLOCKMEM_STATUS_NOT_FOUND)
	statusStoreClosed     = int32(C.BLOCKMEM_STATUS_STORE_CLOSED)
	statusInvalidKey      = int32(C.BLOCKMEM_STATUS_INVALID_KEY)
	statusInvalidRange    = int32(C.BLOCKMEM_STATUS_INVALID_RANGE)
	statusBufferTooSmall  = int32(C.BLOCKMEM_STATUS_BUFFER_TOO_SMALL)
	statusBlockTooLarge   = int32(C.BLOCKMEM_STATUS_BLOCK_TOO_LARGE)
	statusStoreFull       = int32(C.BLOCKMEM_STATUS_STORE_FULL)
	statusOutOfMemory     = int32(C.BLOCKMEM_STATUS_OUT_OF_MEMORY)
	statusInvalidArgument = int32(C.BLOCKMEM_STATUS_INVALID_ARGUMENT)
	statusPanic           = int32(C.BLOCKMEM_STATUS_PANIC)
)

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
	msg := C.GoString(C.blockmem_status_str(C.int32_t(e.Status)))
	if e.Status == statusInvalidArgument {
		msg += " (use memory.New or memory.NewWithOptions to create a Store)"
	}
	return "blockmem: " + e.Op + ": " + msg + " (status " + strconv.Itoa(int(e.Status)) + ")"
}

// errFor maps a non-OK status to the sentinel of the same meaning, or to a
// *NativeError for statuses a Go caller cannot cause.
func errFor(op string, status int32) error {
	switch status {
	case statusOK:
		return nil
	case statusNotFound:
		return store.ErrBlockNotFound
	case statusStoreClosed:
		return store.ErrStoreClosed
	case statusInvalidKey:
		return store.ErrInvalidKey
	case statusInvalidRange:
		return store.ErrInvalidRange
	case statusBufferTooSmall:
		return store.ErrBufferTooSmall
	case statusBlockTooLarge:
		return store.ErrBlockTooLarge
	case statusStoreFull:
		return store.ErrStoreFull
	case statusOutOfMemory:
		return store.ErrOutOfMemory
	}
	return &NativeError{Op: op, Status: status}
}

// check is errFor for the common success path, small enough to inline.
func check(op string, st C.blockmem_status) error {
	if st == C.BLOCKMEM_STATUS_OK {
		return nil
	}
	return errFor(op, int32(st))
}
