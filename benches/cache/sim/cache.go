package sim

import (
	"fmt"
	"slices"
	"strings"
)

// Cache is one cache under test, as the replay drives it: read a key; on a
// miss, write the block.
type Cache interface {
	// Get looks key up and reports the stored value's length and whether
	// it was there. err is for caches that can fail (blockmem); a miss is
	// not an error.
	Get(key string) (n int, hit bool, err error)
	// Set stores value under key (the replay calls it only after a miss).
	// The cache may keep value without copying it: callers pass slices of
	// a shared zero buffer that nobody writes.
	Set(key string, value []byte) error
	// Held returns the bytes of values the cache holds now, from the
	// cache's own accounting.
	Held() int64
	// Notes returns the cache's own counters (evictions and such) for the
	// report, or "".
	Notes() string
	// Close releases the cache.
	Close() error
}

// Factory makes a cache of capacity bytes for a replay of t (some caches
// size internal structures by the trace's key count).
type Factory func(capacity int64, t *Trace) (Cache, error)

type entry struct {
	name string
	make Factory
}

// registry holds the caches in reporting order (see order); blockmem
// registers itself only when built with -tags blockmem_cache.
var registry []entry

// order is the reporting order of the known caches; others follow them in
// registration order.
var order = []string{"lru", "otter", "ristretto", "blockmem"}

func rank(name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// Register adds a cache under name. It panics on a duplicate name.
func Register(name string, f Factory) {
	if _, ok := Lookup(name); ok {
		panic("sim: cache " + name + " registered twice")
	}
	registry = append(registry, entry{name, f})
	slices.SortStableFunc(registry, func(a, b entry) int { return rank(a.name) - rank(b.name) })
}

// Lookup returns the factory of the cache called name.
func Lookup(name string) (Factory, bool) {
	for _, e := range registry {
		if e.name == name {
			return e.make, true
		}
	}
	return nil, false
}

// Names returns the registered caches in reporting order: lru, otter,
// ristretto, then blockmem when built in.
func Names() []string {
	names := make([]string, len(registry))
	for i, e := range registry {
		names[i] = e.name
	}
	return names
}

// Baselines are the caches blockmem is compared with.
var Baselines = []string{"lru", "otter", "ristretto"}

// ParseCaches splits a comma-separated list and checks every name; the
// empty list means all registered caches.
func ParseCaches(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return Names(), nil
	}
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if _, ok := Lookup(name); !ok {
			if name == "blockmem" {
				return nil, fmt.Errorf("cache blockmem is not built in: build with -tags blockmem_cache (it needs the store's cache mode)")
			}
			return nil, fmt.Errorf("unknown cache %q (have %s)", name, strings.Join(Names(), ", "))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("cache %q listed twice", name)
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no caches listed")
	}
	return out, nil
}
