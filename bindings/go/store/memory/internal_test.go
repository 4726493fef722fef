package memory

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/blockmem/blockmem/bindings/go/store"
)

// Statuses a Go caller can cause map to the store sentinel whose message
// is the library's own text for that status, each sentinel to exactly one
// status; INVALID_ARGUMENT, PANIC and unknown numbers map to a
// *NativeError, never a sentinel, never a panic.
func TestStatusMapping(t *testing.T) {
	s := New()
	seen := map[error]int32{}
	for st := int32(-2); st <= int32(statusLimit)+1; st++ {
		err := s.check("ReadBlock", status(st))
		var ne *NativeError
		switch {
		case st == 0:
			if err != nil {
				t.Errorf("status 0: %v", err)
			}
		case errors.As(err, &ne):
			if ne.Status != st || ne.Op != "ReadBlock" || !strings.Contains(err.Error(), statusText(st)) ||
				!strings.Contains(err.Error(), "ReadBlock") {
				t.Errorf("status %d: %#v, message %q", st, ne, err.Error())
			}
		default:
			if err.Error() != statusText(st) {
				t.Errorf("status %d: %q, library says %q", st, err.Error(), statusText(st))
			}
			if prev, dup := seen[err]; dup {
				t.Errorf("statuses %d and %d both map to %v", prev, st, err)
			}
			seen[err] = st
		}
	}
	sentinels := []error{store.ErrBlockNotFound, store.ErrStoreClosed, store.ErrInvalidKey,
		store.ErrInvalidRange, store.ErrBufferTooSmall, store.ErrBlockTooLarge, store.ErrStoreFull,
		store.ErrOutOfMemory}
	if len(seen) != len(sentinels) {
		t.Errorf("%d statuses map to sentinels, want %d", len(seen), len(sentinels))
	}
	for _, want := range sentinels {
		if _, ok := seen[want]; !ok {
			t.Errorf("no status maps to %v", want)
		}
	}
	// INVALID_ARGUMENT stays a *NativeError (from the library it means a
	// Store not made by New); store.ErrInvalidArgument, for the nil
	// arguments the binding rejects itself, carries the library's text.
	var ne *NativeError
	if err := (&Store{}).HealthCheck(context.Background()); !errors.As(err, &ne) ||
		statusText(ne.Status) != store.ErrInvalidArgument.Error() {
		t.Errorf("zero Store: %v; want a *NativeError whose status text is %q", err, store.ErrInvalidArgument)
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
		if err := s.WriteBlock(context.Background(), "k", make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
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

// Pins are released in Go by the header's reference-count protocol: the
// linked library has the header's ABI version, a pin holds one reference
// besides the store's, and unpin gives exactly one back.
func TestUnpinInGo(t *testing.T) {
	if !inGoUnpin {
		t.Fatal("the library's ABI version differs from the header's: pins are released by a C call")
	}
	s := New()
	if err := s.WriteBlock(context.Background(), "k", []byte("block")); err != nil {
		t.Fatal(err)
	}
	_, a, err := s.pin("t", "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	refs := (*atomic.Uint32)(unsafe.Pointer(a))
	if got := refs.Load(); got != 2 {
		t.Fatalf("one pin: count %d, want 2", got)
	}
	src, b, err := s.pin("t", "k", 1, 3)
	if err != nil || string(src) != "loc" || refs.Load() != 3 {
		t.Fatalf("second pin: %q, %v, count %d", src, err, refs.Load())
	}
	unpin(b)
	if got := refs.Load(); got != 2 {
		t.Fatalf("after unpin: count %d, want 2", got)
	}
	if err := s.DeleteBlock(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if got := refs.Load(); got != 1 {
		t.Fatalf("after delete: count %d, want 1 (the pin's)", got)
	}
	unpin(a) // the last reference: freed by the library
}
