//go:build blockmem_cache

package sim

// The blockmem store in cache mode (Options.Evict), which is not in the
// binding yet; hence the build tag. Build or run with -tags blockmem_cache
// once it is, after building the Rust library (make -C ../.. go-lib).

import (
	"context"
	"fmt"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

func init() { Register("blockmem", newBlockmem) }

// blockmemCache drives a store with MaxBytes = capacity and Evict set: a
// write that does not fit evicts instead of failing with ErrStoreFull.
// Reads go into one reusable buffer with ReadBlockInto (no allocation per
// request); a miss is store.ErrBlockNotFound, after which the replay
// writes the block, which the store copies into native memory.
type blockmemCache struct {
	s        *memory.Store
	capacity int64
	buf      []byte
	// What the adapter saw, to check the store's own counters against.
	hits, misses, tooLarge int64
}

func newBlockmem(capacity int64, _ *Trace) (Cache, error) {
	s, err := memory.NewWithOptions(memory.Options{MaxBytes: capacity, Evict: true})
	if err != nil {
		return nil, fmt.Errorf("blockmem: %w", err)
	}
	return &blockmemCache{s: s, capacity: capacity, buf: make([]byte, MaxBlockSize)}, nil
}

func (b *blockmemCache) Get(key string) (int, bool, error) {
	ctx := context.Background()
	for {
		n, err := b.s.ReadBlockInto(ctx, key, b.buf)
		switch err {
		case nil:
			b.hits++
			return n, true, nil
		case store.ErrBlockNotFound:
			b.misses++
			return 0, false, nil
		case store.ErrBufferTooSmall:
			b.buf = make([]byte, n) // n is the block's size; read again
		default:
			return 0, false, err
		}
	}
}

func (b *blockmemCache) Set(key string, value []byte) error {
	err := b.s.WriteBlock(context.Background(), key, value)
	if (err == store.ErrStoreFull || err == store.ErrBlockTooLarge) && int64(len(value)) > b.capacity {
		b.tooLarge++ // cannot fit even in an empty cache
		return nil
	}
	return err
}

// Held is the store's TotalSize: the sum of the sizes of the blocks it
// holds.
func (b *blockmemCache) Held() int64 { return b.s.Stats().TotalSize }

func (b *blockmemCache) Notes() string {
	st := b.s.Stats()
	check := "counters agree"
	if st.Hits != b.hits || st.Misses != b.misses {
		check = fmt.Sprintf("COUNTERS DISAGREE: adapter saw hits=%d misses=%d", b.hits, b.misses)
	}
	return fmt.Sprintf("blocks=%d hits=%d misses=%d evictions=%d evicted_bytes=%d too_large=%d (%s)",
		st.BlockCount, st.Hits, st.Misses, st.Evictions, st.EvictedBytes, b.tooLarge, check)
}

func (b *blockmemCache) Close() error { return b.s.Close() }
