package memory

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/blockmem/blockmem/bindings/go/store"
)

// Statuses a Go caller can cause map to the sentinels; INVALID_ARGUMENT,
// PANIC and unknown numbers map to a *NativeError, never a sentinel, never
// a panic.
func TestStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		status int32
		want   error
	}{
		{statusOK, nil},
		{statusNotFound, store.ErrBlockNotFound},
		{statusStoreClosed, store.ErrStoreClosed},
		{statusInvalidKey, store.ErrInvalidKey},
		{statusInvalidRange, store.ErrInvalidRange},
		{statusBufferTooSmall, store.ErrBufferTooSmall},
		{statusBlockTooLarge, store.ErrBlockTooLarge},
		{statusStoreFull, store.ErrStoreFull},
		{statusOutOfMemory, store.ErrOutOfMemory},
	} {
		if got := errFor("op", tc.status); got != tc.want {
			t.Errorf("status %d: got %v, want %v", tc.status, got, tc.want)
		}
	}
	for _, tc := range []struct {
		status int32
		text   string
	}{
		{statusInvalidArgument, "invalid argument"},
		{statusPanic, "internal panic"},
		{99, "unknown status"},
		{-1, "unknown status"},
	} {
		err := errFor("ReadBlock", tc.status)
		var ne *NativeError
		if !errors.As(err, &ne) || ne.Status != tc.status || ne.Op != "ReadBlock" {
			t.Fatalf("status %d: got %#v", tc.status, err)
		}
		if msg := err.Error(); !strings.Contains(msg, tc.text) || !strings.Contains(msg, "ReadBlock") {
			t.Errorf("status %d: message %q", tc.status, msg)
		}
	}
}

// A Store that becomes unreachable, closed or not, has its handle freed by
// the cleanup registered in New (the cleanup does not keep it alive).
func TestUnreachableStoreIsFreed(t *testing.T) {
	// Let cleanups of stores from earlier tests run first, so that only
	// this test's stores can move the counter.
	for stable := 0; stable < 5; {
		n := handlesFreed.Load()
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
		if handlesFreed.Load() == n {
			stable++
		} else {
			stable = 0
		}
	}
	before := handlesFreed.Load()
	for i := range 10 {
		s := New()
		s.WriteBlock(nil, "k", make([]byte, 1024))
		if i%2 == 0 {
			s.Close() // freeing after Close is fine too
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for handlesFreed.Load() < before+10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 10 handles freed", handlesFreed.Load()-before)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
