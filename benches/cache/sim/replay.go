package sim

import (
	"fmt"
	"time"
)

// zeros backs every value the replay writes: caches that keep the caller's
// slice (lru, otter, ristretto) hold sub-slices of it and allocate nothing
// per request; blockmem copies it.
var zeros = make([]byte, MaxBlockSize)

// Result is the outcome of one replay.
type Result struct {
	Cache    string
	Capacity int64
	Requests int64
	Hits     int64
	// Bytes is the sum of the sizes of the requested blocks, HitBytes
	// that of the hits.
	Bytes    int64
	HitBytes int64
	// Held is the bytes the cache held at the end, from its own accounting;
	// PeakHeld the largest value of it seen right after any write.
	Held     int64
	PeakHeld int64
	Elapsed  time.Duration
	Notes    string
}

// HitRatio returns hits / requests in percent.
func (r Result) HitRatio() float64 {
	if r.Requests == 0 {
		return 0
	}
	return 100 * float64(r.Hits) / float64(r.Requests)
}

// ByteHitRatio returns hit bytes / requested bytes in percent.
func (r Result) ByteHitRatio() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return 100 * float64(r.HitBytes) / float64(r.Bytes)
}

// Replay runs t through the cache called name at the given capacity: for
// every request, read the key; on a miss, write the block (a slice of a
// zero buffer of the key's size). A hit must return the key's size.
func Replay(name string, capacity int64, t *Trace) (Result, error) {
	f, ok := Lookup(name)
	if !ok {
		return Result{}, fmt.Errorf("unknown cache %q", name)
	}
	c, err := f(capacity, t)
	if err != nil {
		return Result{}, err
	}
	res := Result{Cache: name, Capacity: capacity}
	start := time.Now()
	err = replay(c, t, &res)
	res.Elapsed = time.Since(start)
	if err == nil {
		res.Held = c.Held()
		res.Notes = c.Notes()
	}
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: close: %w", name, cerr)
	}
	return res, err
}

func replay(c Cache, t *Trace, res *Result) error {
	for i, id := range t.Requests {
		key, size := t.Keys[id], int(t.Sizes[id])
		n, hit, err := c.Get(key)
		if err != nil {
			return fmt.Errorf("%s: request %d: read %s: %w", res.Cache, i, key, err)
		}
		res.Requests++
		res.Bytes += int64(size)
		if hit {
			if n != size {
				return fmt.Errorf("%s: request %d: read %s gave %d bytes, want %d", res.Cache, i, key, n, size)
			}
			res.Hits++
			res.HitBytes += int64(size)
			continue
		}
		if err := c.Set(key, zeros[:size:size]); err != nil {
			return fmt.Errorf("%s: request %d: write %s (%d bytes): %w", res.Cache, i, key, size, err)
		}
		if h := c.Held(); h > res.PeakHeld {
			res.PeakHeld = h
		}
	}
	return nil
}
