package sim

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func smallConfig(scan bool) TraceConfig {
	c := TraceConfig{Exponent: 0.9, Keys: 3000, Requests: 30000, Seed: 5}
	if scan {
		c.ScanEvery, c.ScanFraction = 5000, 0.05
	}
	return c
}

func mustTrace(t *testing.T, name string, c TraceConfig) *Trace {
	t.Helper()
	tr, err := NewTrace(name, c)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestBlockSizes(t *testing.T) {
	small, large := 0, 0
	for i := range 100000 {
		s := BlockSize(1, saltHotSize, i)
		if s < MinBlockSize || s > MaxBlockSize {
			t.Fatalf("size %d of key %d outside [1 KiB, 1 MiB]", s, i)
		}
		if s < 32<<10 {
			small++
		} else {
			large++
		}
	}
	// Log-uniform: the median is sqrt(1 KiB * 1 MiB) = 32 KiB.
	if r := float64(small) / float64(small+large); math.Abs(r-0.5) > 0.02 {
		t.Errorf("%.3f of sizes below 32 KiB, want about 0.5", r)
	}
	// A pure function of (seed, salt, key), and the seed matters.
	same, differ := 0, 0
	for i := range 100 {
		first, again := BlockSize(1, saltHotSize, i), BlockSize(1, saltHotSize, i)
		if first != again {
			t.Fatalf("key %d: two sizes, %d and %d", i, first, again)
		}
		if BlockSize(1, saltHotSize, i) == BlockSize(2, saltHotSize, i) {
			same++
		} else {
			differ++
		}
	}
	if same > differ {
		t.Errorf("seeds 1 and 2 give equal sizes for %d of 100 keys", same)
	}
}

func TestTraceSizesAndAccounting(t *testing.T) {
	for _, scan := range []bool{false, true} {
		tr := mustTrace(t, "t", smallConfig(scan))
		if len(tr.Keys) != len(tr.Sizes) {
			t.Fatalf("%d keys, %d sizes", len(tr.Keys), len(tr.Sizes))
		}
		for id, s := range tr.Sizes {
			if s < MinBlockSize || s > MaxBlockSize {
				t.Errorf("key %s: size %d outside [1 KiB, 1 MiB]", tr.Keys[id], s)
			}
		}
		if len(tr.Requests) != tr.HotRequests+tr.ScanRequests || tr.HotRequests != 30000 {
			t.Errorf("requests: %d total, %d hot, %d scan", len(tr.Requests), tr.HotRequests, tr.ScanRequests)
		}
		// UniqueBytes: the distinct hot keys requested, counted once.
		seen := map[int32]bool{}
		var bytes int64
		for _, id := range tr.Requests {
			if int(id) < tr.Config.Keys && !seen[id] {
				seen[id] = true
				bytes += int64(tr.Sizes[id])
			}
		}
		if len(seen) != tr.UniqueHotKeys || bytes != tr.UniqueBytes {
			t.Errorf("unique hot keys %d (%d bytes), trace says %d (%d bytes)", len(seen), bytes, tr.UniqueHotKeys, tr.UniqueBytes)
		}
	}
}

func TestTraceDeterministic(t *testing.T) {
	a := mustTrace(t, "a", smallConfig(true))
	b := mustTrace(t, "b", smallConfig(true))
	if !slices.Equal(a.Requests, b.Requests) || !slices.Equal(a.Sizes, b.Sizes) || !slices.Equal(a.Keys, b.Keys) {
		t.Error("equal configs gave different traces")
	}
	c := smallConfig(true)
	c.Seed++
	if d := mustTrace(t, "d", c); slices.Equal(a.Requests, d.Requests) {
		t.Error("another seed gave the same requests")
	}
}

func TestTraceScans(t *testing.T) {
	plain := mustTrace(t, "plain", smallConfig(false))
	tr := mustTrace(t, "scan", smallConfig(true))
	if plain.ScanRequests != 0 || plain.Scans != 0 || len(plain.Keys) != plain.Config.Keys {
		t.Errorf("trace without scans has %d scan requests", plain.ScanRequests)
	}
	// 30000 requests, a scan every 5000, none at the start or end: 5.
	if tr.Scans != 5 {
		t.Errorf("%d scans, want 5", tr.Scans)
	}
	// The hot sequence is the same with or without scans, so the unique
	// bytes (and capacities) are too.
	var hot []int32
	counts := map[int32]int{}
	for i, id := range tr.Requests {
		if int(id) < tr.Config.Keys {
			hot = append(hot, id)
			if !strings.HasPrefix(tr.Keys[id], "share/content/") {
				t.Fatalf("hot key %q", tr.Keys[id])
			}
			continue
		}
		counts[id]++
		if !strings.HasPrefix(tr.Keys[id], "share/archive/") {
			t.Fatalf("scan key %q at %d", tr.Keys[id], i)
		}
	}
	if !slices.Equal(hot, plain.Requests) || tr.UniqueBytes != plain.UniqueBytes {
		t.Error("scans changed the hot sequence")
	}
	// Each scan key requested exactly once; names distinct from all others.
	for id, n := range counts {
		if n != 1 {
			t.Errorf("scan key %s requested %d times", tr.Keys[id], n)
		}
	}
	if len(counts) != tr.ScanKeys || tr.ScanKeys != tr.ScanRequests {
		t.Errorf("%d scan keys requested, trace says %d keys, %d requests", len(counts), tr.ScanKeys, tr.ScanRequests)
	}
	names := map[string]bool{}
	for _, k := range tr.Keys {
		if names[k] {
			t.Fatalf("key %q twice", k)
		}
		names[k] = true
	}
	// Each scan carries at least 5% of the unique bytes, at most one block more.
	target := int64(math.Ceil(0.05 * float64(tr.UniqueBytes)))
	if tr.ScanBytes < 5*target || tr.ScanBytes >= 5*(target+MaxBlockSize) {
		t.Errorf("scan bytes %d for 5 scans of %d", tr.ScanBytes, target)
	}
	// A scan sits right before hot request 5000.
	hotSeen := 0
	for _, id := range tr.Requests {
		if int(id) >= tr.Config.Keys {
			if hotSeen%5000 != 0 || hotSeen == 0 {
				t.Fatalf("scan request after %d hot requests", hotSeen)
			}
			continue
		}
		hotSeen++
	}
}

func TestParseTraceName(t *testing.T) {
	for _, c := range []struct {
		name string
		want TraceSpec
	}{
		{"zipf-0.9", TraceSpec{Exponent: 0.9}},
		{"zipf-1.0-scan", TraceSpec{Exponent: 1, Scan: true}},
		{"zipf-1.2", TraceSpec{Exponent: 1.2}},
		{"zipf-0", TraceSpec{}},
		{"zipf-1", TraceSpec{Exponent: 1}},
		{"zipf-1.0-64k", TraceSpec{Exponent: 1, Fixed64K: true}},
		{"zipf-0.9-64k-scan", TraceSpec{Exponent: 0.9, Fixed64K: true, Scan: true}},
	} {
		got, err := ParseTraceName(c.name)
		if err != nil || got != c.want {
			t.Errorf("ParseTraceName(%q) = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"", "zipf", "zipf-", "zipf-x", "zipf--1", "uniform", "zipf-0.9-scan-scan", "zipf-NaN", "zipf-Inf",
		"zipf-inf", "zipf-1e0", "zipf-0x1p0", "zipf-+1", "zipf-.9", "zipf-1.", "zipf-1_0", " zipf-1.0", "zipf-1.0 ",
		"ZIPF-1.0", "zipf-1.0-scan-64k", "zipf-1.0-64k-64k", "zipf-1.0-64K", "zipf-1.0-32k", "zipf-1.0-64", "zipf-1.0-64kscan",
		"zipf-1.0-", "zipf-1.0-scan-", "zipf-64k", "zipf-scan", "zipf-1.0--scan", "zipf-1.0-64k-",
		"zipf-" + strings.Repeat("9", 400), // overflows to +Inf
	} {
		if got, err := ParseTraceName(bad); err == nil {
			t.Errorf("ParseTraceName(%q) accepted: %+v", bad, got)
		}
	}
}

// A -64k trace has the same request sequence as the trace with the same
// exponent and log-uniform sizes, every block (hot and scan) 64 KiB, and
// byte figures that follow from the key counts.
func TestTraceFixedSize(t *testing.T) {
	for _, scan := range []bool{false, true} {
		c := smallConfig(scan)
		varied := mustTrace(t, "varied", c)
		c.BlockSize = FixedBlockSize
		fixed := mustTrace(t, "fixed", c)
		for id, s := range fixed.Sizes {
			if s != FixedBlockSize {
				t.Fatalf("key %s: size %d, want 64 KiB", fixed.Keys[id], s)
			}
		}
		if scan {
			// Scans are sized in bytes, so their key counts differ; the hot
			// requests and their order do not.
			hot := func(tr *Trace) []int32 {
				var out []int32
				for _, id := range tr.Requests {
					if int(id) < tr.Config.Keys {
						out = append(out, id)
					}
				}
				return out
			}
			if !slices.Equal(hot(fixed), hot(varied)) || fixed.Scans != varied.Scans {
				t.Error("the block size changed the hot sequence or the scans")
			}
			target := int64(math.Ceil(0.05 * float64(fixed.UniqueBytes)))
			perScan := (target + FixedBlockSize - 1) / FixedBlockSize
			if int64(fixed.ScanKeys) != perScan*int64(fixed.Scans) || fixed.ScanBytes != int64(fixed.ScanKeys)*FixedBlockSize {
				t.Errorf("%d scans: %d keys, %d bytes; want %d keys per scan", fixed.Scans, fixed.ScanKeys, fixed.ScanBytes, perScan)
			}
		} else if !slices.Equal(fixed.Requests, varied.Requests) {
			t.Error("the block size changed the request sequence")
		}
		if fixed.UniqueHotKeys != varied.UniqueHotKeys || fixed.UniqueBytes != int64(fixed.UniqueHotKeys)*FixedBlockSize {
			t.Errorf("unique hot keys %d (%d bytes), varied %d", fixed.UniqueHotKeys, fixed.UniqueBytes, varied.UniqueHotKeys)
		}
		if fixed.RequestedBytes != int64(len(fixed.Requests))*FixedBlockSize || fixed.DistinctBytes() != int64(fixed.DistinctKeys())*FixedBlockSize {
			t.Errorf("requested bytes %d for %d requests", fixed.RequestedBytes, len(fixed.Requests))
		}
	}
}

func TestTraceRequestedBytes(t *testing.T) {
	tr := mustTrace(t, "t", smallConfig(true))
	var sum int64
	for _, id := range tr.Requests {
		sum += int64(tr.Sizes[id])
	}
	if sum != tr.RequestedBytes || tr.DistinctBytes() != tr.UniqueBytes+tr.ScanBytes {
		t.Errorf("requested bytes %d, trace says %d", sum, tr.RequestedBytes)
	}
}

func TestNewTraceRejects(t *testing.T) {
	for _, c := range []TraceConfig{
		{Exponent: 1, Keys: 0, Requests: 1},
		{Exponent: 1, Keys: 1, Requests: 0},
		{Exponent: -1, Keys: 1, Requests: 1},
		{Exponent: math.NaN(), Keys: 1, Requests: 1},
		{Exponent: 1, Keys: 1, Requests: 1, ScanEvery: -1},
		{Exponent: 1, Keys: 1, Requests: 1, ScanEvery: 1, ScanFraction: 0},
		{Exponent: 1, Keys: 1, Requests: 1, BlockSize: -1},
		{Exponent: 1, Keys: 1, Requests: 1, BlockSize: MaxBlockSize + 1},
	} {
		if _, err := NewTrace("bad", c); err == nil {
			t.Errorf("NewTrace accepted %+v", c)
		}
	}
}
