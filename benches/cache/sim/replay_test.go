package sim

import (
	"slices"
	"testing"
)

// A -quick sized replay (2000 keys, 40000 requests) through every
// in-process cache gives a hit ratio strictly between 0 and 100 and never
// holds more than its capacity.
func TestReplayQuick(t *testing.T) {
	for _, name := range []string{"zipf-0.9", "zipf-1.0-scan", "zipf-1.0-64k-scan"} {
		spec, err := ParseTraceName(name)
		if err != nil {
			t.Fatal(err)
		}
		c := TraceConfig{Exponent: spec.Exponent, Keys: 2000, Requests: 40000, Seed: 1, BlockSize: spec.BlockSize()}
		if spec.Scan {
			c.ScanEvery, c.ScanFraction = 5000, 0.05
		}
		tr := mustTrace(t, name, c)
		for _, pct := range []int64{1, 10} {
			capacity := tr.UniqueBytes * pct / 100
			ratios := map[string]float64{}
			for _, cache := range Baselines {
				res, err := Replay(cache, capacity, tr)
				if err != nil {
					t.Fatalf("%s %d%% %s: %v", name, pct, cache, err)
				}
				r := res.HitRatio()
				ratios[cache] = r
				if !(r > 0 && r < 100) {
					t.Errorf("%s %d%% %s: hit ratio %v not in (0, 100)", name, pct, cache, r)
				}
				if res.Requests != int64(len(tr.Requests)) || res.Bytes != tr.RequestedBytes {
					t.Errorf("%s: %d requests (%d bytes) replayed of %d (%d bytes)", cache, res.Requests, res.Bytes,
						len(tr.Requests), tr.RequestedBytes)
				}
				if b := res.ByteHitRatio(); !(b > 0 && b < 100) || res.HitBytes > res.Bytes {
					t.Errorf("%s %d%% %s: byte hit ratio %v (%d of %d bytes)", name, pct, cache, b, res.HitBytes, res.Bytes)
				}
				// With equal blocks, bytes and requests are the same ratio.
				if spec.Fixed64K && (res.HitBytes != res.Hits*FixedBlockSize || res.ByteHitRatio() != r) {
					t.Errorf("%s %d%% %s: %d hits but %d hit bytes", name, pct, cache, res.Hits, res.HitBytes)
				}
				if res.PeakHeld > capacity || res.Held > capacity || res.Held <= 0 {
					t.Errorf("%s %d%% %s: held %d, peak %d, capacity %d", name, pct, cache, res.Held, res.PeakHeld, capacity)
				}
				if r > coldBound(tr) {
					t.Errorf("%s %d%% %s: hit ratio %v above the no-eviction bound %v", name, pct, cache, r, coldBound(tr))
				}
			}
			t.Logf("%s %d%%: %v", name, pct, ratios)
		}
	}
}

func coldBound(t *Trace) float64 {
	return 100 * (1 - float64(t.DistinctKeys())/float64(len(t.Requests)))
}

// The LRU is exact: two replays agree to the hit.
func TestReplayLRUDeterministic(t *testing.T) {
	tr := mustTrace(t, "t", smallConfig(true))
	a, err := Replay("lru", tr.UniqueBytes/20, tr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Replay("lru", tr.UniqueBytes/20, tr)
	if a.Hits != b.Hits || a.Held != b.Held {
		t.Errorf("two replays: %d and %d hits", a.Hits, b.Hits)
	}
}

func TestParseCaches(t *testing.T) {
	all, err := ParseCaches("")
	if err != nil || !slices.Equal(all[:3], Baselines) {
		t.Errorf("default caches %v, %v", all, err)
	}
	if got, err := ParseCaches(" otter, lru "); err != nil || !slices.Equal(got, []string{"otter", "lru"}) {
		t.Errorf("ParseCaches: %v, %v", got, err)
	}
	for _, bad := range []string{"lru,lru", "memcached", ",", "lru,nope"} {
		if _, err := ParseCaches(bad); err == nil {
			t.Errorf("ParseCaches(%q) accepted", bad)
		}
	}
	if _, ok := Lookup("blockmem"); !ok {
		if _, err := ParseCaches("blockmem"); err == nil {
			t.Error("blockmem accepted without the build tag")
		}
	}
}
