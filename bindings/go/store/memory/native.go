package memory

//go:generate go run ../../internal/cgohints

// The header and the per-platform libraries come with the module; the
// #cgo flags that find them are in cgo.go and cgo_<platform>.go.

/*
#include "blockmem.h"
*/
import "C"

import (
	"context"
	"sync"
	"unsafe"
)

// This file holds the plumbing shared by every method: passing Go memory to
// C, and the handle. Errors are in errors.go, pins in pin.go.
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
