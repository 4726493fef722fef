package memory_test

// The streaming calls, WriteBlockFrom, ReadBlockTo and ReadBlockRangeTo,
// beyond what the contract's cases check of them (their stream and get
// steps, run by cases_test.go from docs/contract-cases.txt): ReadBlockTo
// and ReadBlockRangeTo against the copying reads, pinned bytes under
// Write, failing and misbehaving writers and readers, checks made before
// the reader is read, allocations and leaks.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
	"testing/iotest"

	"github.com/blockmem/blockmem/bindings/go/internal/payload"
	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// writerFunc adapts a function to io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ReadBlockTo and ReadBlockRangeTo deliver exactly what ReadBlock and
// ReadBlockRange return, with the same errors, in one Write call.
func TestReadToMatchesRead(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "empty", nil)
	block := payload.New("big", 7, 70000)
	mustWrite(t, s, "big", block)
	for _, key := range []string{"empty", "big", "missing", ""} {
		want, werr := s.ReadBlock(bg, key)
		var buf bytes.Buffer
		calls := 0
		n, err := s.ReadBlockTo(bg, key, writerFunc(func(p []byte) (int, error) { calls++; return buf.Write(p) }))
		if err != werr || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) || calls > 1 {
			t.Errorf("ReadBlockTo(%q) = %d, %v, %d calls; ReadBlock gave %d bytes, %v", key, n, err, calls, len(want), werr)
		}
		if len(want) == 0 && calls != 0 {
			t.Errorf("ReadBlockTo(%q) wrote an empty slice", key)
		}
	}
	for _, off := range []int64{-1, 0, 1, 4096, 69999, 70000, 70001, 1 << 62} {
		for _, length := range []int64{-1, 0, 1, 4096, 70000, 1 << 62} {
			want, werr := s.ReadBlockRange(bg, "big", off, length)
			var buf bytes.Buffer
			n, err := s.ReadBlockRangeTo(bg, "big", off, length, &buf)
			if err != werr || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("ReadBlockRangeTo(%d, %d) = %d, %v; ReadBlockRange gave %d bytes, %v", off, length, n, err, len(want), werr)
			}
		}
	}
	s.Close() // a done context comes before the closed check
	if _, err := s.ReadBlockRangeTo(canceled, "big", 0, 1, io.Discard); err != canceled.Err() {
		t.Errorf("done context: %v", err)
	}
}

// The bytes handed to Write are the stored block's, pinned: replacing or
// deleting the key and closing the store while Write holds them changes
// nothing in them.
func TestReadToBytesSurviveReplaceDeleteClose(t *testing.T) {
	for _, change := range []struct {
		name string
		do   func(s *memory.Store) error
	}{
		{"replace", func(s *memory.Store) error { return s.WriteBlock(bg, "k", payload.New("k", 2, 1<<20)) }},
		{"delete", func(s *memory.Store) error { return s.DeleteBlock(bg, "k") }},
		{"delete prefix", func(s *memory.Store) error { return s.DeleteByPrefix(bg, "") }},
		{"close", func(s *memory.Store) error { return s.Close() }},
	} {
		s := memory.New()
		want := payload.New("k", 1, 1<<20)
		mustWrite(t, s, "k", want)
		var seen int
		n, err := s.ReadBlockRangeTo(bg, "k", 0, 1<<30, writerFunc(func(p []byte) (int, error) {
			if err := change.do(s); err != nil {
				t.Errorf("%s: %v", change.name, err)
			}
			// Churn the allocator so freed memory would be reused.
			for i := range 64 {
				if err := s.WriteBlock(bg, "churn", payload.New("churn", uint64(i), 1<<20)); err != nil && err != store.ErrStoreClosed {
					t.Error(err)
				}
			}
			runtime.GC()
			if !bytes.Equal(p, want) || !payload.Verify("k", p) {
				t.Errorf("%s: the bytes changed under Write", change.name)
			}
			seen = len(p)
			return len(p), nil
		}))
		if err != nil || n != int64(len(want)) || seen != len(want) {
			t.Errorf("%s: %d, %v (Write saw %d bytes)", change.name, n, err, seen)
		}
		s.Close()
	}
}

// In cache mode, a block evicted while ReadBlockTo or ReadBlockRangeTo
// hands it to Write stays pinned: Write evicts it, writing other blocks
// until the key is gone, and the bytes it was given are unchanged, also
// after more writes have reused the memory freed meanwhile.
func TestReadToBytesSurviveEviction(t *testing.T) {
	const capBytes, size, filler = 1 << 20, 256 << 10, 64 << 10
	for _, tc := range []struct {
		name  string
		read  func(s *memory.Store, w io.Writer) (int64, error)
		start int
		end   int
	}{
		{"ReadBlockTo", func(s *memory.Store, w io.Writer) (int64, error) { return s.ReadBlockTo(bg, "k", w) }, 0, size},
		{"ReadBlockRangeTo", func(s *memory.Store, w io.Writer) (int64, error) {
			return s.ReadBlockRangeTo(bg, "k", 1000, 100000, w)
		}, 1000, 101000},
	} {
		s := newStore(t, memory.Options{MaxBytes: capBytes, Evict: true})
		block := payload.New("k", 1, size)
		mustWrite(t, s, "k", block)
		want := block[tc.start:tc.end]
		var seen, writes int
		n, err := tc.read(s, writerFunc(func(p []byte) (int, error) {
			// The stream was a read of "k", so each filler is read once
			// too: a policy that keeps read blocks must choose among
			// equals.
			for present := true; present; writes++ {
				if writes == 1000 {
					t.Fatalf("%s: %d writes of %d bytes did not evict the block being streamed", tc.name, writes, filler)
				}
				other := fmt.Sprintf("other/%d", writes)
				mustWrite(t, s, other, payload.New(other, uint64(writes), filler))
				if _, err := s.ReadBlockRange(bg, other, 0, 1); err != nil {
					t.Fatal(err)
				}
				var err error
				if present, err = s.Exists(bg, "k"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.ReadBlock(bg, "k"); err != store.ErrBlockNotFound {
				t.Errorf("%s: the evicted block reads with %v", tc.name, err)
			}
			if st := s.Stats(); st.Evictions == 0 || st.EvictedBytes < size || st.TotalSize > capBytes {
				t.Errorf("%s: Stats() = %+v after the eviction", tc.name, st)
			}
			// Churn the allocator so freed memory would be reused.
			for i := range 2 * writes {
				other := fmt.Sprintf("more/%d", i)
				mustWrite(t, s, other, payload.New(other, uint64(i), filler))
			}
			mustWrite(t, s, "k", payload.New("k", 2, size))
			runtime.GC()
			if !bytes.Equal(p, want) {
				t.Errorf("%s: the bytes changed under Write", tc.name)
			}
			seen = len(p)
			return len(p), nil
		}))
		if err != nil || n != int64(len(want)) || seen != len(want) {
			t.Errorf("%s: %d, %v (Write saw %d bytes)", tc.name, n, err, seen)
		}
		t.Logf("%s: evicted by %d writes of %d bytes", tc.name, writes, filler)
		s.Close()
	}
}

// A writer's error comes back as it is with the count it accepted; a
// short write without an error is io.ErrShortWrite; a count outside
// [0, len(p)] is an error. The store is unchanged.
func TestReadToWriterFailures(t *testing.T) {
	s := memory.New()
	block := payload.New("k", 3, 10000)
	mustWrite(t, s, "k", block)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		n     int
		err   error
		wantN int64
		want  error // nil: the count is invalid
	}{
		{"fails midway", 4000, boom, 4000, boom},
		{"fails at once", 0, boom, 0, boom},
		{"short", 9999, nil, 9999, io.ErrShortWrite},
		{"negative count", -1, nil, 0, nil},
		{"count too large", 10001, nil, 0, nil},
	} {
		n, err := s.ReadBlockTo(bg, "k", writerFunc(func(p []byte) (int, error) { return tc.n, tc.err }))
		bad := err != tc.want || n != tc.wantN
		if tc.want == nil { // an invalid count: an error, not a short write
			bad = err == nil || err == io.ErrShortWrite || n != 0
		}
		if bad {
			t.Errorf("%s: %d, %v; want %d, %v", tc.name, n, err, tc.wantN, tc.want)
		}
	}
	if got := mustRead(t, s, "k"); !bytes.Equal(got, block) {
		t.Fatal("a failing writer changed the block")
	}
	wantCounts(t, s, 1, int64(len(block)))
}

// Streaming a block in or out allocates nothing.
func TestStreamingAllocatesNothing(t *testing.T) {
	s := memory.New()
	data := make([]byte, 1<<20)
	mustWrite(t, s, "k", data)
	r := bytes.NewReader(data)
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(data)
		if err := s.WriteBlockFrom(bg, "w", r, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if n, err := s.ReadBlockTo(bg, "k", io.Discard); err != nil || n != 1<<20 {
			t.Fatal(n, err)
		}
		if n, err := s.ReadBlockRangeTo(bg, "k", 1, 1<<19, io.Discard); err != nil || n != 1<<19 {
			t.Fatal(n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WriteBlockFrom+ReadBlockTo+ReadBlockRangeTo allocate %v times per call", allocs)
	}
}

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
