//go:build blockmem_cache

package speed

// Speed of blockmem's cache mode through the Go binding. Every benchmark
// runs once per implementation as sub-benchmark impl=<name>, so that
// `benchstat -col /impl` puts them side by side:
//
//	store  blockmem in store mode: Options{MaxBytes: 1 GiB}, far above the
//	       data
//	cache  blockmem in cache mode: Options{MaxBytes: 1 GiB, Evict: true}
//	       (BenchmarkSteadyWrite: MaxBytes 64 MiB, so that writes evict)
//	otter  otter v2 (W-TinyLFU) bounded by weight, MaximumWeight 1 GiB and
//	       each value weighing its length, otherwise its defaults: a hit is
//	       GetIfPresent and a copy of the value into the caller's buffer
//	copy   no store: a copy from the block's own Go slice, picked by index,
//	       into the caller's buffer (the machine's limit for a hit)
//
// Every row also reports GCs/op (collections) and faults/op (the process's
// minor page faults), read outside the timed loop; BenchmarkSteadyWrite
// also reports evictions/op from the store's counters.
//
// Two goroutines: rows .../1g and .../2g run the same harness (runSplit).
// The 2g row's ns/op is wall time / operations of both goroutines
// together, so ns/op of 1g over ns/op of 2g is the speedup, ideally 2. On
// a 2-core machine nothing is left over for the runtime, the OS or other
// processes, and any of them can hold up one goroutine for a while; so
// rather than each goroutine doing a fixed half of b.N (the run would wait
// for the one held up), they claim batches of 64 operations from one
// shared counter until b.N are claimed: a goroutine held up does fewer
// batches and the other keeps going. The goroutines are started and parked
// before the timer starts and released together. Both rows pay the same
// per-batch cost (one atomic add per 64 operations), and the store holds
// both goroutines' keys in both rows, so the rows differ only in how many
// goroutines run.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store/memory"
	"github.com/maypok86/otter/v2"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	// bigCap is MaxBytes where the data must never reach it (store mode,
	// and cache mode that must not evict): far above anything stored here.
	bigCap = 1 << 30
	// hitKeys is the keys each goroutine reads, in rotation.
	hitKeys = 64
	// batch is the operations a goroutine claims at a time (runSplit).
	batch = 64
)

var ctx = context.Background()

var errMiss = errors.New("speed: miss on a key that was stored")

type size struct {
	name string
	n    int
}

var hitSizes = []size{{"64KB", 64 * kib}, {"1KB", kib}}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

func blockKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("share/content/file-%d/block-%d", i/8, i%8)
	}
	return keys
}

// impl is one implementation holding blocks under keys[i].
type impl interface {
	read(i int, buf []byte) (int, error) // copy block i into buf
	write(i int, data []byte) error      // store data as block i
	close()
}

type blockmemImpl struct {
	s    *memory.Store
	keys []string
}

func (m blockmemImpl) read(i int, buf []byte) (int, error) {
	return m.s.ReadBlockInto(ctx, m.keys[i], buf)
}
func (m blockmemImpl) write(i int, data []byte) error { return m.s.WriteBlock(ctx, m.keys[i], data) }
func (m blockmemImpl) close()                         { m.s.Close() }

func newBlockmem(opts memory.Options) func(keys []string) (impl, error) {
	return func(keys []string) (impl, error) {
		s, err := memory.NewWithOptions(opts)
		return blockmemImpl{s, keys}, err
	}
}

type otterImpl struct {
	c    *otter.Cache[string, []byte]
	keys []string
}

func (o otterImpl) read(i int, buf []byte) (int, error) {
	v, ok := o.c.GetIfPresent(o.keys[i])
	if !ok {
		return 0, errMiss
	}
	return copy(buf, v), nil
}

// write stores a copy, as the stores do: values are not shared.
func (o otterImpl) write(i int, data []byte) error {
	o.c.Set(o.keys[i], bytes.Clone(data))
	return nil
}
func (o otterImpl) close() { o.c.InvalidateAll(); o.c.StopAllGoroutines() }

func newOtter(keys []string) (impl, error) {
	c, err := otter.New(&otter.Options[string, []byte]{
		MaximumWeight: bigCap,
		Weigher:       func(_ string, v []byte) uint32 { return uint32(len(v)) },
	})
	return otterImpl{c, keys}, err
}

type copyImpl struct{ blocks [][]byte }

func (c copyImpl) read(i int, buf []byte) (int, error) { return copy(buf, c.blocks[i]), nil }
func (c copyImpl) write(i int, data []byte) error      { c.blocks[i] = bytes.Clone(data); return nil }
func (c copyImpl) close()                              {}

func newCopy(keys []string) (impl, error) { return copyImpl{make([][]byte, len(keys))}, nil }

// impls in column order (benchstat's base column is the first, store).
var impls = []struct {
	name string
	new  func(keys []string) (impl, error)
}{
	{"store", newBlockmem(memory.Options{MaxBytes: bigCap})},
	{"cache", newBlockmem(memory.Options{MaxBytes: bigCap, Evict: true})},
	{"otter", newOtter},
	{"copy", newCopy},
}

// filled returns the implementation called name holding n blocks of data.
func filled(name string, n int, data []byte) (impl, error) {
	for _, m := range impls {
		if m.name != name {
			continue
		}
		im, err := m.new(blockKeys(n))
		if err != nil {
			return nil, err
		}
		for i := range n {
			if err := im.write(i, data); err != nil {
				im.close()
				return nil, err
			}
		}
		return im, nil
	}
	return nil, fmt.Errorf("speed: no implementation %q", name)
}

func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// reportRuntime reports collections (GCs/op) and minor page faults
// (faults/op) per operation of the benchmark it is deferred in; both
// readings are taken outside the timed loop.
func reportRuntime(b *testing.B) func() {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	faults := minorFaults()
	return func() {
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
		b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
	}
}

// runSplit times b.N calls of op spread over goroutines, each with its own
// buffer of bufSize bytes, claiming batch operations at a time from a
// shared counter (see the comment at the top). op gets the goroutine's
// number g and its own count j of operations so far.
func runSplit(b *testing.B, goroutines, bufSize int, op func(g, j int, buf []byte) error) {
	var next atomic.Int64
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	n := int64(b.N)
	for g := range goroutines {
		buf := make([]byte, bufSize)
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			j := 0
			for {
				lo := next.Add(batch) - batch
				if lo >= n {
					return
				}
				for hi := min(lo+batch, n); lo < hi; lo++ {
					if err := op(g, j, buf); err != nil {
						b.Error(err)
						next.Store(n) // the others stop at their next batch
						return
					}
					j++
				}
			}
		}()
	}
	ready.Wait()
	b.ResetTimer()
	close(start)
	done.Wait()
	b.StopTimer()
}

// BenchmarkHit: reads of stored blocks into the caller's buffer
// (ReadBlockInto, or otter's GetIfPresent and a copy), rows
// Hit/<size>/<g>g: g goroutines (1 or 2), each reading its own 64 keys in
// rotation. The store holds both goroutines' keys (128 blocks) in both
// rows, and one implementation at a time is alive.
func BenchmarkHit(b *testing.B) {
	for _, sz := range hitSizes {
		data := payload(sz.n)
		for _, m := range impls {
			im, err := filled(m.name, 2*hitKeys, data)
			if err != nil {
				b.Fatal(err)
			}
			runReads(b, sz, m.name, im, func(g, j int) int { return g*hitKeys + j%hitKeys })
			im.close()
		}
	}
}

// runReads runs rows <size>/<g>g/impl=<name> for 1 and 2 goroutines:
// whole-block reads into each goroutine's buffer of block pick(g, j) of
// im, for goroutine g's j-th operation (see runSplit).
func runReads(b *testing.B, sz size, name string, im impl, pick func(g, j int) int) {
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/%dg/impl=%s", sz.name, g, name), func(b *testing.B) {
			if runtime.GOMAXPROCS(0) < g {
				b.Skipf("GOMAXPROCS %d: fewer than %d goroutines can run at once", runtime.GOMAXPROCS(0), g)
			}
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			runtime.GC()
			defer reportRuntime(b)()
			runSplit(b, g, sz.n, func(g, j int, buf []byte) error {
				n, err := im.read(pick(g, j), buf)
				if err == nil && n != len(buf) {
					err = fmt.Errorf("read %d bytes of %d", n, len(buf))
				}
				return err
			})
		})
	}
}

// BenchmarkWrite: 1 KiB overwrites of 64 stored keys in rotation, store
// mode and cache mode (whose cap is far above the data: nothing evicts).
func BenchmarkWrite(b *testing.B) {
	data := payload(kib)
	for _, name := range []string{"store", "cache"} {
		im, err := filled(name, hitKeys, data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("1KB/impl="+name, func(b *testing.B) {
			b.SetBytes(kib)
			b.ReportAllocs()
			runtime.GC()
			defer reportRuntime(b)()
			runSplit(b, 1, 0, func(_, j int, _ []byte) error { return im.write(j%hitKeys, data) })
		})
		im.close()
	}
}

// The steady-state write: 64 MiB of 64 KiB blocks.
const (
	steadyBytes = 64 * mib
	steadySize  = 64 * kib
)

// steadyWriter picks the keys of a steady-state write.
type steadyWriter struct {
	s     *memory.Store
	keys  []string
	order []int // a cycle through keys in scattered order; nil: random keys
	pos   int
	x     uint64 // xorshift state for random keys
}

// newSteady returns the store of BenchmarkSteadyWrite's column name, full
// and at steady state:
//
//	store  store mode holding 1,024 blocks (64 MiB), every one written
//	       twice; each write overwrites a random one of them.
//	cache  cache mode capped at 64 MiB, keys from a space twice as large
//	       (2,048 keys) written in a fixed shuffled cycle, twice through
//	       before timing: a key comes back only after 2,047 others, by when
//	       the 64 MiB it fitted in have been refilled twice over, so about
//	       every write is of an absent key and evicts a block (the rows
//	       report evictions/op).
func newSteady(name string, data []byte) (*steadyWriter, error) {
	opts := memory.Options{MaxBytes: bigCap}
	n := steadyBytes / len(data)
	w := &steadyWriter{x: 0x9e3779b97f4a7c15}
	if name == "cache" {
		opts = memory.Options{MaxBytes: steadyBytes, Evict: true}
		n *= 2
		w.order = rand.New(rand.NewPCG(1, 2)).Perm(n)
	}
	s, err := memory.NewWithOptions(opts)
	if err != nil {
		return nil, err
	}
	w.s, w.keys = s, blockKeys(n)
	for range 2 {
		for i := range n {
			key := w.keys[i]
			if w.order != nil {
				key = w.next()
			}
			if err := s.WriteBlock(ctx, key, data); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	return w, nil
}

func (w *steadyWriter) next() string {
	if w.order != nil {
		k := w.keys[w.order[w.pos]]
		if w.pos++; w.pos == len(w.order) {
			w.pos = 0
		}
		return k
	}
	w.x ^= w.x << 13
	w.x ^= w.x >> 7
	w.x ^= w.x << 17
	return w.keys[w.x%uint64(len(w.keys))]
}

// BenchmarkSteadyWrite: a 64 KiB write into a full 64 MiB, row
// SteadyWrite/64KB: impl=cache evicts a block for about every write,
// impl=store overwrites (see newSteady). Each column's store is made on
// the first run and serves the later ones, continuing its key sequence.
func BenchmarkSteadyWrite(b *testing.B) {
	data := payload(steadySize)
	for _, name := range []string{"store", "cache"} {
		var w *steadyWriter
		b.Run("64KB/impl="+name, func(b *testing.B) {
			if w == nil {
				var err error
				if w, err = newSteady(name, data); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(steadySize)
			b.ReportAllocs()
			runtime.GC()
			before := w.s.Stats().Evictions
			report := reportRuntime(b)
			runSplit(b, 1, 0, func(_, _ int, _ []byte) error { return w.s.WriteBlock(ctx, w.next(), data) })
			report()
			b.ReportMetric(float64(w.s.Stats().Evictions-before)/float64(b.N), "evictions/op")
		})
		if w != nil {
			w.s.Close()
		}
	}
}

// The benchmarks' fixtures do what the benchmarks claim: every
// implementation returns the blocks it was given, and the steady-state
// cache evicts on about every write while staying within its cap.
func TestHitFixtures(t *testing.T) {
	for _, sz := range hitSizes {
		data := payload(sz.n)
		for _, m := range impls {
			im, err := filled(m.name, 2*hitKeys, data)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, sz.n)
			for i := range 2 * hitKeys {
				clear(buf)
				if n, err := im.read(i, buf); err != nil || n != sz.n || !bytes.Equal(buf, data) {
					t.Errorf("%s %s block %d: read %d bytes, %v, equal %v", m.name, sz.name, i, n, err, bytes.Equal(buf, data))
				}
			}
			im.close()
		}
	}
}

func TestSteadyFixtures(t *testing.T) {
	data := payload(steadySize)
	for _, name := range []string{"store", "cache"} {
		w, err := newSteady(name, data)
		if err != nil {
			t.Fatal(err)
		}
		before := w.s.Stats()
		writes := 2 * steadyBytes / steadySize
		for range writes {
			if err := w.s.WriteBlock(ctx, w.next(), data); err != nil {
				t.Fatal(err)
			}
		}
		st := w.s.Stats()
		perWrite := float64(st.Evictions-before.Evictions) / float64(writes)
		t.Logf("%s: %d blocks, %d bytes, %.3f evictions per write", name, st.BlockCount, st.TotalSize, perWrite)
		if st.TotalSize != steadyBytes {
			t.Errorf("%s: holds %d bytes, want %d", name, st.TotalSize, steadyBytes)
		}
		if name == "store" && perWrite != 0 || name == "cache" && perWrite < 0.95 {
			t.Errorf("%s: %.3f evictions per write (store: want 0, cache: at least 0.95)", name, perWrite)
		}
		w.s.Close()
	}
}

// largeSetBytes is the data BenchmarkLargeHit holds: a store of real size,
// far larger than the last-level cache and than the TLB covers.
const largeSetBytes = 256 * mib

// scatter is a random index below n picked by goroutine g for its j-th
// operation (splitmix64 of both), with no shared state between goroutines.
func scatter(g, j, n int) int {
	z := uint64(g)<<40 + uint64(j) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return int((z ^ z>>31) % uint64(n))
}

// BenchmarkLargeHit: reads of random keys over a store of real size,
// largeSetBytes of 64 KiB or 1 MiB blocks (4,096 or 256 keys), into the
// caller's buffer (ReadBlockInto, or otter's GetIfPresent and a copy),
// rows LargeHit/<size>/<g>g from 1 and 2 goroutines. Store mode against
// otter at real size (the binding's BenchmarkLargeSet compares it with the
// map store); copy is a copy out of the block's own Go slice, picked the
// same way (the machine's limit). Cache mode reads as store mode does
// (BenchmarkHit), so it is left out here. One implementation is alive at
// a time.
func BenchmarkLargeHit(b *testing.B) {
	for _, sz := range []size{{"64KB", 64 * kib}, {"1MB", mib}} {
		n := largeSetBytes / sz.n
		data := payload(sz.n)
		for _, m := range impls {
			if m.name == "cache" {
				continue
			}
			im, err := filled(m.name, n, data)
			if err != nil {
				b.Fatal(err)
			}
			runReads(b, sz, m.name, im, func(g, j int) int { return scatter(g, j, n) })
			im.close()
			runtime.GC()
		}
	}
}
