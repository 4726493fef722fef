package memory_test

// Benchmarks of the blockmem Go binding side by side with refStore, the
// pure-Go reference (reference_test.go). Every benchmark runs once per
// implementation as a sub-benchmark named impl=blockmem or impl=ref, so
// benchstat lines the two up:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee out.txt
//	benchstat -col /impl out.txt
//
// BLOCKMEM_BENCH_QUICK=1 selects a reduced set of sizes (make bench-quick).
// TestMemoryOverhead measures resident memory per block; it runs only when
// BLOCKMEM_MEMORY_IMPL is set (bench/Makefile runs it once per
// implementation, each in its own process).

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// benchStore is what the benchmarks call, on either implementation.
type benchStore interface {
	store.BlockStore
	ReadBlockInto(ctx context.Context, blockKey string, dst []byte) (int, error)
	Stat(ctx context.Context, blockKey string) (int64, error)
	TotalSize() int64
}

var benchImpls = []struct {
	name string
	new  func() benchStore
}{
	{"blockmem", func() benchStore { return memory.New() }},
	{"ref", func() benchStore { return newRefStore() }},
}

const (
	benchKiB = 1024
	benchMiB = 1024 * benchKiB

	benchKey = "share/content/chunk-0/block-0"

	// Range reads come from a block of this size (the classic block size).
	benchRangeBlock = 4 * benchMiB

	// The listing benchmarks use a store of benchPrefixBlocks blocks of
	// benchPrefixBlockSize bytes, benchBlocksPerChunk under each chunk
	// prefix.
	benchPrefixBlocks    = 1_000_000
	benchPrefixBlockSize = 64
	benchBlocksPerChunk  = 8
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KB", benchKiB},
	{"64KB", 64 * benchKiB},
	{"1MB", benchMiB},
	{"4MB", 4 * benchMiB},
}

var benchRanges = []struct {
	name           string
	offset, length int64
}{
	{"1KB_start", 0, benchKiB},
	{"1KB_middle", benchRangeBlock / 2, benchKiB},
	{"64KB_start", 0, 64 * benchKiB},
	{"64KB_middle", benchRangeBlock / 2, 64 * benchKiB},
}

func benchQuick() bool {
	v := os.Getenv("BLOCKMEM_BENCH_QUICK")
	return v != "" && v != "0"
}

// benchSkipInQuick reports whether a size is left out of the quick set.
func benchSkipInQuick(name string) bool {
	return benchQuick() && (name == "1MB" || strings.HasSuffix(name, "_start"))
}

// Sinks keep results alive so the compiler cannot drop the calls.
var (
	benchSinkBytes []byte
	benchSinkKeys  []string
	benchSinkInt   int64
)

func benchPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31 >> 3)
	}
	return b
}

// benchEachImpl runs fn as sub-benchmark impl=<name> on a fresh store of
// each implementation, closing the store afterwards.
func benchEachImpl(b *testing.B, fn func(b *testing.B, s benchStore)) {
	for _, impl := range benchImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			s := impl.new()
			defer s.Close()
			defer benchReportGCs(b)()
			fn(b, s)
		})
	}
}

// benchReportGCs reports garbage collections per operation (GCs/op) for
// the benchmark it is deferred in. The collector's pace depends on the
// live Go heap: the reference keeps its blocks on the Go heap and
// blockmem does not, so the same allocation rate triggers a different
// number of collections, which the report uses to explain differences in
// allocating benchmarks. Both readings happen outside the timed loop.
func benchReportGCs(b *testing.B) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
	}
}

func benchWrite(b *testing.B, s benchStore, key string, data []byte) {
	b.Helper()
	if err := s.WriteBlock(context.Background(), key, data); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriteBlock(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		if benchSkipInQuick(size.name) {
			continue
		}
		data := benchPayload(size.n)
		b.Run(size.name, func(b *testing.B) {
			benchEachImpl(b, func(b *testing.B, s benchStore) {
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					if err := s.WriteBlock(ctx, benchKey, data); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkReadBlock(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		if benchSkipInQuick(size.name) {
			continue
		}
		data := benchPayload(size.n)
		b.Run(size.name, func(b *testing.B) {
			benchEachImpl(b, func(b *testing.B, s benchStore) {
				benchWrite(b, s, benchKey, data)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					out, err := s.ReadBlock(ctx, benchKey)
					if err != nil {
						b.Fatal(err)
					}
					benchSinkBytes = out
				}
				benchSinkBytes = nil
			})
		})
	}
}

func BenchmarkReadBlockRange(b *testing.B) {
	ctx := context.Background()
	data := benchPayload(benchRangeBlock)
	for _, r := range benchRanges {
		if benchSkipInQuick(r.name) {
			continue
		}
		b.Run(r.name, func(b *testing.B) {
			benchEachImpl(b, func(b *testing.B, s benchStore) {
				benchWrite(b, s, benchKey, data)
				b.SetBytes(r.length)
				b.ReportAllocs()
				for b.Loop() {
					out, err := s.ReadBlockRange(ctx, benchKey, r.offset, r.length)
					if err != nil {
						b.Fatal(err)
					}
					benchSinkBytes = out
				}
				benchSinkBytes = nil
			})
		})
	}
}

// BenchmarkWriteBlock_Parallel writes 64 KiB blocks from GOMAXPROCS
// goroutines at once, each overwriting its own key.
func BenchmarkWriteBlock_Parallel(b *testing.B) {
	ctx := context.Background()
	data := benchPayload(64 * benchKiB)
	benchEachImpl(b, func(b *testing.B, s benchStore) {
		var next atomic.Int64
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			key := "share/parallel/goroutine-" + strconv.FormatInt(next.Add(1), 10)
			for pb.Next() {
				if err := s.WriteBlock(ctx, key, data); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReadBlockInto reads into a caller buffer: blockmem's
// allocation-free extension (0 allocs/op expected), and the same method
// on the reference for comparison.
func BenchmarkReadBlockInto(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		if benchSkipInQuick(size.name) {
			continue
		}
		data := benchPayload(size.n)
		b.Run(size.name, func(b *testing.B) {
			benchEachImpl(b, func(b *testing.B, s benchStore) {
				benchWrite(b, s, benchKey, data)
				dst := make([]byte, size.n)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					n, err := s.ReadBlockInto(ctx, benchKey, dst)
					if err != nil || n != size.n {
						b.Fatal(n, err)
					}
				}
			})
		})
	}
}

func BenchmarkStat(b *testing.B) {
	ctx := context.Background()
	data := benchPayload(64 * benchKiB)
	benchEachImpl(b, func(b *testing.B, s benchStore) {
		benchWrite(b, s, benchKey, data)
		b.ReportAllocs()
		for b.Loop() {
			n, err := s.Stat(ctx, benchKey)
			if err != nil {
				b.Fatal(err)
			}
			benchSinkInt = n
		}
	})
}

func benchChunkKey(chunk, block int) string {
	return fmt.Sprintf("share/content/chunk-%07d/block-%d", chunk, block)
}

func benchChunkPrefix(chunk int) string {
	return fmt.Sprintf("share/content/chunk-%07d/", chunk)
}

// Large stores are built once per implementation and process, outside the
// timed loops, and shared by the listing and total-size benchmarks.
var (
	benchLargeMu     sync.Mutex
	benchLargeStores = map[string]benchStore{}
)

func benchLargeStore(b *testing.B, impl string, mk func() benchStore) benchStore {
	b.Helper()
	benchLargeMu.Lock()
	defer benchLargeMu.Unlock()
	if s, ok := benchLargeStores[impl]; ok {
		return s
	}
	s := mk()
	data := benchPayload(benchPrefixBlockSize)
	for i := range benchPrefixBlocks {
		benchWrite(b, s, benchChunkKey(i/benchBlocksPerChunk, i%benchBlocksPerChunk), data)
	}
	benchLargeStores[impl] = s
	runtime.GC()
	return s
}

// benchEachLarge runs fn as sub-benchmark impl=<name> on the shared store of
// benchPrefixBlocks blocks of each implementation.
func benchEachLarge(b *testing.B, fn func(b *testing.B, s benchStore)) {
	for _, impl := range benchImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			fn(b, benchLargeStore(b, impl.name, impl.new))
		})
	}
}

// BenchmarkListByPrefix lists the benchBlocksPerChunk keys under one
// prefix of a store of benchPrefixBlocks blocks.
func BenchmarkListByPrefix(b *testing.B) {
	ctx := context.Background()
	prefix := benchChunkPrefix(benchPrefixBlocks / benchBlocksPerChunk / 2)
	benchEachLarge(b, func(b *testing.B, s benchStore) {
		b.ReportAllocs()
		for b.Loop() {
			keys, err := s.ListByPrefix(ctx, prefix)
			if err != nil || len(keys) != benchBlocksPerChunk {
				b.Fatal(len(keys), err)
			}
			benchSinkKeys = keys
		}
		benchSinkKeys = nil
	})
}

// BenchmarkTotalSize asks a store of benchPrefixBlocks blocks for its
// total size.
func BenchmarkTotalSize(b *testing.B) {
	want := int64(benchPrefixBlocks * benchPrefixBlockSize)
	benchEachLarge(b, func(b *testing.B, s benchStore) {
		b.ReportAllocs()
		for b.Loop() {
			if n := s.TotalSize(); n != want {
				b.Fatal(n, want)
			}
		}
	})
}

// benchResidentBytes is this process's resident set size, from
// /proc/self/statm.
func benchResidentBytes(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		t.Fatalf("unexpected statm %q", raw)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// benchSettle runs the garbage collector and returns freed memory to the
// operating system, so that RSS and HeapInuse reflect live data only.
func benchSettle() runtime.MemStats {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// TestMemoryOverhead fills a store with BLOCKMEM_MEMORY_BLOCKS (default
// 10^6) blocks of 1 KiB and prints the memory it costs per block beyond
// the key and data bytes: from the resident set (RSS) for both
// implementations, and from the Go heap's HeapInuse (what the reference's
// blocks occupy; blockmem keeps blocks outside the Go heap).
func TestMemoryOverhead(t *testing.T) {
	implName := os.Getenv("BLOCKMEM_MEMORY_IMPL")
	if implName == "" {
		t.Skip("set BLOCKMEM_MEMORY_IMPL=blockmem or ref to measure (bench/Makefile does)")
	}
	blocks := benchPrefixBlocks
	if v := os.Getenv("BLOCKMEM_MEMORY_BLOCKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("BLOCKMEM_MEMORY_BLOCKS=%q", v)
		}
		blocks = n
	}
	var mk func() benchStore
	for _, impl := range benchImpls {
		if impl.name == implName {
			mk = impl.new
		}
	}
	if mk == nil {
		t.Fatalf("unknown BLOCKMEM_MEMORY_IMPL %q", implName)
	}

	ctx := context.Background()
	data := benchPayload(benchKiB)
	ms0 := benchSettle()
	rss0 := benchResidentBytes(t)

	s := mk()
	var keyData int64
	for i := range blocks {
		key := benchChunkKey(i/benchBlocksPerChunk, i%benchBlocksPerChunk)
		if err := s.WriteBlock(ctx, key, data); err != nil {
			t.Fatal(err)
		}
		keyData += int64(len(key) + len(data))
	}

	ms1 := benchSettle()
	rss1 := benchResidentBytes(t)
	if s.TotalSize() != int64(blocks*len(data)) {
		t.Fatalf("total size %d", s.TotalSize())
	}
	perBlock := func(before, after int64) float64 {
		return float64(after-before-keyData) / float64(blocks)
	}
	fmt.Printf("memory impl=go-%s blocks=%d data_size=%d key_data_bytes=%d "+
		"rss_delta=%d rss_overhead_per_block=%.1f "+
		"heap_inuse_delta=%d heap_overhead_per_block=%.1f\n",
		implName, blocks, len(data), keyData,
		rss1-rss0, perBlock(rss0, rss1),
		int64(ms1.HeapInuse)-int64(ms0.HeapInuse),
		perBlock(int64(ms0.HeapInuse), int64(ms1.HeapInuse)))
	runtime.KeepAlive(s)
	s.Close()
}
