package sim

import (
	"fmt"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

func init() { Register("otter", newOtter) }

// otterCache is otter v2 (W-TinyLFU) bounded by weight: MaximumWeight is
// the capacity and each entry weighs len(value) bytes.
//
// One departure from otter's defaults, for a reproducible replay:
// maintenance (draining the read and write buffers, eviction) runs on the
// calling goroutine instead of on goroutines the cache starts, so a Set
// returns with the cache already back within its maximum weight, as Wait
// does for ristretto. A stats counter is attached for the report.
type otterCache struct {
	c     *otter.Cache[string, []byte]
	stats *stats.Counter
}

func newOtter(capacity int64, _ *Trace) (Cache, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("otter: capacity must be positive, not %d", capacity)
	}
	counter := stats.NewCounter()
	c, err := otter.New(&otter.Options[string, []byte]{
		MaximumWeight: uint64(capacity),
		Weigher:       func(_ string, v []byte) uint32 { return uint32(len(v)) },
		Executor:      func(fn func()) { fn() },
		StatsRecorder: counter,
	})
	if err != nil {
		return nil, fmt.Errorf("otter: %w", err)
	}
	return &otterCache{c: c, stats: counter}, nil
}

func (o *otterCache) Get(key string) (int, bool, error) {
	v, ok := o.c.GetIfPresent(key)
	return len(v), ok, nil
}

func (o *otterCache) Set(key string, value []byte) error {
	o.c.Set(key, value)
	return nil
}

// Held is otter's weighted size: the sum of the weights (value lengths) of
// its entries, after any pending maintenance.
func (o *otterCache) Held() int64 { return int64(o.c.WeightedSize()) }

func (o *otterCache) Notes() string {
	s := o.stats.Snapshot()
	return fmt.Sprintf("entries=%d hits=%d misses=%d evictions=%d evicted_bytes=%d",
		o.c.EstimatedSize(), s.Hits, s.Misses, s.Evictions, s.EvictionWeight)
}

func (o *otterCache) Close() error {
	o.c.InvalidateAll()
	o.c.StopAllGoroutines()
	return nil
}
