package memory_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime/debug"
	"testing"
	"testing/iotest"

	"github.com/blockmem/blockmem/bindings/go/internal/payload"
	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// readerFunc adapts a function to io.Reader.
type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// WriteBlockFrom stores exactly size bytes from the reader, however the
// reader splits them, and leaves the rest unread.
func TestWriteBlockFromStoresExactlySize(t *testing.T) {
	s := memory.New()
	for _, size := range []int{0, 1, 4097, 1 << 20} {
		data := payload.New("k", uint64(size), size+100)
		for name, r := range map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"halves":   iotest.HalfReader,
		} {
			if size == 1<<20 && name == "one byte" {
				continue
			}
			src := bytes.NewReader(data)
			if err := s.WriteBlockFrom(bg, "k", r(src), int64(size)); err != nil {
				t.Fatalf("size %d, %s: %v", size, name, err)
			}
			if got := mustRead(t, s, "k"); !bytes.Equal(got, data[:size]) {
				t.Fatalf("size %d, %s: stored %d bytes that differ", size, name, len(got))
			}
			if src.Len() != len(data)-size {
				t.Fatalf("size %d, %s: read %d bytes", size, name, len(data)-src.Len())
			}
			wantCounts(t, s, 1, int64(size))
		}
	}
}

// Until the last byte is read, readers see the old block; a reader that
// fails midway, ends early or runs past a done context leaves it in place.
func TestWriteBlockFromFailuresChangeNothing(t *testing.T) {
	s := memory.New()
	old := payload.New("k", 1, 5000)
	mustWrite(t, s, "k", old)
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		r    io.Reader
		want func(error) bool
	}{
		{"fails midway", bg, io.MultiReader(bytes.NewReader(make([]byte, 3000)), iotest.ErrReader(boom)),
			func(err error) bool { return errors.Is(err, boom) }},
		{"short", bg, bytes.NewReader(make([]byte, 9999)),
			func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"empty", bg, bytes.NewReader(nil),
			func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"context done while reading", ctx, readerFunc(func(p []byte) (int, error) {
			cancel()
			return len(p), nil
		}), func(err error) bool { return err == context.Canceled }},
		{"sees the old block while reading", bg, readerFunc(func(p []byte) (int, error) {
			if got, err := s.ReadBlock(bg, "k"); err != nil || !bytes.Equal(got, old) {
				t.Error("the new block is visible before it is complete")
			}
			return 0, boom
		}), func(err error) bool { return err == boom }},
	} {
		if err := s.WriteBlockFrom(tc.ctx, "k", tc.r, 10000); !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got := mustRead(t, s, "k"); !bytes.Equal(got, old) {
			t.Fatalf("%s: the old block changed", tc.name)
		}
		wantCounts(t, s, 1, int64(len(old)))
	}
}

// Bad sizes, keys, caps, a done context and a closed store are reported
// before anything is read.
func TestWriteBlockFromChecksBeforeReading(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 1000, MaxBlockSize: 600, MaxKeyLen: 8})
	mustWrite(t, s, "k", make([]byte, 500))
	unread := readerFunc(func(p []byte) (int, error) {
		t.Error("the reader was called")
		return 0, io.EOF
	})
	var ae *memory.ArgumentError
	for _, tc := range []struct {
		name string
		ctx  context.Context
		key  string
		size int64
		want func(error) bool
	}{
		{"negative size", bg, "k", -1, func(err error) bool { return errors.As(err, &ae) && ae.Arg == "size" && ae.Value == -1 }},
		{"block too large", bg, "k", 601, func(err error) bool { return err == store.ErrBlockTooLarge }},
		{"huge", bg, "k", 1 << 62, func(err error) bool { return err == store.ErrBlockTooLarge }},
		{"store full", bg, "j", 501, func(err error) bool { return err == store.ErrStoreFull }},
		{"empty key", bg, "", 1, func(err error) bool { return err == store.ErrInvalidKey }},
		{"long key", bg, "123456789", 1, func(err error) bool { return err == store.ErrInvalidKey }},
		{"done context", canceled, "k", 1, func(err error) bool { return err == canceled.Err() }},
	} {
		if err := s.WriteBlockFrom(tc.ctx, tc.key, unread, tc.size); !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	wantCounts(t, s, 1, 500)
	s.Close()
	if err := s.WriteBlockFrom(bg, "k", unread, 1); err != store.ErrStoreClosed {
		t.Errorf("closed: %v", err)
	}
}

// A store without caps reports a block it cannot allocate as
// ErrOutOfMemory, before reading.
func TestWriteBlockFromOutOfMemory(t *testing.T) {
	s := memory.New()
	err := s.WriteBlockFrom(bg, "k", readerFunc(func(p []byte) (int, error) {
		t.Error("the reader was called")
		return 0, io.EOF
	}), 1<<62)
	if err != store.ErrOutOfMemory {
		t.Fatalf("got %v, want ErrOutOfMemory", err)
	}
	wantCounts(t, s, 0, 0)
}

// A reader that panics leaves the store as it was, and the store keeps
// working.
func TestWriteBlockFromReaderPanics(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", []byte("old"))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		s.WriteBlockFrom(bg, "k", readerFunc(func(p []byte) (int, error) { panic("reader") }), 10)
	}()
	if got := mustRead(t, s, "k"); string(got) != "old" {
		t.Fatalf("block changed to %q", got)
	}
	wantCounts(t, s, 1, 3)
}

// Failed streams free their reservation: 256 failures after filling
// 1 MiB each would hold 256 MiB if they leaked.
func TestWriteBlockFromFailuresLeakNothing(t *testing.T) {
	s := memory.New()
	boom := errors.New("boom")
	full := readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = 0xAB
		}
		return len(p) - 1, boom
	})
	benchSettle()
	before := benchResidentBytes(t)
	for range 256 {
		if err := s.WriteBlockFrom(bg, "k", full, 1<<20); err != boom {
			t.Fatal(err)
		}
	}
	debug.FreeOSMemory()
	if grown := benchResidentBytes(t) - before; grown > 64<<20 {
		t.Fatalf("resident memory grew by %d MiB", grown>>20)
	}
	wantCounts(t, s, 0, 0)
}
