package sim

import (
	"fmt"

	"github.com/dgraph-io/ristretto/v2"
)

func init() { Register("ristretto", newRistretto) }

// ristrettoCache is ristretto v2 (TinyLFU admission, sampled LFU eviction)
// bounded by cost: MaxCost is the capacity, each Set costs len(value) and
// IgnoreInternalCost leaves out ristretto's own per-item overhead, so cost
// means value bytes as for the other caches. NumCounters is 10x the
// trace's distinct keys (hot and scan), as ristretto's documentation
// advises for the keys a cache may see, and BufferItems 64, its advised
// value. Every Set is followed by Wait, so the item is admitted or
// rejected before the next request: ristretto otherwise applies Sets
// asynchronously and may drop them under load, which would make the
// replay depend on scheduling. Get buffers are still batched and may be
// dropped by design; the hash of string keys is seeded per process, so
// results vary slightly from run to run.
type ristrettoCache struct {
	c *ristretto.Cache[string, []byte]
}

func newRistretto(capacity int64, t *Trace) (Cache, error) {
	counters := int64(10 * t.DistinctKeys())
	if counters < 1 {
		counters = 10
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        counters,
		MaxCost:            capacity,
		BufferItems:        64,
		IgnoreInternalCost: true,
		Metrics:            true,
	})
	if err != nil {
		return nil, fmt.Errorf("ristretto: %w", err)
	}
	return &ristrettoCache{c: c}, nil
}

func (r *ristrettoCache) Get(key string) (int, bool, error) {
	v, ok := r.c.Get(key)
	return len(v), ok, nil
}

func (r *ristrettoCache) Set(key string, value []byte) error {
	r.c.Set(key, value, int64(len(value))) // false only when dropped; Wait below keeps the buffer empty
	r.c.Wait()
	return nil
}

// Held is the cost ristretto's policy accounts as used: MaxCost minus the
// remaining cost.
func (r *ristrettoCache) Held() int64 { return r.c.MaxCost() - r.c.RemainingCost() }

func (r *ristrettoCache) Notes() string {
	m := r.c.Metrics
	return fmt.Sprintf("hits=%d misses=%d keys_added=%d sets_rejected=%d sets_dropped=%d gets_dropped=%d evictions=%d evicted_bytes=%d",
		m.Hits(), m.Misses(), m.KeysAdded(), m.SetsRejected(), m.SetsDropped(), m.GetsDropped(), m.KeysEvicted(), m.CostEvicted())
}

func (r *ristrettoCache) Close() error {
	r.c.Close()
	return nil
}
