package memory_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/internal/payload"
	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

const (
	mixKeys    = 48
	mixMaxSize = 12 << 10
)

func mixKey(i int) string { return fmt.Sprintf("mix/%02d/block-%d", i%6, i) }

// mixedOp runs one random operation on s and checks its result. It returns
// the error the store reported, for the caller to judge against close.
// Every successful read must verify; listings must be sorted and filtered.
func mixedOp(t *testing.T, s *memory.Store, rng *rand.Rand, buf []byte) error {
	k := mixKey(rng.IntN(mixKeys))
	switch op := rng.IntN(100); {
	case op < 30:
		return s.WriteBlock(bg, k, payload.New(k, rng.Uint64(), payload.MinSize+rng.IntN(mixMaxSize)))
	case op < 45:
		b, err := s.ReadBlock(bg, k)
		if err == nil && !payload.Verify(k, b) {
			t.Errorf("ReadBlock(%q): %d bytes fail verification", k, len(b))
		}
		return err
	case op < 55:
		n, err := s.ReadBlockInto(bg, k, buf)
		if err == nil && !payload.Verify(k, buf[:n]) {
			t.Errorf("ReadBlockInto(%q): %d bytes fail verification", k, n)
		}
		return err
	case op < 62:
		// Offsets up to payload.MinSize exist in every block.
		b, err := s.ReadBlockRange(bg, k, 0, int64(payload.HeaderSize+rng.IntN(mixMaxSize)))
		if err == nil && !payload.VerifyPrefix(k, b) {
			t.Errorf("ReadBlockRange(%q): %d bytes fail verification", k, len(b))
		}
		return err
	case op < 67:
		n, err := s.ReadBlockRangeInto(bg, k, int64(rng.IntN(payload.MinSize+1)), buf[:rng.IntN(len(buf))])
		if err == nil && n > len(buf) {
			t.Errorf("ReadBlockRangeInto returned n = %d", n)
		}
		return err
	case op < 72:
		size, err := s.Stat(bg, k)
		if err == nil && (size < payload.MinSize || size > payload.MinSize+mixMaxSize) {
			t.Errorf("Stat(%q) = %d", k, size)
		}
		return err
	case op < 76:
		_, err := s.Exists(bg, k)
		return err
	case op < 86:
		_, err := s.Delete(bg, k)
		return err
	case op < 88:
		_, _, err := s.DeleteByPrefixStats(bg, k[:len("mix/00/")])
		return err
	case op < 94:
		prefix := k[:len("mix/00/")]
		keys, err := s.ListByPrefix(bg, prefix)
		if !slices.IsSorted(keys) || slices.ContainsFunc(keys, func(key string) bool { return !strings.HasPrefix(key, prefix) }) {
			t.Errorf("ListByPrefix(%q) = %q", prefix, keys)
		}
		return err
	case op < 97:
		page, err := s.ListPage(bg, "mix/", k, 5)
		if len(page.Entries) > 5 || slices.ContainsFunc(page.Entries, func(e memory.Entry) bool { return e.Key <= k }) {
			t.Errorf("ListPage after %q = %v", k, page.Entries)
		}
		return err
	default:
		if st := s.Stats(); st.BlockCount < 0 || st.TotalSize < 0 {
			t.Errorf("Stats() = %+v", st)
		}
		return s.HealthCheck(bg)
	}
}

func runMixed(t *testing.T, s *memory.Store, goroutines, opsEach int, onOp func(g int, err error)) {
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			buf := make([]byte, payload.MinSize+mixMaxSize)
			for range opsEach {
				onOp(g, mixedOp(t, s, rng, buf))
			}
		}()
	}
	wg.Wait()
}

// Calls racing with Close finish normally or return ErrStoreClosed; once a
// goroutine has seen ErrStoreClosed it sees nothing else; afterwards the
// store is empty and reports itself closed.
func TestConcurrentMixedOpsWithClose(t *testing.T) {
	s := memory.New()
	const goroutines, opsEach = 8, 3000
	var ops atomic.Int64
	var closers sync.WaitGroup
	for range 3 { // several concurrent Close calls: idempotent and thread-safe
		closers.Add(1)
		go func() {
			defer closers.Done()
			for ops.Load() < goroutines*opsEach/2 {
				runtime.Gosched()
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	sawClosed := make([]bool, goroutines)
	var closedErrs atomic.Int64
	runMixed(t, s, goroutines, opsEach, func(g int, err error) {
		ops.Add(1)
		switch {
		case err == store.ErrStoreClosed:
			sawClosed[g] = true
			closedErrs.Add(1)
		case sawClosed[g]:
			t.Errorf("goroutine %d: %v after ErrStoreClosed", g, err)
		case err != nil && err != store.ErrBlockNotFound:
			t.Errorf("goroutine %d: unexpected error %v", g, err)
		}
	})
	closers.Wait()
	if closedErrs.Load() == 0 {
		t.Error("no operation saw the close")
	}
	wantCounts(t, s, 0, 0)
	if err := s.HealthCheck(bg); err != store.ErrStoreClosed || !s.Stats().Closed {
		t.Errorf("after close: HealthCheck %v, Stats %+v", err, s.Stats())
	}
}

// Once writers are quiet, BlockCount and TotalSize equal a recount, and
// every stored block verifies.
func TestConcurrentMixedOpsStatsEqualRecount(t *testing.T) {
	s := memory.New()
	runMixed(t, s, 8, 3000, func(g int, err error) {
		if err != nil && err != store.ErrBlockNotFound {
			t.Errorf("goroutine %d: unexpected error %v", g, err)
		}
	})
	n, size := recount(t, s)
	if n == 0 {
		t.Fatal("store ended empty; the test checks nothing")
	}
	wantCounts(t, s, n, size)
	keys, err := s.ListByPrefix(bg, "")
	if err != nil || len(keys) != n {
		t.Fatalf("ListByPrefix: %d keys, %v; recount %d", len(keys), err, n)
	}
	for _, k := range keys {
		if b := mustRead(t, s, k); !payload.Verify(k, b) {
			t.Errorf("block %q fails verification", k)
		}
	}
}

// Under concurrent writers a byte-capped store rejects what does not fit
// with ErrStoreFull, TotalSize never exceeds the cap when sampled, and
// every accepted block reads back intact.
func TestCappedStoreConcurrentWriters(t *testing.T) {
	const (
		capBytes = 256 << 10
		writers  = 6
		keysEach = 12
		opsEach  = 1500
	)
	s := newStore(t, memory.Options{MaxBytes: capBytes})
	var done atomic.Bool
	var samples, full, accepted atomic.Int64
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		for !done.Load() {
			if n := s.TotalSize(); n > capBytes {
				t.Errorf("TotalSize() = %d over the cap %d", n, capBytes)
			}
			if st := s.Stats(); st.TotalSize > capBytes {
				t.Errorf("Stats().TotalSize = %d over the cap %d", st.TotalSize, capBytes)
			}
			samples.Add(1)
			runtime.Gosched()
		}
	}()

	// Each writer owns its keys, so it knows what each must hold.
	want := make([]map[string][]byte, writers)
	var wg sync.WaitGroup
	for w := range writers {
		want[w] = map[string][]byte{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range opsEach {
				k := fmt.Sprintf("cap/w%d/k%d", w, rng.IntN(keysEach))
				if rng.IntN(5) == 0 {
					if err := s.DeleteBlock(bg, k); err != nil {
						t.Errorf("DeleteBlock: %v", err)
					}
					delete(want[w], k)
					continue
				}
				data := payload.New(k, rng.Uint64(), 4<<10+rng.IntN(28<<10))
				switch err := s.WriteBlock(bg, k, data); err {
				case nil:
					want[w][k] = data
					accepted.Add(1)
				case store.ErrStoreFull:
					full.Add(1)
				default:
					t.Errorf("WriteBlock: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	<-sampler

	if full.Load() == 0 || accepted.Load() == 0 || samples.Load() == 0 {
		t.Fatalf("%d accepted, %d full, %d samples: the test did not exercise the cap", accepted.Load(), full.Load(), samples.Load())
	}
	var wantBlocks int
	var wantBytes int64
	for w := range writers {
		for k := range keysEach {
			key := fmt.Sprintf("cap/w%d/k%d", w, k)
			data, ok := want[w][key]
			got, err := s.ReadBlock(bg, key)
			switch {
			case !ok && err != store.ErrBlockNotFound:
				t.Errorf("%s: got %d bytes, %v; want ErrBlockNotFound", key, len(got), err)
			case ok && (err != nil || string(got) != string(data)):
				t.Errorf("%s: accepted block does not read back intact (%v)", key, err)
			}
			if ok {
				wantBlocks++
				wantBytes += int64(len(data))
			}
		}
	}
	wantCounts(t, s, wantBlocks, wantBytes)
	t.Logf("%d writes accepted, %d rejected with ErrStoreFull, %d samples of TotalSize", accepted.Load(), full.Load(), samples.Load())
}

// In cache mode, writers of mixed sizes (a few bytes to 64 KiB), each
// with keys of its own, never get an error: eviction makes room. A
// sampler meanwhile finds TotalSize and Stats within the cap and the
// eviction counters never going down, and reads random keys (a block
// found verifies). Afterwards the counters equal what listings find (a
// walk of ListPage, and ListByPrefix with a Stat of each key), blocks
// were evicted, every block left is the last one its writer wrote under
// its key, and the read counters add up to the sampler's reads.
func TestCacheModeConcurrentWritersStayWithinTheCap(t *testing.T) {
	const (
		capBytes = 256 << 10 // about 40% of what the keys would hold
		writers  = 4
		keysEach = 16
		opsEach  = 300
	)
	sizes := []int{64, 1 << 10, 8 << 10, 64 << 10}
	s := newStore(t, memory.Options{MaxBytes: capBytes, Evict: true})
	defer s.Close()
	var done atomic.Bool
	var samples, reads, found int64 // the sampler's
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		rng := rand.New(rand.NewPCG(99, 11))
		var last memory.Stats
		for first := true; first || !done.Load(); first = false {
			if n := s.TotalSize(); n > capBytes {
				t.Errorf("TotalSize() = %d over the cap %d", n, capBytes)
			}
			st := s.Stats()
			if st.TotalSize > capBytes || st.BlockCount > writers*keysEach {
				t.Errorf("Stats() = %+v: over the cap %d or the %d keys", st, capBytes, writers*keysEach)
			}
			if st.Evictions < last.Evictions || st.EvictedBytes < last.EvictedBytes {
				t.Errorf("eviction counters went down: %+v after %+v", st, last)
			}
			last = st
			k := fmt.Sprintf("cache/w%d/k%02d", rng.IntN(writers), rng.IntN(keysEach))
			b, err := s.ReadBlock(bg, k)
			switch {
			case err == nil:
				found++
				if !payload.Verify(k, b) {
					t.Errorf("ReadBlock(%q): %d bytes fail verification", k, len(b))
				}
			case err != store.ErrBlockNotFound:
				t.Errorf("ReadBlock(%q): %v", k, err)
			}
			reads++
			samples++
			runtime.Gosched()
		}
	}()

	// Each writer owns its keys, so it knows what each must hold.
	want := make([]map[string][]byte, writers)
	var wg sync.WaitGroup
	for w := range writers {
		want[w] = map[string][]byte{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for i := range opsEach {
				k := fmt.Sprintf("cache/w%d/k%02d", w, rng.IntN(keysEach))
				size := payload.MinSize + rng.IntN(sizes[rng.IntN(len(sizes))]-payload.MinSize+1)
				data := payload.New(k, uint64(i), size)
				if err := s.WriteBlock(bg, k, data); err != nil {
					t.Errorf("WriteBlock(%q, %d bytes): %v", k, size, err)
					return
				}
				want[w][k] = data
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	<-sampler

	st := s.Stats()
	if st.Evictions == 0 {
		t.Fatalf("Stats() = %+v: no eviction, the test did not exercise the cap", st)
	}
	if st.EvictedBytes < st.Evictions*payload.MinSize || st.EvictedBytes > st.Evictions*(64<<10) {
		t.Errorf("%d evictions of %d bytes: sizes out of range", st.Evictions, st.EvictedBytes)
	}
	if st.Hits != found || st.Misses != reads-found {
		t.Errorf("%d hits, %d misses; the sampler found %d of %d", st.Hits, st.Misses, found, reads)
	}
	n, size := recount(t, s)
	wantCounts(t, s, n, size)
	if size > capBytes {
		t.Errorf("%d bytes stored, over the cap %d", size, capBytes)
	}
	keys, err := s.ListByPrefix(bg, "")
	if err != nil || len(keys) != n {
		t.Fatalf("ListByPrefix: %d keys, %v; the walk found %d", len(keys), err, n)
	}
	var statted int64
	for _, k := range keys {
		sz, err := s.Stat(bg, k)
		if err != nil {
			t.Fatalf("Stat(%q) of a listed key: %v", k, err)
		}
		statted += sz
	}
	if statted != s.TotalSize() {
		t.Errorf("Stat of every listed key sums to %d, TotalSize() = %d", statted, s.TotalSize())
	}
	var left int
	for w := range writers {
		for k := range keysEach {
			key := fmt.Sprintf("cache/w%d/k%02d", w, k)
			got, err := s.ReadBlock(bg, key)
			switch {
			case err == store.ErrBlockNotFound:
			case err != nil:
				t.Errorf("ReadBlock(%q): %v", key, err)
			case !bytes.Equal(got, want[w][key]):
				t.Errorf("%s: %d bytes, not the last block written (%d bytes)", key, len(got), len(want[w][key]))
			default:
				left++
			}
		}
	}
	if left != n {
		t.Errorf("%d blocks read back, %d listed", left, n)
	}
	t.Logf("%d writes, %d evictions (%d bytes), %d blocks left; %d samples", writers*opsEach, st.Evictions, st.EvictedBytes, n, samples)
}

// A Store used only for one call may become unreachable while that call
// runs; runtime.KeepAlive in every method keeps the cleanup from freeing
// the handle under it. The collector runs continuously meanwhile.
func TestStoreUnreachableDuringCallIsNotFreed(t *testing.T) {
	var stop atomic.Bool
	gc := make(chan struct{})
	go func() {
		defer close(gc)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	data := make([]byte, 1<<20)
	for range 300 {
		if err := memory.New().WriteBlock(bg, "k", data); err != nil {
			t.Fatal(err)
		}
		if n, err := memory.New().ListByPrefix(bg, ""); n != nil || err != nil {
			t.Fatal(n, err)
		}
	}
	stop.Store(true)
	<-gc
}

// The listing rule of docs/CONTRACT.md ("Prefix work beside writers"):
// while other goroutines create, delete and rewrite keys beside them (and
// delete whole prefixes of their own), every stable key (stored, unchanged,
// for the whole run) is listed exactly once, in order, with its size, by
// ListByPrefix and by a walk of ListPage; no key that was never written
// is listed.
func TestListingsBesideWritersListStableKeysOnce(t *testing.T) {
	s := memory.New()
	defer s.Close()
	var stable []string
	for i := range 300 {
		k := fmt.Sprintf("dir/%d/stable-%03d", i%3, i)
		mustWrite(t, s, k, payload.New(k, 0, payload.MinSize))
		stable = append(stable, k)
	}
	slices.Sort(stable)
	stop := churn(7, func(g int, rng *rand.Rand) {
		k := fmt.Sprintf("dir/%d/churn-%03d", rng.IntN(3), rng.IntN(200))
		switch rng.IntN(10) {
		case 0:
			s.DeleteByPrefix(bg, k[:len("dir/0/churn-0")])
		case 1, 2, 3:
			s.Delete(bg, k)
		default:
			s.WriteBlock(bg, k, payload.New(k, rng.Uint64(), payload.MinSize+rng.IntN(64)))
		}
	})
	defer stop()
	check := func(prefix string, keys []string, sizes []int64) {
		t.Helper()
		if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Fatalf("listing of %q out of order or with a key twice", prefix)
		}
		for i, k := range keys {
			if !strings.HasPrefix(k, prefix) || !(strings.Contains(k, "/stable-") || strings.Contains(k, "/churn-")) {
				t.Fatalf("listing of %q has %q, never written", prefix, k)
			}
			if sizes != nil && strings.Contains(k, "/stable-") && sizes[i] != payload.MinSize {
				t.Fatalf("stable key %q listed with size %d", k, sizes[i])
			}
		}
		for _, k := range stable {
			if _, found := slices.BinarySearch(keys, k); strings.HasPrefix(k, prefix) && !found {
				t.Fatalf("listing of %q misses stable key %q", prefix, k)
			}
		}
	}
	for round := range 300 {
		prefix := []string{"dir/", "dir/0/", "dir/1/s", "dir/2/stable-1"}[round%4]
		keys, err := s.ListByPrefix(bg, prefix)
		if err != nil {
			t.Fatal(err)
		}
		check(prefix, keys, nil)
		var walked []string
		var sizes []int64
		for e, err := range s.Entries(bg, prefix, 7) {
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, e.Key)
			sizes = append(sizes, e.Size)
		}
		check(prefix, walked, sizes)
	}
}

// A prefix deletion beside writers of other keys and churn inside the
// deleted prefix removes every block that was there when it began.
func TestPrefixDeletionBesideWritersRemovesWhatWasThere(t *testing.T) {
	s := memory.New()
	defer s.Close()
	stop := churn(9, func(g int, rng *rand.Rand) {
		other := fmt.Sprintf("other/%d/%d", g, rng.IntN(64))
		s.WriteBlock(bg, other, payload.New(other, 1, payload.MinSize))
		churn := fmt.Sprintf("file-%d/churn-%d", rng.IntN(20), rng.IntN(4))
		if rng.IntN(2) == 0 {
			s.WriteBlock(bg, churn, payload.New(churn, 2, payload.MinSize))
		} else {
			s.Delete(bg, churn)
		}
	})
	defer stop()
	for round := range 200 {
		file := fmt.Sprintf("file-%d/", round%20)
		for b := range 8 {
			k := fmt.Sprintf("%sblock-%d", file, b)
			mustWrite(t, s, k, payload.New(k, uint64(round), payload.MinSize))
		}
		blocks, _, err := s.DeleteByPrefixStats(bg, file)
		if err != nil || blocks < 8 {
			t.Fatalf("round %d: DeleteByPrefixStats(%q) = %d, %v", round, file, blocks, err)
		}
		for b := range 8 {
			if ok, _ := s.Exists(bg, fmt.Sprintf("%sblock-%d", file, b)); ok {
				t.Fatalf("round %d: block %d of %q survived", round, b, file)
			}
		}
	}
}

// churn runs step in a loop in two goroutines (g = 0 and 1, each with its
// own random source seeded from seed) until the returned function is
// called, which waits for them to finish.
func churn(seed uint64, step func(g int, rng *rand.Rand)) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), seed))
			for !done.Load() {
				step(g, rng)
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
	}
}
