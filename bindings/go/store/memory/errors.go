package memory

/*
#include "blockmem.h"
*/
import "C"

import (
	"cmp"
	"errors"
	"strconv"

	"github.com/blockmem/blockmem/bindings/go/store"
)

// Every error the package returns is defined or chosen in this file.

// Errors lists the values a Store returns in place of package store's
// sentinels, one field per sentinel; a nil field keeps store's. It lets a
// program that declares its own sentinel errors and compares them with ==
// switch to this store without changing those comparisons. The values are
// returned as they are, never wrapped, exactly where the sentinel of the
// same name would be.
type Errors struct {
	BlockNotFound   error // instead of store.ErrBlockNotFound
	StoreClosed     error // instead of store.ErrStoreClosed
	InvalidKey      error // instead of store.ErrInvalidKey
	InvalidRange    error // instead of store.ErrInvalidRange
	BufferTooSmall  error // instead of store.ErrBufferTooSmall
	BlockTooLarge   error // instead of store.ErrBlockTooLarge
	StoreFull       error // instead of store.ErrStoreFull
	OutOfMemory     error // instead of store.ErrOutOfMemory
	InvalidArgument error // instead of store.ErrInvalidArgument
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

// errInvalidWrite reports a Write that returned a count outside [0, len(p)],
// which breaks the io.Writer contract.
var errInvalidWrite = errors.New("memory: io.Writer returned an invalid count")
