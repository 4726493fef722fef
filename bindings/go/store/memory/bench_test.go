package memory_test

// Benchmarks of the blockmem Go binding. The classic store methods run once
// per implementation as sub-benchmarks impl=blockmem and impl=ref (the
// pure-Go store in reference_test.go); the streaming calls run against the
// copying calls they replace as path=stream and path=copy. benchstat lines
// them up:
//
//	go test -run '^$' -bench . -benchmem -count 10 | tee out.txt
//	benchstat -col /impl out.txt
//
// Every benchmark also reports GCs/op (collections) and faults/op (minor
// page faults), which explain differences in allocating benchmarks.
// BLOCKMEM_BENCH_QUICK=1 selects a reduced set of sizes (make bench-quick).

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// benchLargeImpls adds, for the real-size set, blockmem with
// Options.PaceGC (column "paced") and the copy limit (column "limit",
// slabStore: writes and ReadBlockInto only).
var benchLargeImpls = append(benchImpls[:len(benchImpls):len(benchImpls)], []struct {
	name string
	new  func() benchStore
}{
	{"paced", func() benchStore {
		s, err := memory.NewWithOptions(memory.Options{PaceGC: true})
		if err != nil {
			panic(err)
		}
		return s
	}},
	{"limit", func() benchStore { return newSlabStore() }},
}...)

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

type benchSize struct {
	name string
	n    int
}

var (
	benchSizes       = []benchSize{{"1KB", benchKiB}, {"64KB", 64 * benchKiB}, {"1MB", benchMiB}, {"4MB", 4 * benchMiB}}
	benchStreamSizes = []benchSize{{"64KB", 64 * benchKiB}, {"1MB", benchMiB}, {"4MB", 4 * benchMiB}}
)

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

// benchEachSize runs fn as sub-benchmark <size> for every size not left out
// of the quick set, with the size's payload.
func benchEachSize(b *testing.B, sizes []benchSize, fn func(b *testing.B, data []byte)) {
	for _, size := range sizes {
		if benchSkipInQuick(size.name) {
			continue
		}
		data := benchPayload(size.n)
		b.Run(size.name, func(b *testing.B) { fn(b, data) })
	}
}

// benchEachImpl runs fn as sub-benchmark impl=<name> on a fresh store of
// each implementation, closing the store afterwards.
func benchEachImpl(b *testing.B, fn func(b *testing.B, s benchStore)) {
	for _, impl := range benchImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			s := impl.new()
			defer s.Close()
			defer benchReportRuntime(b)()
			fn(b, s)
		})
	}
}

// benchMinorFaults is this process's count of minor page faults so far.
func benchMinorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// benchReportRuntime reports garbage collections (GCs/op) and minor page
// faults (faults/op) per operation for the benchmark it is deferred in.
// The collector paces itself on the live Go heap: the reference keeps its
// blocks there and blockmem does not, so the same allocation rate triggers
// a different number of collections; memory the runtime returns to the
// system between collections is faulted in again on the next allocation.
// Both readings happen outside the timed loop.
func benchReportRuntime(b *testing.B) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	faults := benchMinorFaults()
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
		b.ReportMetric(float64(benchMinorFaults()-faults)/float64(b.N), "faults/op")
	}
}

func benchWrite(b *testing.B, s benchStore, key string, data []byte) {
	b.Helper()
	if err := s.WriteBlock(context.Background(), key, data); err != nil {
		b.Fatal(err)
	}
}

// benchReads measures read(ctx) on each implementation holding block under
// benchKey; read returns what it read, kept alive in a sink.
func benchReads(b *testing.B, block []byte, n int64,
	read func(ctx context.Context, s benchStore) ([]byte, error)) {
	ctx := context.Background()
	benchEachImpl(b, func(b *testing.B, s benchStore) {
		benchWrite(b, s, benchKey, block)
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			out, err := read(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			benchSinkBytes = out
		}
		benchSinkBytes = nil
	})
}

func BenchmarkWriteBlock(b *testing.B) {
	ctx := context.Background()
	benchEachSize(b, benchSizes, func(b *testing.B, data []byte) {
		benchEachImpl(b, func(b *testing.B, s benchStore) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.WriteBlock(ctx, benchKey, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkReadBlock(b *testing.B) {
	benchEachSize(b, benchSizes, func(b *testing.B, data []byte) {
		benchReads(b, data, int64(len(data)), func(ctx context.Context, s benchStore) ([]byte, error) {
			return s.ReadBlock(ctx, benchKey)
		})
	})
}

func BenchmarkReadBlockRange(b *testing.B) {
	data := benchPayload(benchRangeBlock)
	for _, r := range benchRanges {
		if benchSkipInQuick(r.name) {
			continue
		}
		b.Run(r.name, func(b *testing.B) {
			benchReads(b, data, r.length, func(ctx context.Context, s benchStore) ([]byte, error) {
				return s.ReadBlockRange(ctx, benchKey, r.offset, r.length)
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
	benchEachSize(b, benchSizes, func(b *testing.B, data []byte) {
		dst := make([]byte, len(data))
		benchReads(b, data, int64(len(data)), func(ctx context.Context, s benchStore) ([]byte, error) {
			n, err := s.ReadBlockInto(ctx, benchKey, dst)
			return dst[:n], err
		})
	})
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

// BenchmarkHealthCheck is the cost of the cheapest call: on blockmem one
// cgo crossing to a function that loads one flag, on the reference a read
// lock.
func BenchmarkHealthCheck(b *testing.B) {
	ctx := context.Background()
	benchEachImpl(b, func(b *testing.B, s benchStore) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.HealthCheck(ctx); err != nil {
				b.Fatal(err)
			}
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

func benchLargeStore(b *testing.B, impl string, blocks int, mk func() benchStore) benchStore {
	b.Helper()
	benchLargeMu.Lock()
	defer benchLargeMu.Unlock()
	name := fmt.Sprintf("%s/%d", impl, blocks)
	if s, ok := benchLargeStores[name]; ok {
		return s
	}
	s := mk()
	data := benchPayload(benchPrefixBlockSize)
	for i := range blocks {
		benchWrite(b, s, benchChunkKey(i/benchBlocksPerChunk, i%benchBlocksPerChunk), data)
	}
	benchLargeStores[name] = s
	runtime.GC()
	return s
}

// benchEachLarge runs fn as sub-benchmark impl=<name> on the shared store of
// `blocks` blocks of each implementation.
func benchEachLarge(b *testing.B, blocks int, fn func(b *testing.B, s benchStore)) {
	for _, impl := range benchImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			fn(b, benchLargeStore(b, impl.name, blocks, impl.new))
		})
	}
}

// BenchmarkListByPrefix lists the benchBlocksPerChunk keys under one
// prefix of a store of 200k and of benchPrefixBlocks (10^6) blocks.
func BenchmarkListByPrefix(b *testing.B) {
	ctx := context.Background()
	for _, size := range []struct {
		name   string
		blocks int
	}{{"200k", 200_000}, {"1M", benchPrefixBlocks}} {
		prefix := benchChunkPrefix(size.blocks / benchBlocksPerChunk / 2)
		b.Run(size.name, func(b *testing.B) {
			benchEachLarge(b, size.blocks, func(b *testing.B, s benchStore) {
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
		})
	}
}

// BenchmarkTotalSize asks a store of benchPrefixBlocks blocks for its
// total size.
func BenchmarkTotalSize(b *testing.B) {
	want := int64(benchPrefixBlocks * benchPrefixBlockSize)
	benchEachLarge(b, benchPrefixBlocks, func(b *testing.B, s benchStore) {
		b.ReportAllocs()
		for b.Loop() {
			if n := s.TotalSize(); n != want {
				b.Fatal(n, want)
			}
		}
	})
}

// benchPaths are the two ways to do one streaming job: with the copying
// calls, and with the streaming call.
type benchPaths struct {
	copy, stream func(ctx context.Context, s *memory.Store) error
}

// benchEachPath runs p.copy as sub-benchmark path=copy and p.stream as
// path=stream on a blockmem store holding data under benchKey, each
// moving len(data) bytes per call.
func benchEachPath(b *testing.B, data []byte, p benchPaths) {
	ctx := context.Background()
	for _, path := range []struct {
		name string
		op   func(ctx context.Context, s *memory.Store) error
	}{{"copy", p.copy}, {"stream", p.stream}} {
		b.Run("path="+path.name, func(b *testing.B) {
			s := memory.New()
			defer s.Close()
			benchWrite(b, s, benchKey, data)
			defer benchReportRuntime(b)()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := path.op(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDeliver returns the two ways to hand the block under benchKey to w:
// a copy into a new slice then one Write, or ReadBlockTo.
func benchDeliver(w io.Writer, before func()) benchPaths {
	return benchPaths{
		copy: func(ctx context.Context, s *memory.Store) error {
			before()
			data, err := s.ReadBlock(ctx, benchKey)
			if err == nil {
				_, err = w.Write(data)
			}
			return err
		},
		stream: func(ctx context.Context, s *memory.Store) error {
			before()
			_, err := s.ReadBlockTo(ctx, benchKey, w)
			return err
		},
	}
}

// BenchmarkReadBlockToCRC32 delivers a block to a CRC32 hash.
func BenchmarkReadBlockToCRC32(b *testing.B) {
	benchEachSize(b, benchStreamSizes, func(b *testing.B, data []byte) {
		h := crc32.NewIEEE()
		benchEachPath(b, data, benchDeliver(h, h.Reset))
	})
}

// BenchmarkReadBlockToTCP serves a block over a loopback TCP connection
// whose other end discards what it receives.
func BenchmarkReadBlockToTCP(b *testing.B) {
	benchEachSize(b, benchStreamSizes, func(b *testing.B, data []byte) {
		conn := benchLoopback(b)
		benchEachPath(b, data, benchDeliver(conn, func() {}))
	})
}

// benchLoopback returns a TCP connection to a reader on 127.0.0.1 that
// discards everything; both close when the benchmark ends. Deadlines bound
// every call, so a stuck peer fails the benchmark instead of hanging it.
func benchLoopback(b *testing.B) net.Conn {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		peer, err := ln.Accept()
		if err != nil {
			return
		}
		defer peer.Close()
		_, _ = io.Copy(io.Discard, peer)
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(10 * time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		ln.Close()
		wg.Wait()
	})
	return conn
}

// BenchmarkWriteBlockFrom stores a block read from an io.Reader.
func BenchmarkWriteBlockFrom(b *testing.B) {
	benchEachSize(b, benchStreamSizes, func(b *testing.B, data []byte) {
		r := bytes.NewReader(data)
		size := int64(len(data))
		benchEachPath(b, data, benchPaths{
			copy: func(ctx context.Context, s *memory.Store) error {
				r.Reset(data)
				buf := make([]byte, size)
				if _, err := io.ReadFull(r, buf); err != nil {
					return err
				}
				return s.WriteBlock(ctx, benchKey, buf)
			},
			stream: func(ctx context.Context, s *memory.Store) error {
				r.Reset(data)
				return s.WriteBlockFrom(ctx, benchKey, r, size)
			},
		})
	})
}

// benchResidentBytes is this process's resident set size, from
// /proc/self/statm.
func benchResidentBytes(tb testing.TB) int64 {
	tb.Helper()
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skip("no /proc/self/statm:", err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		tb.Fatalf("unexpected statm %q", raw)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		tb.Fatal(err)
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

// BenchmarkMemoryPerBlock fills a store with 10^6 blocks of 1 KiB per
// iteration and reports the memory it costs per block: the resident set
// beyond the key and data bytes (rss-B/block), and the Go heap's share of
// it (goheap-B/block: the reference keeps its blocks there, blockmem
// outside). It measures, it does not judge: RSS depends on the allocator
// and the kernel. The bound on blockmem's own overhead is asserted
// deterministically by the Rust test tests/memory.rs. Run it with
// -benchtime 1x, one implementation per process (benches/report does), so
// one store's freed memory does not hide in the next one's RSS.
func BenchmarkMemoryPerBlock(b *testing.B) {
	data := benchPayload(benchKiB)
	for _, impl := range benchImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			var rss, heap, keyData int64
			for b.Loop() {
				ms0, rss0 := benchSettle(), benchResidentBytes(b)
				s := impl.new()
				for i := range benchPrefixBlocks {
					key := benchChunkKey(i/benchBlocksPerChunk, i%benchBlocksPerChunk)
					benchWrite(b, s, key, data)
					keyData += int64(len(key) + len(data))
				}
				ms1, rss1 := benchSettle(), benchResidentBytes(b)
				rss += rss1 - rss0
				heap += int64(ms1.HeapInuse) - int64(ms0.HeapInuse)
				runtime.KeepAlive(s)
				s.Close()
			}
			blocks := float64(b.N * benchPrefixBlocks)
			b.ReportMetric(float64(rss-keyData)/blocks, "rss-B/block")
			b.ReportMetric(float64(heap)/blocks, "goheap-B/block")
		})
	}
}

// Real-size working set: BenchmarkLargeSet runs each operation on a random
// key of a store holding benchLargeSetBytes of blocks of one size (4,096
// of 64 KiB, 256 of 1 MiB), so blocks, pages and TLB entries are cold as
// in a real store, unlike the benchmarks above, which reuse one key.
const benchLargeSetBytes = 256 * benchMiB

var benchLargeSetSizes = []benchSize{{"64KB", 64 * benchKiB}, {"1MB", benchMiB}}

// benchLargeSetOps: overwrite, whole read (a new slice), a range of the
// middle half, a read into a caller's buffer from 1 and from 2 goroutines.
var benchLargeSetOps = []struct {
	name       string
	goroutines int
	op         func(ctx context.Context, s benchStore, key string, buf, data []byte) error
}{
	{"write", 1, func(ctx context.Context, s benchStore, key string, _, data []byte) error {
		return s.WriteBlock(ctx, key, data)
	}},
	{"read", 1, func(ctx context.Context, s benchStore, key string, _, _ []byte) error {
		out, err := s.ReadBlock(ctx, key)
		benchSinkBytes = out
		return err
	}},
	{"range", 1, func(ctx context.Context, s benchStore, key string, buf, _ []byte) error {
		n := int64(len(buf))
		out, err := s.ReadBlockRange(ctx, key, n/4, n/2)
		benchSinkBytes = out
		return err
	}},
	{"into", 1, func(ctx context.Context, s benchStore, key string, buf, _ []byte) error {
		_, err := s.ReadBlockInto(ctx, key, buf)
		return err
	}},
	{"into_2goroutines", 2, func(ctx context.Context, s benchStore, key string, buf, _ []byte) error {
		_, err := s.ReadBlockInto(ctx, key, buf)
		return err
	}},
}

// BenchmarkLargeSet measures each operation at steady state: a store is
// filled, every block is rewritten once (so the map store's heap has been
// collected and reused, as in a long-running program), and the same store
// then serves every run the benchmark makes of that operation. Only one
// store is alive at a time, so neither implementation's heap paces the
// other's collector.
func BenchmarkLargeSet(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchLargeSetSizes {
		data := benchPayload(size.n)
		keys := make([]string, benchLargeSetBytes/size.n)
		for i := range keys {
			keys[i] = fmt.Sprintf("share/content/file-%d/block-%d", i/8, i%8)
		}
		for _, op := range benchLargeSetOps {
			b.Run(size.name+"/"+op.name, func(b *testing.B) {
				for _, impl := range benchLargeImpls {
					if impl.name == "limit" && op.name != "write" && op.name != "into" {
						continue
					}
					var s benchStore // made on the first run, reused by the later ones
					b.Run("impl="+impl.name, func(b *testing.B) {
						if s == nil {
							s = impl.new()
							for range 2 { // fill, then rewrite every block once
								for _, k := range keys {
									benchWrite(b, s, k, data)
								}
							}
						}
						runtime.GC()
						defer benchReportRuntime(b)()
						benchLargeSetRun(ctx, b, s, op.goroutines, op.op, keys, data)
					})
					if s != nil {
						s.Close()
					}
				}
			})
		}
	}
}

// benchLargeSetRun runs op b.N times on random keys, split over
// goroutines, each with its own buffer.
func benchLargeSetRun(ctx context.Context, b *testing.B, s benchStore, goroutines int,
	op func(ctx context.Context, s benchStore, key string, buf, data []byte) error,
	keys []string, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(data))
			x := uint64(g)*0x9e3779b97f4a7c15 + 1
			for i := g; i < b.N; i += goroutines {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				if err := op(ctx, s, keys[x%uint64(len(keys))], buf, data); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	benchSinkBytes = nil
}
