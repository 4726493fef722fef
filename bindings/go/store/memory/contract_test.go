package memory_test

// The Go binding's own rules, each test named after its rule. The
// behaviour contract's cases (docs/CONTRACT.md), written once in
// docs/contract-cases.txt, are run by cases_test.go; the tests here check
// only what those cases cannot say in Go: the store.BlockStore interface
// and its error-only deletions, sentinel identity and messages,
// *ArgumentError and *NativeError, nil versus empty slices, Go-only inputs
// (negative offsets and lengths, negative options and limits, contexts),
// isolation of Go slices, allocations, out of memory, the binding's short
// and long range paths, the read counters on each of them, exact eviction
// counters, Page.Next and Entries. Streaming, nil arguments, concurrency,
// fuzzing and the rest have files of their own.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/blockmem/blockmem/bindings/go/internal/payload"
	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// *Store is a store.BlockStore. The interface's error-only deletions are
// the binding's own wrappers of what the cases' delete and delete_prefix
// steps call (Delete, DeleteByPrefixStats), so they are checked here,
// through the interface: DeleteBlock of a present, a missing and an
// invalid key, DeleteByPrefix of a prefix with blocks and of one without.
func TestImplementsBlockStore(t *testing.T) {
	s := memory.New()
	var bs store.BlockStore = s
	defer bs.Close()
	for _, k := range []string{"a/1", "a/2", "b"} {
		mustWrite(t, s, k, []byte(k))
	}
	for _, k := range []string{"b", "b", "never"} { // present, then missing
		if err := bs.DeleteBlock(bg, k); err != nil {
			t.Fatalf("DeleteBlock(%q): %v", k, err)
		}
	}
	if ok, _ := s.Exists(bg, "b"); ok {
		t.Fatal("DeleteBlock left the block")
	}
	if err := bs.DeleteBlock(bg, ""); err != store.ErrInvalidKey {
		t.Fatalf("DeleteBlock of an empty key: %v", err)
	}
	for range 2 { // the second finds nothing
		if err := bs.DeleteByPrefix(bg, "a/"); err != nil {
			t.Fatalf("DeleteByPrefix: %v", err)
		}
	}
	wantCounts(t, s, 0, 0)
}

// store.BlockSize, the interface package's block size, is 4 MiB, and a
// block that large, of data that is not one repeated byte, round-trips
// under the default options.
func TestBlockSizeIs4MiB(t *testing.T) {
	if store.BlockSize != 4<<20 {
		t.Fatalf("BlockSize = %d", store.BlockSize)
	}
	s := memory.New()
	data := payload.New("full", 1, store.BlockSize)
	mustWrite(t, s, "full", data)
	if got := mustRead(t, s, "full"); !bytes.Equal(got, data) {
		t.Fatal("a full 4 MiB block did not round-trip")
	}
}

func TestSentinelMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{store.ErrBlockNotFound, "block not found"},
		{store.ErrStoreClosed, "store is closed"},
	} {
		if tc.err.Error() != tc.want {
			t.Errorf("message %q, want %q", tc.err.Error(), tc.want)
		}
	}
	all := []error{store.ErrBlockNotFound, store.ErrStoreClosed, store.ErrInvalidKey,
		store.ErrInvalidRange, store.ErrBufferTooSmall, store.ErrBlockTooLarge,
		store.ErrStoreFull, store.ErrOutOfMemory, store.ErrInvalidArgument}
	for i, a := range all {
		for j, b := range all {
			if (i == j) != (a == b) || (i != j && errors.Is(a, b)) {
				t.Errorf("sentinels %d and %d are not distinct", i, j)
			}
		}
	}
}

// Every sentinel comes back as the value itself, so == works.
func TestSentinelIdentity(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 100, MaxBlockSize: 60, MaxKeyLen: 8})
	mustWrite(t, s, "full", make([]byte, 50))
	closed := memory.New()
	closed.Close()
	for _, tc := range []struct {
		name string
		want error
		op   func() error
	}{
		{"ErrBlockNotFound", store.ErrBlockNotFound, func() error { _, err := s.ReadBlock(bg, "missing"); return err }},
		{"ErrStoreClosed", store.ErrStoreClosed, func() error { _, err := closed.ReadBlock(bg, "k"); return err }},
		{"ErrInvalidKey", store.ErrInvalidKey, func() error { return s.WriteBlock(bg, "", nil) }},
		{"ErrInvalidRange", store.ErrInvalidRange, func() error { _, err := s.ReadBlockRange(bg, "full", 51, 1); return err }},
		{"ErrBufferTooSmall", store.ErrBufferTooSmall, func() error { _, err := s.ReadBlockInto(bg, "full", make([]byte, 1)); return err }},
		{"ErrBlockTooLarge", store.ErrBlockTooLarge, func() error { return s.WriteBlock(bg, "big", make([]byte, 61)) }},
		{"ErrStoreFull", store.ErrStoreFull, func() error { return s.WriteBlock(bg, "more", make([]byte, 51)) }},
		{"ErrOutOfMemory", store.ErrOutOfMemory, func() error { return writeUnallocatable(memory.New()) }},
		{"ErrInvalidArgument", store.ErrInvalidArgument, func() error { _, err := s.ReadBlockTo(bg, "full", nil); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if err != tc.want {
				t.Fatalf("got %v (%T), want the sentinel %v itself", err, err, tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Fatal("errors.Is fails")
			}
		})
	}
}

// writeUnallocatable writes a block of 192 TiB, more than any x86-64 or
// arm64 process can map, so the library's allocation fails. The slice
// claims that length over one mapped page outside the Go heap (so Go's
// pointer checks, which apply to Go memory, have nothing to object to).
// The library allocates its copy before reading the data and stops when
// that fails (CONTRACT: allocation is fallible, nothing changes on
// error), so the bytes past the page are never read.
func writeUnallocatable(s *memory.Store) error {
	page, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	defer syscall.Munmap(page)
	huge := unsafe.Slice(&page[0], 3<<46)
	return s.WriteBlock(bg, "huge", huge)
}

func TestOutOfMemoryChangesNothing(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "huge", []byte("old"))
	if err := writeUnallocatable(s); err != store.ErrOutOfMemory {
		t.Fatalf("got %v, want ErrOutOfMemory", err)
	}
	if got := mustRead(t, s, "huge"); string(got) != "old" {
		t.Fatalf("block changed to %q", got)
	}
	wantCounts(t, s, 1, 3)
}

// Empty results are empty, non-nil slices, and failed reads return nil
// (the cases cannot tell nil from empty): ReadBlock of an empty block
// written from a nil slice, and empty ranges on both of ReadBlockRange's
// paths (short ranges and pinned long ones).
func TestEmptyResultsAreNonNil(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "empty", nil)
	mustWrite(t, s, "k", []byte("0123456789"))
	if got, err := s.ReadBlock(bg, "empty"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ReadBlock = %#v, %v; want a non-nil empty slice", got, err)
	}
	for _, tc := range []struct {
		key            string
		offset, length int64
	}{
		{"empty", 0, 10}, {"empty", 0, math.MaxInt64},
		{"k", 4, 0}, {"k", 10, 5}, {"k", 10, math.MaxInt64},
	} {
		got, err := s.ReadBlockRange(bg, tc.key, tc.offset, tc.length)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("ReadBlockRange(%q, %d, %d) = %#v, %v; want a non-nil empty slice", tc.key, tc.offset, tc.length, got, err)
		}
	}
	if got, err := s.ReadBlock(bg, "missing"); got != nil || err != store.ErrBlockNotFound {
		t.Errorf("ReadBlock(missing) = %#v, %v; want nil, ErrBlockNotFound", got, err)
	}
	for _, length := range []int64{0, math.MaxInt64} {
		if got, err := s.ReadBlockRange(bg, "k", 11, length); got != nil || err != store.ErrInvalidRange {
			t.Errorf("ReadBlockRange(k, 11, %d) = %#v, %v; want nil, ErrInvalidRange", length, got, err)
		}
	}
}

// Mutating a slice after writing it, or a slice a read returned, changes
// nothing stored.
func TestIsolation(t *testing.T) {
	s := memory.New()
	orig := []byte("0123456789")
	data := bytes.Clone(orig)
	mustWrite(t, s, "k", data)
	for i := range data {
		data[i] = 'X'
	}
	check := func(step string) {
		t.Helper()
		if got := mustRead(t, s, "k"); !bytes.Equal(got, orig) {
			t.Fatalf("after %s: stored block is %q", step, got)
		}
	}
	check("mutating the written slice")

	got := mustRead(t, s, "k")
	for i := range got {
		got[i] = 'Y'
	}
	got = append(got[:cap(got)], 'Z')
	_ = got
	check("mutating and appending to a ReadBlock result")

	part, err := s.ReadBlockRange(bg, "k", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range part {
		part[i] = 'W'
	}
	check("mutating a ReadBlockRange result")

	buf := make([]byte, 10)
	if _, err := s.ReadBlockInto(bg, "k", buf); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'V'
	check("mutating a ReadBlockInto buffer")

	// Two reads never share memory.
	a, b := mustRead(t, s, "k"), mustRead(t, s, "k")
	a[0] = '!'
	if b[0] == '!' {
		t.Fatal("two ReadBlock results share memory")
	}
}

// A negative offset or length (Go-only inputs: the cases' numbers are
// unsigned) is ErrInvalidRange with a nil result, for ReadBlockRange and,
// for the offset, ReadBlockRangeInto, which writes nothing to dst.
func TestNegativeOffsetOrLengthIsInvalidRange(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", []byte("0123456789"))
	for _, tc := range []struct{ offset, length int64 }{
		{-1, 1}, {math.MinInt64, 5}, {0, -1}, {2, math.MinInt64}, {-1, -1},
	} {
		if got, err := s.ReadBlockRange(bg, "k", tc.offset, tc.length); got != nil || err != store.ErrInvalidRange {
			t.Errorf("ReadBlockRange(%d, %d) = %#v, %v; want nil, ErrInvalidRange", tc.offset, tc.length, got, err)
		}
	}
	for _, offset := range []int64{-1, math.MinInt64} {
		dst := bytes.Repeat([]byte{'.'}, 4)
		if n, err := s.ReadBlockRangeInto(bg, "k", offset, dst); n != 0 || err != store.ErrInvalidRange || string(dst) != "...." {
			t.Errorf("ReadBlockRangeInto(%d) = %d, %v, dst %q; want 0, ErrInvalidRange, dst untouched", offset, n, err, dst)
		}
	}
}

// The same rules hold for short ranges (read in one call into a buffer of
// the requested length) and long ones (the block is pinned and copied),
// on both sides of the switch between them.
func TestRangeRulesShortAndLongRanges(t *testing.T) {
	s := memory.New()
	block := payload.New("big", 3, 20000)
	mustWrite(t, s, "big", block)
	for _, offset := range []int64{0, 1, 8000, 15903, 15904, 15905, 19999, 20000} {
		for _, length := range []int64{0, 1, 2047, 2048, 4095, 4096, 4097, 8192, 20000, 1 << 30} {
			got, err := s.ReadBlockRange(bg, "big", offset, length)
			end := min(offset+length, int64(len(block)))
			if err != nil || got == nil || !bytes.Equal(got, block[offset:end]) {
				t.Fatalf("ReadBlockRange(%d, %d): %d bytes, %v; want %d bytes", offset, length, len(got), err, end-offset)
			}
			if cap(got) > 2*len(got) && cap(got) > 64 { // beyond allocator rounding
				t.Errorf("ReadBlockRange(%d, %d): cap %d for %d bytes", offset, length, cap(got), len(got))
			}
		}
		if _, err := s.ReadBlockRange(bg, "big", 20001, 4096); err != store.ErrInvalidRange {
			t.Fatalf("offset past the end: %v", err)
		}
	}
}

// Stat and Exists allocate nothing (their results are the cases').
func TestStatAndExistsCopyNothing(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", make([]byte, 12345))
	ok := true
	allocs := testing.AllocsPerRun(100, func() {
		size, err1 := s.Stat(bg, "k")
		found, err2 := s.Exists(bg, "k")
		ok = ok && size == 12345 && found && err1 == nil && err2 == nil
	})
	if !ok {
		t.Fatal("Stat or Exists failed: the count would be of an error path")
	}
	if allocs != 0 {
		t.Fatalf("Stat+Exists allocate %v times per call", allocs)
	}
}

func TestReadIntoAllocatesNothing(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", make([]byte, 64<<10))
	buf := make([]byte, 64<<10)
	allocs := testing.AllocsPerRun(100, func() {
		s.ReadBlockInto(bg, "k", buf)
		s.ReadBlockRangeInto(bg, "k", 100, buf[:1000])
		s.WriteBlock(bg, "k", buf)
	})
	if allocs != 0 {
		t.Fatalf("ReadBlockInto+ReadBlockRangeInto+WriteBlock allocate %v times per call", allocs)
	}
}

func TestNewWithOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  memory.Options
		field string
		value int64
	}{
		{memory.Options{MaxBytes: -1}, "Options.MaxBytes", -1},
		{memory.Options{MaxBlockSize: -1}, "Options.MaxBlockSize", -1},
		{memory.Options{MaxKeyLen: -1}, "Options.MaxKeyLen", -1},
		{memory.Options{MaxBytes: math.MinInt64, MaxKeyLen: -5}, "Options.MaxBytes", math.MinInt64},
	} {
		s, err := memory.NewWithOptions(tc.opts)
		var ae *memory.ArgumentError
		if s != nil || !errors.As(err, &ae) || *ae != (memory.ArgumentError{Op: "NewWithOptions", Arg: tc.field, Value: tc.value}) {
			t.Errorf("NewWithOptions(%+v) = %v, %#v; want an *ArgumentError for %s", tc.opts, s, err, tc.field)
		}
	}
	s := newStore(t, memory.Options{MaxBytes: 1 << 30, MaxBlockSize: 1 << 20, MaxKeyLen: 64})
	want := memory.Stats{MaxBytes: 1 << 30, MaxBlockSize: 1 << 20, MaxKeyLen: 64}
	if got := s.Stats(); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	if got := memory.New().Stats(); got != (memory.Stats{MaxKeyLen: memory.DefaultMaxKeyLen}) {
		t.Fatalf("New().Stats() = %+v", got)
	}
}

// Every read method counts one hit when a block is stored under its key,
// whatever it returns then (ErrBufferTooSmall, ErrInvalidRange), and one
// miss when none is, on each of its paths: short and pinned ranges,
// buffers below and above the size from which the binding copies in Go.
// Stat and Exists count neither, nor does a call refused before the key
// is looked up: a done context, a negative offset or length, a nil
// writer, an invalid key, a closed store. The counts are kept after
// Close. The same in every mode, cache or not.
func TestReadsCountOneHitOrOneMiss(t *testing.T) {
	small, mid, large := make([]byte, 1<<10), make([]byte, 16<<10), make([]byte, 64<<10)
	past := int64(1 << 20) // an offset past the end of both blocks
	type result struct{ small, large error }
	reads := []struct {
		name string
		want result // for "small" (100 bytes) and "large" (40 KiB)
		read func(s *memory.Store, ctx context.Context, key string) error
	}{
		{"ReadBlock", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlock(ctx, k)
			return err
		}},
		{"ReadBlockRange short", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRange(ctx, k, 1, 100)
			return err
		}},
		{"ReadBlockRange short past the end", result{store.ErrInvalidRange, store.ErrInvalidRange}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRange(ctx, k, past, 100)
			return err
		}},
		{"ReadBlockRange long", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRange(ctx, k, 1, 32<<10)
			return err
		}},
		{"ReadBlockRange long past the end", result{store.ErrInvalidRange, store.ErrInvalidRange}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRange(ctx, k, past, 32<<10)
			return err
		}},
		{"ReadBlockInto 1 KiB", result{nil, store.ErrBufferTooSmall}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockInto(ctx, k, small)
			return err
		}},
		{"ReadBlockInto 16 KiB", result{nil, store.ErrBufferTooSmall}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockInto(ctx, k, mid)
			return err
		}},
		{"ReadBlockInto 64 KiB", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockInto(ctx, k, large)
			return err
		}},
		{"ReadBlockRangeInto 1 KiB", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeInto(ctx, k, 1, small)
			return err
		}},
		{"ReadBlockRangeInto 1 KiB past the end", result{store.ErrInvalidRange, store.ErrInvalidRange}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeInto(ctx, k, past, small)
			return err
		}},
		{"ReadBlockRangeInto 64 KiB", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeInto(ctx, k, 1, large)
			return err
		}},
		{"ReadBlockRangeInto 64 KiB past the end", result{store.ErrInvalidRange, store.ErrInvalidRange}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeInto(ctx, k, past, large)
			return err
		}},
		{"ReadBlockTo", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockTo(ctx, k, io.Discard)
			return err
		}},
		{"ReadBlockRangeTo", result{}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeTo(ctx, k, 1, 100, io.Discard)
			return err
		}},
		{"ReadBlockRangeTo past the end", result{store.ErrInvalidRange, store.ErrInvalidRange}, func(s *memory.Store, ctx context.Context, k string) error {
			_, err := s.ReadBlockRangeTo(ctx, k, past, 100, io.Discard)
			return err
		}},
	}
	// Calls that count nothing, whatever the key.
	uncounted := map[string]func(s *memory.Store, k string) error{
		"Stat":   func(s *memory.Store, k string) error { _, err := s.Stat(bg, k); return err },
		"Exists": func(s *memory.Store, k string) error { _, err := s.Exists(bg, k); return err },
		"ReadBlockRange negative offset": func(s *memory.Store, k string) error {
			_, err := s.ReadBlockRange(bg, k, -1, 1)
			return err
		},
		"ReadBlockRange negative length": func(s *memory.Store, k string) error {
			_, err := s.ReadBlockRange(bg, k, 0, -1)
			return err
		},
		"ReadBlockRangeInto negative offset": func(s *memory.Store, k string) error {
			_, err := s.ReadBlockRangeInto(bg, k, -1, small)
			return err
		},
		"ReadBlockRangeTo negative length": func(s *memory.Store, k string) error {
			_, err := s.ReadBlockRangeTo(bg, k, 0, -1, io.Discard)
			return err
		},
		"ReadBlockTo nil writer": func(s *memory.Store, k string) error { _, err := s.ReadBlockTo(bg, k, nil); return err },
	}
	for _, read := range reads {
		uncounted[read.name+" done context"] = func(s *memory.Store, k string) error { return read.read(s, canceled, k) }
		uncounted[read.name+" invalid key"] = func(s *memory.Store, k string) error {
			if err := read.read(s, bg, ""); err != store.ErrInvalidKey {
				return fmt.Errorf("empty key: %v", err)
			}
			return nil
		}
	}

	for _, mode := range []struct {
		name string
		opts memory.Options
	}{
		{"no cap", memory.Options{}},
		{"cap", memory.Options{MaxBytes: 1 << 20}},
		{"cache", memory.Options{MaxBytes: 1 << 20, Evict: true}},
		{"evict without a cap", memory.Options{Evict: true}},
	} {
		s := newStore(t, mode.opts)
		mustWrite(t, s, "small", payload.New("small", 1, 100))
		mustWrite(t, s, "large", payload.New("large", 2, 40<<10))
		var hits, misses int64
		counted := func(what string) {
			t.Helper()
			st := s.Stats()
			if st.Hits != hits || st.Misses != misses || st.Evictions != 0 || st.EvictedBytes != 0 {
				t.Errorf("%s, %s: %d hits, %d misses, %d evictions; want %d, %d, 0", mode.name, what, st.Hits, st.Misses, st.Evictions, hits, misses)
				hits, misses = st.Hits, st.Misses // report each step once
			}
		}
		counted("after the writes")
		for _, r := range reads {
			for key, want := range map[string]error{"small": r.want.small, "large": r.want.large, "missing": store.ErrBlockNotFound} {
				if err := r.read(s, bg, key); err != want {
					t.Errorf("%s: %s(%q) = %v, want %v", mode.name, r.name, key, err, want)
				}
				if key == "missing" {
					misses++
				} else {
					hits++
				}
				counted(fmt.Sprintf("%s(%q)", r.name, key))
			}
		}
		for name, call := range uncounted {
			for _, key := range []string{"small", "large", "missing"} {
				call(s, key)
				counted(fmt.Sprintf("%s(%q)", name, key))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, r := range reads {
			if err := r.read(s, bg, "small"); err != store.ErrStoreClosed {
				t.Errorf("%s: %s after Close: %v", mode.name, r.name, err)
			}
		}
		counted("after Close")
	}
}

// Cache mode's eviction counters, exactly, in one goroutine: a cap of 10
// bytes holds one of two 6-byte blocks; a block larger than the cap is
// refused, written whole or streamed, and evicts nothing; a replacement
// evicts nothing; a streamed write evicts like a whole one. The counters
// are kept after Close.
func TestEvictionsAreCountedExactly(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 10, Evict: true})
	evicted := func(what string, evictions, bytes int64) {
		t.Helper()
		if st := s.Stats(); st.Evictions != evictions || st.EvictedBytes != bytes {
			t.Errorf("%s: %d evictions of %d bytes, want %d of %d", what, st.Evictions, st.EvictedBytes, evictions, bytes)
		}
	}
	mustWrite(t, s, "a", []byte("aaaaaa"))
	mustWrite(t, s, "b", []byte("bbbbbb"))
	evicted("two 6-byte blocks", 1, 6)
	wantCounts(t, s, 1, 6)
	if _, err := s.ReadBlock(bg, "a"); err != store.ErrBlockNotFound {
		t.Errorf("the evicted block: %v", err)
	}
	if got := mustRead(t, s, "b"); string(got) != "bbbbbb" {
		t.Errorf("b = %q", got)
	}
	if err := s.WriteBlock(bg, "big", make([]byte, 11)); err != store.ErrStoreFull {
		t.Errorf("WriteBlock of 11 bytes: %v, want ErrStoreFull", err)
	}
	if err := s.WriteBlockFrom(bg, "big", bytes.NewReader(make([]byte, 11)), 11); err != store.ErrStoreFull {
		t.Errorf("WriteBlockFrom of 11 bytes: %v, want ErrStoreFull", err)
	}
	evicted("a block over the cap", 1, 6)
	mustWrite(t, s, "b", []byte("BBBBBBBBBB"))
	evicted("a replacement", 1, 6)
	wantCounts(t, s, 1, 10)
	if err := s.WriteBlockFrom(bg, "c", strings.NewReader("cccc"), 4); err != nil {
		t.Fatal(err)
	}
	evicted("a streamed write", 2, 16)
	wantCounts(t, s, 1, 4)
	if st := s.Stats(); st.Hits != 1 || st.Misses != 1 {
		t.Errorf("Stats() = %+v, want 1 hit and 1 miss", st)
	}
	s.Close()
	if st := s.Stats(); st.Evictions != 2 || st.EvictedBytes != 16 || st.Hits != 1 || st.Misses != 1 || !st.Closed {
		t.Errorf("after Close: Stats() = %+v", st)
	}
}

// Options.Evict without MaxBytes is no cache: however much is written,
// nothing is evicted or refused.
func TestEvictWithoutMaxBytesEvictsNothing(t *testing.T) {
	s := newStore(t, memory.Options{Evict: true})
	defer s.Close()
	const blocks, size = 64, 64 << 10 // 4 MiB
	for i := range blocks {
		k := fmt.Sprintf("k%02d", i)
		data := payload.New(k, uint64(i), size)
		if i%2 == 0 {
			mustWrite(t, s, k, data)
		} else if err := s.WriteBlockFrom(bg, k, bytes.NewReader(data), size); err != nil {
			t.Fatalf("WriteBlockFrom(%q): %v", k, err)
		}
	}
	wantCounts(t, s, blocks, blocks*size)
	for i := range blocks {
		k := fmt.Sprintf("k%02d", i)
		if got := mustRead(t, s, k); !payload.Verify(k, got) {
			t.Fatalf("%s fails verification", k)
		}
	}
	if st := s.Stats(); st.Evictions != 0 || st.EvictedBytes != 0 || st.MaxBytes != 0 || st.Hits != blocks || st.Misses != 0 {
		t.Errorf("Stats() = %+v; want no cap, no eviction, %d hits", st, blocks)
	}
}

// A context that is already done returns ctx.Err() and changes nothing.
func TestContextDoneReturnsCtxErrChangesNothing(t *testing.T) {
	deadline, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-deadline.Done()
	for _, ctx := range []context.Context{canceled, deadline} {
		s := memory.New()
		mustWrite(t, s, "a/1", []byte("one"))
		mustWrite(t, s, "a/2", []byte("two"))
		want := ctx.Err()
		ops := everyCall(s, ctx, "a/1")
		ops["WriteBlock new key"] = func() error { return s.WriteBlock(ctx, "a/3", []byte("x")) }
		// Bad arguments too: the context is checked first.
		ops["ReadBlockRange negative"] = func() error { _, err := s.ReadBlockRange(ctx, "", -1, -1); return err }
		for name, op := range ops {
			if err := op(); err != want {
				t.Errorf("%s: got %v, want %v", name, err, want)
			}
		}
		if got := mustRead(t, s, "a/1"); string(got) != "one" {
			t.Errorf("a/1 changed to %q", got)
		}
		if keys, _ := s.ListByPrefix(bg, ""); !slices.Equal(keys, []string{"a/1", "a/2"}) {
			t.Errorf("keys changed to %q", keys)
		}
		wantCounts(t, s, 2, 6)
	}
}

// A nil context is treated as context.Background rather than crashing.
func TestNilContextTolerated(t *testing.T) {
	s := memory.New()
	var ctx context.Context // nil, deliberately
	if err := s.WriteBlock(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBlock(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("ReadBlock = %q, %v", got, err)
	}
}

// Walking a listing by Page.Next gives every entry once, in order, in
// ceil(n/limit) pages, for any limit; an empty page has nil Entries and an
// empty Next; a negative limit is an *ArgumentError; Entries walks the
// same pages and may be stopped early. (What each page holds for a given
// prefix, startAfter and limit is the cases'.)
func TestListPagePaging(t *testing.T) {
	s := memory.New()
	var all []memory.Entry
	for i := range 25 {
		k := "p/" + string(rune('a'+i))
		mustWrite(t, s, k, make([]byte, i))
		all = append(all, memory.Entry{Key: k, Size: int64(i)})
	}
	mustWrite(t, s, "o", nil)
	mustWrite(t, s, "q", nil)

	for _, limit := range []int{1, 2, 7, 24, 25, 26, 1000} {
		var got []memory.Entry
		after := ""
		pages := 0
		for {
			page, err := s.ListPage(bg, "p/", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Entries) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Entries))
			}
			got = append(got, page.Entries...)
			if !page.More {
				break
			}
			if len(page.Entries) == 0 {
				t.Fatalf("limit %d: empty page with More", limit)
			}
			after = page.Next()
		}
		if !slices.Equal(got, all) {
			t.Fatalf("limit %d: paged listing = %v", limit, got)
		}
		if want := (25 + limit - 1) / limit; pages != want {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, want)
		}
	}

	for _, tc := range []struct{ prefix, after string }{
		{"p/", "p0"}, {"p/", "p/y"}, {"x", ""},
	} {
		page, err := s.ListPage(bg, tc.prefix, tc.after, 5)
		if err != nil || page.Entries != nil || page.More || page.Next() != "" {
			t.Errorf("ListPage(%q, %q): Entries %#v, More %v, Next %q, %v; want an empty page",
				tc.prefix, tc.after, page.Entries, page.More, page.Next(), err)
		}
	}
	var ae *memory.ArgumentError
	if _, err := s.ListPage(bg, "", "", -1); !errors.As(err, &ae) || ae.Arg != "limit" || ae.Value != -1 {
		t.Errorf("negative limit: %#v, want an *ArgumentError", err)
	}

	var walked []memory.Entry
	for e, err := range s.Entries(bg, "p/", 4) {
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, e)
		if len(walked) == 10 {
			break // stopping early must be safe
		}
	}
	if !slices.Equal(walked, all[:10]) {
		t.Fatalf("Entries = %v", walked)
	}
}

func keysOf(es []memory.Entry) []string {
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	return keys
}

// A Store not made by New reports a *NativeError instead of crashing.
func TestZeroStoreIsAnErrorNotACrash(t *testing.T) {
	var s memory.Store
	err := s.WriteBlock(bg, "k", []byte("v"))
	var ne *memory.NativeError
	if !errors.As(err, &ne) || ne.Op != "WriteBlock" {
		t.Fatalf("got %v (%T), want *memory.NativeError", err, err)
	}
	if !strings.Contains(err.Error(), "invalid argument") {
		t.Errorf("message %q", err.Error())
	}
	if _, err := s.ReadBlock(bg, "k"); err == nil {
		t.Error("ReadBlock succeeded")
	}
	if _, err := s.ListByPrefix(bg, ""); err == nil {
		t.Error("ListByPrefix succeeded")
	}
	if err := s.Close(); err == nil {
		t.Error("Close succeeded")
	}
	if s.BlockCount() != 0 || s.TotalSize() != 0 || s.Stats() != (memory.Stats{Closed: true}) {
		t.Errorf("a zero Store reports %d blocks, %d bytes, %+v; want an empty, closed store",
			s.BlockCount(), s.TotalSize(), s.Stats())
	}
}
