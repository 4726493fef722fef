package memory_test

// One test per rule of the behaviour contract (docs/CONTRACT.md) and of
// the Go binding's own rules, each named after its rule.

import (
	"bytes"
	"context"
	"errors"
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

func TestImplementsBlockStore(t *testing.T) {
	var bs store.BlockStore = memory.New()
	defer bs.Close()
	if err := bs.WriteBlock(bg, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	got, err := bs.ReadBlock(bg, "k")
	if err != nil || string(got) != "v" {
		t.Fatalf("ReadBlock = %q, %v", got, err)
	}
}

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

func TestWriteThenReadRoundTrips(t *testing.T) {
	s := memory.New()
	for _, size := range []int{0, 1, 1000, 64 << 10, 1 << 20} {
		key := "share/content/chunk-0/block-" + strings.Repeat("x", size%7)
		data := payload.New(key, uint64(size), size)[:size]
		mustWrite(t, s, key, data)
		if got := mustRead(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("size %d: read differs from write", size)
		}
	}
}

func TestWriteReplacesWholeBlock(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", []byte("a longer first block"))
	mustWrite(t, s, "k", []byte("short"))
	if got := mustRead(t, s, "k"); string(got) != "short" {
		t.Fatalf("got %q", got)
	}
	wantCounts(t, s, 1, 5)
}

func TestEmptyBlockReadsAsEmptyNotMissing(t *testing.T) {
	s := memory.New()
	for _, data := range [][]byte{nil, {}} {
		mustWrite(t, s, "empty", data)
		got, err := s.ReadBlock(bg, "empty")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ReadBlock = %#v, %v; want non-nil empty slice", got, err)
		}
		got, err = s.ReadBlockRange(bg, "empty", 0, 10)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ReadBlockRange = %#v, %v; want non-nil empty slice", got, err)
		}
		if n, err := s.ReadBlockInto(bg, "empty", nil); n != 0 || err != nil {
			t.Fatalf("ReadBlockInto(nil) = %d, %v", n, err)
		}
		if size, err := s.Stat(bg, "empty"); size != 0 || err != nil {
			t.Fatalf("Stat = %d, %v", size, err)
		}
		if ok, err := s.Exists(bg, "empty"); !ok || err != nil {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
		wantCounts(t, s, 1, 0)
	}
}

func TestMissingBlockIsNotFound(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "other", []byte("x"))
	buf := make([]byte, 8)
	for name, op := range map[string]func() error{
		"ReadBlock":          func() error { _, err := s.ReadBlock(bg, "k"); return err },
		"ReadBlockRange":     func() error { _, err := s.ReadBlockRange(bg, "k", 0, 1); return err },
		"ReadBlockInto":      func() error { _, err := s.ReadBlockInto(bg, "k", buf); return err },
		"ReadBlockRangeInto": func() error { _, err := s.ReadBlockRangeInto(bg, "k", 0, buf); return err },
		"Stat":               func() error { _, err := s.Stat(bg, "k"); return err },
	} {
		if err := op(); err != store.ErrBlockNotFound {
			t.Errorf("%s: got %v, want ErrBlockNotFound", name, err)
		}
	}
	if ok, err := s.Exists(bg, "k"); ok || err != nil {
		t.Errorf("Exists = %v, %v; want false, nil", ok, err)
	}
}

// Empty keys and keys over MaxKeyLen are ErrInvalidKey for every keyed
// operation; keys of exactly MaxKeyLen bytes are fine.
func TestInvalidKeyEmptyOrOversize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   memory.Options
		maxLen int
	}{
		{"default limit", memory.Options{}, memory.DefaultMaxKeyLen},
		{"MaxKeyLen 5", memory.Options{MaxKeyLen: 5}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.opts)
			if got := s.Stats().MaxKeyLen; got != tc.maxLen {
				t.Fatalf("Stats().MaxKeyLen = %d, want %d", got, tc.maxLen)
			}
			longest := strings.Repeat("k", tc.maxLen)
			mustWrite(t, s, longest, []byte("ok"))
			for _, key := range []string{"", longest + "k", strings.Repeat("k", 1<<16)} {
				buf := make([]byte, 4)
				for name, op := range map[string]func() error{
					"WriteBlock":         func() error { return s.WriteBlock(bg, key, []byte("x")) },
					"ReadBlock":          func() error { _, err := s.ReadBlock(bg, key); return err },
					"ReadBlockRange":     func() error { _, err := s.ReadBlockRange(bg, key, 0, 1); return err },
					"ReadBlockInto":      func() error { _, err := s.ReadBlockInto(bg, key, buf); return err },
					"ReadBlockRangeInto": func() error { _, err := s.ReadBlockRangeInto(bg, key, 0, buf); return err },
					"Stat":               func() error { _, err := s.Stat(bg, key); return err },
					"Exists":             func() error { _, err := s.Exists(bg, key); return err },
					"DeleteBlock":        func() error { return s.DeleteBlock(bg, key) },
					"Delete":             func() error { _, err := s.Delete(bg, key); return err },
				} {
					if err := op(); err != store.ErrInvalidKey {
						t.Errorf("%s(key of %d bytes): got %v, want ErrInvalidKey", name, len(key), err)
					}
				}
			}
			wantCounts(t, s, 1, 2)
		})
	}
}

func TestKeysWithAnyBytesAccepted(t *testing.T) {
	s := memory.New()
	keys := []string{"\x00", "a\x00b", "\xff", "\xff\xff", "\xc3\x28", "\xed\xa0\x80", "日本", "a/b/c"}
	for i, k := range keys {
		mustWrite(t, s, k, []byte{byte(i)})
	}
	for i, k := range keys {
		if got := mustRead(t, s, k); !bytes.Equal(got, []byte{byte(i)}) {
			t.Errorf("key %q: got %v", k, got)
		}
	}
	got, err := s.ListByPrefix(bg, "")
	want := slices.Sorted(slices.Values(keys))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListByPrefix = %q, %v; want %q", got, err, want)
	}
	if got, _ := s.ListByPrefix(bg, "\xff"); !slices.Equal(got, []string{"\xff", "\xff\xff"}) {
		t.Fatalf("ListByPrefix(0xFF) = %q", got)
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

// ReadBlockRange returns [offset, min(offset+length, size)); offset ==
// size or length == 0 is empty; offset > size, negative offset or length
// is ErrInvalidRange; offset+length never overflows, it clamps.
func TestRangeRules(t *testing.T) {
	s := memory.New()
	block := []byte("0123456789")
	mustWrite(t, s, "k", block)
	for _, tc := range []struct {
		name           string
		offset, length int64
		want           string
		err            error
	}{
		{"whole", 0, 10, "0123456789", nil},
		{"middle", 3, 4, "3456", nil},
		{"length past end clamps", 7, 100, "789", nil},
		{"MaxInt64 length clamps", 3, math.MaxInt64, "3456789", nil},
		{"offset+length overflows, clamps", 9, math.MaxInt64, "9", nil},
		{"zero length", 4, 0, "", nil},
		{"offset == size", 10, 5, "", nil},
		{"offset == size, zero length", 10, 0, "", nil},
		{"offset > size", 11, 0, "", store.ErrInvalidRange},
		{"huge offset", 1 << 40, 1, "", store.ErrInvalidRange},
		{"MaxInt64 offset and length", math.MaxInt64, math.MaxInt64, "", store.ErrInvalidRange},
		{"negative offset", -1, 1, "", store.ErrInvalidRange},
		{"MinInt64 offset", math.MinInt64, 5, "", store.ErrInvalidRange},
		{"negative length", 0, -1, "", store.ErrInvalidRange},
		{"MinInt64 length", 2, math.MinInt64, "", store.ErrInvalidRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReadBlockRange(bg, "k", tc.offset, tc.length)
			if err != tc.err {
				t.Fatalf("ReadBlockRange err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && (got == nil || string(got) != tc.want) {
				t.Fatalf("ReadBlockRange = %#v, want %q (non-nil)", got, tc.want)
			}
			if tc.err != nil && got != nil {
				t.Fatalf("ReadBlockRange returned %q with an error", got)
			}

			// ReadBlockRangeInto takes its length from len(dst); huge
			// lengths are not allocatable, so clamp the buffer to 64.
			if tc.length < 0 {
				return
			}
			dst := bytes.Repeat([]byte{'.'}, int(min(tc.length, 64)))
			n, err := s.ReadBlockRangeInto(bg, "k", tc.offset, dst)
			if err != tc.err {
				t.Fatalf("ReadBlockRangeInto err = %v, want %v", err, tc.err)
			}
			want := tc.want
			if tc.err == nil && string(dst[:n]) != want {
				t.Fatalf("ReadBlockRangeInto = %q, want %q", dst[:n], want)
			}
			if strings.Trim(string(dst[n:]), ".") != "" {
				t.Fatalf("ReadBlockRangeInto wrote past n: %q", dst)
			}
		})
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

// A buffer that is too small gets ErrBufferTooSmall with the needed size
// as n, and is left untouched.
func TestBufferTooSmallReportsSizeWritesNothing(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", []byte("0123456789"))
	for _, size := range []int{0, 1, 9} {
		var dst []byte
		if size > 0 {
			dst = bytes.Repeat([]byte{'.'}, size)
		}
		n, err := s.ReadBlockInto(bg, "k", dst)
		if err != store.ErrBufferTooSmall || n != 10 {
			t.Fatalf("cap %d: got %d, %v; want 10, ErrBufferTooSmall", size, n, err)
		}
		if strings.Trim(string(dst), ".") != "" {
			t.Fatalf("cap %d: buffer was written: %q", size, dst)
		}
	}
	for _, size := range []int{10, 11, 4096} {
		dst := make([]byte, size)
		n, err := s.ReadBlockInto(bg, "k", dst)
		if err != nil || n != 10 || string(dst[:n]) != "0123456789" {
			t.Fatalf("cap %d: got %d, %v, %q", size, n, err, dst[:n])
		}
	}
}

func TestStatAndExistsCopyNothing(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", make([]byte, 12345))
	if size, err := s.Stat(bg, "k"); size != 12345 || err != nil {
		t.Fatalf("Stat = %d, %v", size, err)
	}
	if ok, err := s.Exists(bg, "k"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		s.Stat(bg, "k")
		s.Exists(bg, "k")
	})
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

// StoreFull: nothing changes, stats included; a replacement counts as
// total - old + new; an exact fit is accepted.
func TestStoreFullChangesNothing(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 100})
	mustWrite(t, s, "a", bytes.Repeat([]byte{'a'}, 60))
	mustWrite(t, s, "b", bytes.Repeat([]byte{'b'}, 30))
	for _, tc := range []struct {
		key  string
		size int
	}{
		{"c", 11},  // new key: 90 + 11
		{"a", 71},  // replacement: 90 - 60 + 71
		{"b", 41},  // replacement: 90 - 30 + 41
		{"z", 101}, // larger than the cap itself
	} {
		if err := s.WriteBlock(bg, tc.key, make([]byte, tc.size)); err != store.ErrStoreFull {
			t.Fatalf("write %q (%d bytes): got %v, want ErrStoreFull", tc.key, tc.size, err)
		}
		wantCounts(t, s, 2, 90)
		if got := mustRead(t, s, "a"); !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 60)) {
			t.Fatal("block a changed")
		}
		if ok, _ := s.Exists(bg, "c"); ok {
			t.Fatal("block c was stored")
		}
	}
	mustWrite(t, s, "a", make([]byte, 70)) // 90 - 60 + 70 = 100: exact fit
	wantCounts(t, s, 2, 100)
	mustWrite(t, s, "c", nil) // empty blocks fit a full store
	wantCounts(t, s, 3, 100)
}

func TestBlockTooLarge(t *testing.T) {
	s := newStore(t, memory.Options{MaxBlockSize: 16})
	mustWrite(t, s, "k", make([]byte, 16))
	if err := s.WriteBlock(bg, "k", make([]byte, 17)); err != store.ErrBlockTooLarge {
		t.Fatalf("got %v, want ErrBlockTooLarge", err)
	}
	if size, _ := s.Stat(bg, "k"); size != 16 {
		t.Fatalf("block changed to %d bytes", size)
	}
	wantCounts(t, s, 1, 16)
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

func TestCloseIdempotentAndEverythingAfterIsStoreClosed(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "a", []byte("abc"))
	if err := s.HealthCheck(bg); err != nil {
		t.Fatalf("HealthCheck before Close: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	ops := everyCall(s, bg, "a")
	ops["WriteBlock new key"] = func() error { return s.WriteBlock(bg, "b", []byte("x")) }
	for name, op := range ops {
		if err := op(); err != store.ErrStoreClosed {
			t.Errorf("%s after Close: got %v, want ErrStoreClosed", name, err)
		}
	}
	wantCounts(t, s, 0, 0)
	if !s.Stats().Closed {
		t.Error("Stats().Closed is false after Close")
	}
}

func TestListByPrefixOrderAndFilter(t *testing.T) {
	s := memory.New()
	keys := []string{"b", "a/2", "a/10", "a/1", "ab", "a", "a/1/x", "c\xff", "c"}
	for _, k := range keys {
		mustWrite(t, s, k, []byte(k))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "a/1", "a/1/x", "a/10", "a/2", "ab", "b", "c", "c\xff"}},
		{"a/", []string{"a/1", "a/1/x", "a/10", "a/2"}},
		{"a/1", []string{"a/1", "a/1/x", "a/10"}},
		{"a", []string{"a", "a/1", "a/1/x", "a/10", "a/2", "ab"}},
		{"c", []string{"c", "c\xff"}},
		{"c\xff", []string{"c\xff"}},
		{"b", []string{"b"}},
	} {
		got, err := s.ListByPrefix(bg, tc.prefix)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ListByPrefix(%q) = %q, %v; want %q", tc.prefix, got, err, tc.want)
		}
	}
}

func TestListByPrefixNilWhenNothingMatches(t *testing.T) {
	s := memory.New()
	if got, err := s.ListByPrefix(bg, ""); got != nil || err != nil {
		t.Fatalf("empty store: %#v, %v; want nil, nil", got, err)
	}
	mustWrite(t, s, "a", nil)
	for _, prefix := range []string{"b", "a/", "\x00", "\xff"} {
		if got, err := s.ListByPrefix(bg, prefix); got != nil || err != nil {
			t.Fatalf("ListByPrefix(%q) = %#v, %v; want nil, nil", prefix, got, err)
		}
	}
}

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

	for _, tc := range []struct {
		name, prefix, after string
		limit               int
		want                []string
		more                bool
	}{
		{"limit 0 means all", "p/", "", 0, keysOf(all), false},
		{"start after a missing key", "p/", "p/c0", 2, []string{"p/d", "p/e"}, true},
		{"start after before prefix", "p/", "a", 1, []string{"p/a"}, true},
		{"start after past prefix", "p/", "p0", 5, nil, false},
		{"start after last key", "p/", "p/y", 5, nil, false},
		{"no match", "x", "", 5, nil, false},
		{"empty prefix", "", "p/x", 0, []string{"p/y", "q"}, false},
	} {
		page, err := s.ListPage(bg, tc.prefix, tc.after, tc.limit)
		if err != nil || !slices.Equal(keysOf(page.Entries), tc.want) || page.More != tc.more {
			t.Errorf("%s: got %v more=%v err=%v; want %q more=%v", tc.name, page.Entries, page.More, err, tc.want, tc.more)
		}
		if len(tc.want) == 0 && (page.Entries != nil || page.Next() != "") {
			t.Errorf("%s: empty page has Entries %#v, Next %q", tc.name, page.Entries, page.Next())
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

func TestDeleteIdempotentReportsExisted(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "k", []byte("abc"))
	mustWrite(t, s, "k2", []byte("de"))
	if existed, err := s.Delete(bg, "k"); !existed || err != nil {
		t.Fatalf("first Delete = %v, %v", existed, err)
	}
	if existed, err := s.Delete(bg, "k"); existed || err != nil {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}
	if err := s.DeleteBlock(bg, "k"); err != nil {
		t.Fatalf("DeleteBlock of a missing key: %v", err)
	}
	if err := s.DeleteBlock(bg, "never"); err != nil {
		t.Fatalf("DeleteBlock of a never-written key: %v", err)
	}
	if _, err := s.ReadBlock(bg, "k"); err != store.ErrBlockNotFound {
		t.Fatalf("read after delete: %v", err)
	}
	wantCounts(t, s, 1, 2)
}

func TestDeleteByPrefixCounts(t *testing.T) {
	s := memory.New()
	for k, size := range map[string]int{"a": 1, "a/1": 10, "a/2": 20, "a/2/x": 5, "ab": 7, "b": 100, "\xff": 3, "\xff\xff": 4} {
		mustWrite(t, s, k, make([]byte, size))
	}
	for _, tc := range []struct {
		prefix string
		blocks int
		bytes  int64
		left   int
	}{
		{"a/", 3, 35, 5},
		{"a/", 0, 0, 5}, // idempotent
		{"zzz", 0, 0, 5},
		{"\xff", 2, 7, 3}, // all-0xFF prefix: no upper bound
		{"a", 2, 8, 1},
		{"", 1, 100, 0}, // empty prefix: everything
		{"", 0, 0, 0},
	} {
		blocks, bytes, err := s.DeleteByPrefixStats(bg, tc.prefix)
		if err != nil || blocks != tc.blocks || bytes != tc.bytes {
			t.Fatalf("DeleteByPrefixStats(%q) = %d, %d, %v; want %d, %d", tc.prefix, blocks, bytes, err, tc.blocks, tc.bytes)
		}
		if n, size := recount(t, s); n != tc.left || s.BlockCount() != n || s.TotalSize() != size {
			t.Fatalf("after %q: %d blocks listed, BlockCount %d, TotalSize %d vs %d", tc.prefix, n, s.BlockCount(), s.TotalSize(), size)
		}
	}
	mustWrite(t, s, "x/1", []byte("1"))
	if err := s.DeleteByPrefix(bg, "x/"); err != nil || s.BlockCount() != 0 {
		t.Fatalf("DeleteByPrefix: %v, %d blocks left", err, s.BlockCount())
	}
}

func TestCountsEqualRecount(t *testing.T) {
	s := memory.New()
	for i := range 1000 {
		mustWrite(t, s, "k/"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+string(rune(i)), make([]byte, i%97))
	}
	n, size := recount(t, s)
	wantCounts(t, s, n, size)
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
