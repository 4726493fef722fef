// Command soak runs mixed operations on one blockmem store from many
// goroutines for a given time and checks everything it reads.
//
// Every block carries its own proof (package internal/payload): a header
// (seed, size, key hash), a body generated from the seed, and a CRC-64 of
// the key and all the bytes before it. Half the writes stream the block in
// (WriteBlockFrom); full reads copy it out (ReadBlock, ReadBlockInto) or
// check it in place in the store's memory (ReadBlockTo). Each full read
// must verify; each range read from the start must verify as a prefix.
// After the timed phase the
// store is recounted (keys and sizes by listing) and compared with
// BlockCount, TotalSize and Stats, and every block is verified. A final
// short phase closes the store while workers are running: every call must
// succeed or return ErrStoreClosed, and nothing may succeed after a
// goroutine has seen the close.
//
//	go run ./cmd/soak -duration 60s
//
// The exit status is 0 only if every check passed.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blockmem/blockmem/bindings/go/internal/payload"
	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

type counters struct {
	ops, writes, full, reads, verified, ranges, stats, deletes, prefixDeletes, lists atomic.Int64
	failures                                                                         atomic.Int64
}

type soak struct {
	s        *memory.Store
	keys     int
	maxSize  int
	c        counters
	failMu   sync.Mutex
	failList []string
}

func (k *soak) fail(format string, args ...any) {
	k.c.failures.Add(1)
	k.failMu.Lock()
	defer k.failMu.Unlock()
	if len(k.failList) < 20 {
		k.failList = append(k.failList, fmt.Sprintf(format, args...))
	}
}

// verify counts b as verified when it is the whole block New made for key,
// and as a failure of op otherwise.
func (k *soak) verify(op, key string, b []byte) {
	if !payload.Verify(key, b) {
		k.fail("%s(%s): %d bytes fail verification", op, key, len(b))
		return
	}
	k.c.verified.Add(1)
}

func (k *soak) key(i int) string { return fmt.Sprintf("soak/g%02d/block-%d", i%32, i) }

// expected reports whether err is an acceptable outcome of a call on a
// store that may be closed.
func expected(err error, closing bool) bool {
	return err == nil || err == store.ErrBlockNotFound || (closing && err == store.ErrStoreClosed)
}

// op runs one random operation and checks it. It returns the error the
// store reported.
func (k *soak) op(ctx context.Context, rng *rand.Rand, buf []byte, closing bool) error {
	k.c.ops.Add(1)
	key := k.key(rng.IntN(k.keys))
	var err error
	switch r := rng.IntN(1000); {
	case r < 350:
		b := payload.New(key, rng.Uint64(), payload.MinSize+rng.IntN(k.maxSize))
		if r < 175 {
			err = k.s.WriteBlock(ctx, key, b)
		} else {
			err = k.s.WriteBlockFrom(ctx, key, bytes.NewReader(b), int64(len(b)))
		}
		if err == store.ErrStoreFull {
			k.c.full.Add(1)
			err = nil
		}
		k.c.writes.Add(1)
	case r < 550:
		var b []byte
		b, err = k.s.ReadBlock(ctx, key)
		k.c.reads.Add(1)
		if err == nil {
			k.verify("ReadBlock", key, b)
		}
	case r < 625:
		// The writer checks the block in place, in the store's memory.
		_, err = k.s.ReadBlockTo(ctx, key, writerFunc(func(p []byte) (int, error) {
			k.verify("ReadBlockTo", key, p)
			return len(p), nil
		}))
		k.c.reads.Add(1)
	case r < 700:
		var n int
		n, err = k.s.ReadBlockInto(ctx, key, buf)
		k.c.reads.Add(1)
		if err == nil {
			k.verify("ReadBlockInto", key, buf[:n])
		}
	case r < 800:
		var b []byte
		b, err = k.s.ReadBlockRange(ctx, key, 0, int64(payload.HeaderSize+rng.IntN(4096)))
		k.c.ranges.Add(1)
		if err == nil && !payload.VerifyPrefix(key, b) {
			k.fail("ReadBlockRange(%s): header fails verification", key)
		}
	case r < 870:
		var size int64
		size, err = k.s.Stat(ctx, key)
		k.c.stats.Add(1)
		if err == nil && (size < payload.MinSize || size > int64(payload.MinSize+k.maxSize)) {
			k.fail("Stat(%s) = %d", key, size)
		}
	case r < 945:
		_, err = k.s.Delete(ctx, key)
		k.c.deletes.Add(1)
	case r < 947:
		prefix := key[:len("soak/g00/")]
		_, _, err = k.s.DeleteByPrefixStats(ctx, prefix)
		k.c.prefixDeletes.Add(1)
	default:
		var page memory.Page
		page, err = k.s.ListPage(ctx, "soak/", key, 64)
		k.c.lists.Add(1)
		for i, e := range page.Entries {
			if e.Key <= key || (i > 0 && e.Key <= page.Entries[i-1].Key) || !strings.HasPrefix(e.Key, "soak/") {
				k.fail("ListPage after %s: out of order or range: %q", key, e.Key)
				break
			}
		}
	}
	if !expected(err, closing) {
		k.fail("unexpected error %v", err)
	}
	return err
}

// writerFunc adapts a function to io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (k *soak) run(workers int, until time.Time, closing bool, onClosed func()) {
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			buf := make([]byte, payload.MinSize+k.maxSize)
			sawClosed := false
			for time.Now().Before(until) {
				err := k.op(ctx, rng, buf, closing)
				if err == store.ErrStoreClosed {
					sawClosed = true
				} else if sawClosed && err != store.ErrStoreClosed {
					k.fail("worker %d: %v after ErrStoreClosed", w, err)
					return
				}
			}
		}()
	}
	if onClosed != nil {
		onClosed()
	}
	wg.Wait()
}

// check recounts the quiet store and verifies every block.
func (k *soak) check() (blocks int, bytes int64) {
	ctx := context.Background()
	buf := make([]byte, payload.MinSize+k.maxSize)
	for e, err := range k.s.Entries(ctx, "", 4096) {
		if err != nil {
			k.fail("Entries: %v", err)
			return
		}
		blocks++
		bytes += e.Size
		n, err := k.s.ReadBlockInto(ctx, e.Key, buf)
		if err != nil || int64(n) != e.Size || !payload.Verify(e.Key, buf[:n]) {
			k.fail("final read of %s: %d bytes (listed %d), %v", e.Key, n, e.Size, err)
		}
	}
	st := k.s.Stats()
	if st.BlockCount != blocks || k.s.BlockCount() != blocks {
		k.fail("BlockCount %d, Stats %d, recount %d", k.s.BlockCount(), st.BlockCount, blocks)
	}
	if st.TotalSize != bytes || k.s.TotalSize() != bytes {
		k.fail("TotalSize %d, Stats %d, recount %d", k.s.TotalSize(), st.TotalSize, bytes)
	}
	if st.MaxBytes > 0 && bytes > st.MaxBytes {
		k.fail("TotalSize %d over MaxBytes %d", bytes, st.MaxBytes)
	}
	return blocks, bytes
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to run the mixed load")
	workers := flag.Int("workers", 4*runtime.GOMAXPROCS(0), "goroutines")
	keys := flag.Int("keys", 1024, "distinct keys")
	maxSize := flag.Int("max-size", 128<<10, "largest block body in bytes")
	maxBytes := flag.Int64("max-bytes", 0, "store byte limit (0: none)")
	evict := flag.Bool("evict", false, "cache mode: with -max-bytes, writes evict instead of failing")
	flag.Parse()

	s, err := memory.NewWithOptions(memory.Options{MaxBytes: *maxBytes, Evict: *evict})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	k := &soak{s: s, keys: *keys, maxSize: *maxSize}

	start := time.Now()
	k.run(*workers, start.Add(*duration), false, nil)
	elapsed := time.Since(start)
	blocks, bytes := k.check()
	cache := s.Stats()
	if *evict && *maxBytes > 0 && (k.c.full.Load() != 0 || cache.Evictions == 0) {
		k.fail("cache mode: %d writes refused, %d evictions", k.c.full.Load(), cache.Evictions)
	}

	// Close while workers run.
	closeStart := time.Now()
	k.run(*workers, closeStart.Add(500*time.Millisecond), true, func() {
		time.Sleep(250 * time.Millisecond)
		if err := s.Close(); err != nil {
			k.fail("Close: %v", err)
		}
	})
	if st := s.Stats(); !st.Closed || st.BlockCount != 0 || st.TotalSize != 0 || s.HealthCheck(context.Background()) != store.ErrStoreClosed {
		k.fail("after Close: %+v", st)
	}

	c := &k.c
	fmt.Printf("soak: %d workers, %s (+ close phase): %d ops (%.0f/s)\n",
		*workers, duration.String(), c.ops.Load(), float64(c.ops.Load())/(elapsed+time.Since(closeStart)).Seconds())
	fmt.Printf("  writes %d (store full %d), full reads %d (verified %d), range reads %d, stats %d, deletes %d, prefix deletes %d, list pages %d\n",
		c.writes.Load(), c.full.Load(), c.reads.Load(), c.verified.Load(), c.ranges.Load(), c.stats.Load(), c.deletes.Load(), c.prefixDeletes.Load(), c.lists.Load())
	fmt.Printf("  after the timed phase: %d blocks, %d bytes; recount and every block verified\n", blocks, bytes)
	if *evict {
		fmt.Printf("  cache mode: %d hits, %d misses, %d evictions (%d bytes)\n",
			cache.Hits, cache.Misses, cache.Evictions, cache.EvictedBytes)
	}
	if n := c.failures.Load(); n > 0 {
		fmt.Printf("FAIL: %d check failures\n", n)
		for _, f := range k.failList {
			fmt.Println("  ", f)
		}
		os.Exit(1)
	}
	fmt.Println("PASS: every read verified, counts equal a recount, close race clean")
}
