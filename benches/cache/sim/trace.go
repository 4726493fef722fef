package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
)

// Block sizes: every key has a fixed size drawn log-uniformly from
// [MinBlockSize, MaxBlockSize], so small blocks are as common per octave
// as large ones (median about 32 KiB, mean about 148 KiB).
const (
	MinBlockSize = 1 << 10 // 1 KiB
	MaxBlockSize = 1 << 20 // 1 MiB
)

// FixedBlockSize is the size of every block, hot and scan, of a -64k trace
// (TraceConfig.BlockSize): equal blocks, as most block stores hold, so the
// policies compare without any effect of sizes.
const FixedBlockSize = 64 << 10 // 64 KiB

// BlocksPerFile is how many consecutive key ids share a file in the key
// names (share/content/file-<id/BlocksPerFile>/block-<id%BlocksPerFile>).
// Popularity is assigned per block, after a shuffle, so blocks of one file
// are not correlated.
const BlocksPerFile = 4

// TraceConfig describes a synthetic trace. Everything in it is derived
// from Seed, so equal configs give equal traces.
type TraceConfig struct {
	// Exponent is the Zipf exponent s of key popularity (P(rank r) ~ 1/r^s).
	Exponent float64
	// Keys is the number of hot keys N the Zipf distribution ranges over.
	// Not every one need be requested; see Trace.UniqueBytes.
	Keys int
	// Requests is the number of hot (Zipf) requests. Scan requests come on
	// top of these.
	Requests int
	// Seed drives the popularity order, the request sequence and the sizes.
	Seed uint64
	// ScanEvery > 0 inserts a scan before hot request i for every
	// i = ScanEvery, 2*ScanEvery, ... < Requests (so no scan at the very
	// start or end). 0: no scans.
	ScanEvery int
	// ScanFraction sizes each scan: fresh keys are added to a scan until
	// their sizes sum to at least ScanFraction * UniqueBytes.
	ScanFraction float64
	// BlockSize > 0 gives every block, hot and scan, this size (at most
	// MaxBlockSize); 0 draws each key's size log-uniformly (BlockSize
	// func). The request sequence does not depend on it.
	BlockSize int32
}

// Trace is a request sequence over keys with fixed sizes.
type Trace struct {
	Name   string
	Config TraceConfig

	// Keys and Sizes are indexed by key id. Ids [0, Config.Keys) are the
	// hot keys; scan keys, if any, follow.
	Keys  []string
	Sizes []int32
	// Requests lists the key ids requested, in order.
	Requests []int32

	// HotRequests and ScanRequests split len(Requests).
	HotRequests  int
	ScanRequests int
	// UniqueHotKeys is how many distinct hot keys are requested at least
	// once.
	UniqueHotKeys int
	// UniqueBytes is the sum of the sizes of the distinct hot keys requested
	// at least once: the footprint of the hot working set, which a cache of
	// that many bytes would hold entirely. Scan keys are not counted, so a
	// trace and its -scan variant (same hot sequence) have the same
	// UniqueBytes and the same capacities. Capacities are percentages of it.
	UniqueBytes int64
	// Scans is the number of scans; ScanKeys and ScanBytes their total
	// keys (each requested exactly once) and bytes.
	Scans     int
	ScanKeys  int
	ScanBytes int64
	// RequestedBytes is the sum of the sizes of all requests (hot and
	// scan), the denominator of the byte hit ratio.
	RequestedBytes int64
}

// DistinctKeys returns the number of distinct keys the trace requests (hot
// and scan).
func (t *Trace) DistinctKeys() int { return t.UniqueHotKeys + t.ScanKeys }

// DistinctBytes returns the sum of the sizes of the distinct keys the trace
// requests (hot and scan).
func (t *Trace) DistinctBytes() int64 { return t.UniqueBytes + t.ScanBytes }

// Salts separating the random streams derived from one seed, so changing
// one part of a trace (say, adding scans) leaves the others unchanged.
const (
	streamRequests = 0x9e3779b97f4a7c15
	streamShuffle  = 0xbf58476d1ce4e5b9
	saltHotSize    = 0x94d049bb133111eb
	saltScanSize   = 0x2545f4914f6cdd1d
)

// splitmix64 is a 64-bit finalizer with good avalanche behavior; it turns
// (seed, salt, index) into an independent-looking 64-bit value.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// BlockSize returns the size of key i of the stream named by salt: log
// uniform in [MinBlockSize, MaxBlockSize], a pure function of its
// arguments (independent of generation order).
func BlockSize(seed, salt uint64, i int) int32 {
	h := splitmix64(splitmix64(seed^salt) + uint64(i))
	u := float64(h>>11) / (1 << 53) // [0, 1)
	lo, hi := math.Log(MinBlockSize), math.Log(MaxBlockSize)
	size := int64(math.Exp(lo + u*(hi-lo)))
	return int32(min(max(size, MinBlockSize), MaxBlockSize))
}

// HotKey returns the name of hot key id.
func HotKey(id int) string {
	return "share/content/file-" + strconv.Itoa(id/BlocksPerFile) + "/block-" + strconv.Itoa(id%BlocksPerFile)
}

// ScanKey returns the name of block n of scan s: a key space disjoint from
// the hot keys' (share/archive instead of share/content).
func ScanKey(s, n int) string {
	return "share/archive/file-" + strconv.Itoa(s) + "/block-" + strconv.Itoa(n)
}

// NewTrace generates a trace. It fails on a config that makes no sense.
func NewTrace(name string, c TraceConfig) (*Trace, error) {
	switch {
	case c.Keys < 1 || c.Keys > math.MaxInt32/2:
		return nil, fmt.Errorf("trace %s: keys must be in [1, %d], not %d", name, math.MaxInt32/2, c.Keys)
	case c.Requests < 1:
		return nil, fmt.Errorf("trace %s: requests must be positive, not %d", name, c.Requests)
	case !(c.Exponent >= 0) || math.IsInf(c.Exponent, 0):
		return nil, fmt.Errorf("trace %s: exponent must be finite and >= 0, not %v", name, c.Exponent)
	case c.ScanEvery < 0:
		return nil, fmt.Errorf("trace %s: scan period must not be negative, not %d", name, c.ScanEvery)
	case c.ScanEvery > 0 && !(c.ScanFraction > 0 && c.ScanFraction <= 10):
		return nil, fmt.Errorf("trace %s: scan fraction must be in (0, 10], not %v", name, c.ScanFraction)
	case c.BlockSize < 0 || c.BlockSize > MaxBlockSize:
		return nil, fmt.Errorf("trace %s: block size must be in [0, %d], not %d", name, MaxBlockSize, c.BlockSize)
	}
	t := &Trace{Name: name, Config: c}
	size := func(salt uint64, i int) int32 {
		if c.BlockSize > 0 {
			return c.BlockSize
		}
		return BlockSize(c.Seed, salt, i)
	}

	// Hot keys: rank -> key id through a seeded shuffle, so the most
	// popular keys are spread over the key space and over sizes.
	t.Keys = make([]string, c.Keys)
	t.Sizes = make([]int32, c.Keys)
	for id := range t.Keys {
		t.Keys[id] = HotKey(id)
		t.Sizes[id] = size(saltHotSize, id)
	}
	keyOfRank := rand.New(rand.NewPCG(c.Seed, streamShuffle)).Perm(c.Keys)

	// The hot sequence depends only on (Seed, Exponent, Keys, Requests).
	z := NewZipf(c.Keys, c.Exponent)
	rng := rand.New(rand.NewPCG(c.Seed, streamRequests))
	hot := make([]int32, c.Requests)
	seen := make([]bool, c.Keys)
	for i := range hot {
		id := keyOfRank[z.Sample(rng)]
		hot[i] = int32(id)
		if !seen[id] {
			seen[id] = true
			t.UniqueHotKeys++
			t.UniqueBytes += int64(t.Sizes[id])
		}
	}
	t.HotRequests = len(hot)

	if c.ScanEvery == 0 || c.ScanEvery >= c.Requests {
		t.Requests = hot
		t.countRequestedBytes()
		return t, nil
	}

	// Scans: before hot request ScanEvery, 2*ScanEvery, ..., one pass over
	// fresh keys (each requested exactly once in the whole trace) whose
	// sizes sum to at least ScanFraction * UniqueBytes.
	target := int64(math.Ceil(c.ScanFraction * float64(t.UniqueBytes)))
	t.Requests = make([]int32, 0, len(hot))
	for i, id := range hot {
		if i > 0 && i%c.ScanEvery == 0 {
			var bytes int64
			for n := 0; bytes < target; n++ {
				sid := len(t.Keys)
				sz := size(saltScanSize, t.ScanKeys)
				t.Keys = append(t.Keys, ScanKey(t.Scans, n))
				t.Sizes = append(t.Sizes, sz)
				t.Requests = append(t.Requests, int32(sid))
				t.ScanKeys++
				bytes += int64(sz)
			}
			t.Scans++
			t.ScanBytes += bytes
		}
		t.Requests = append(t.Requests, id)
	}
	t.ScanRequests = t.ScanKeys
	t.countRequestedBytes()
	return t, nil
}

func (t *Trace) countRequestedBytes() {
	for _, id := range t.Requests {
		t.RequestedBytes += int64(t.Sizes[id])
	}
}

// TraceSpec is what a trace name says: the Zipf exponent, whether every
// block has FixedBlockSize (-64k), and whether there are scans (-scan).
type TraceSpec struct {
	Exponent float64
	Fixed64K bool
	Scan     bool
}

// BlockSize returns the TraceConfig.BlockSize the spec asks for.
func (s TraceSpec) BlockSize() int32 {
	if s.Fixed64K {
		return FixedBlockSize
	}
	return 0
}

// traceName is the grammar of trace names: the exponent in plain decimal
// notation, then the optional variants in this order.
var traceName = regexp.MustCompile(`^zipf-([0-9]+(?:\.[0-9]+)?)(-64k)?(-scan)?$`)

// ParseTraceName parses a trace name, "zipf-<s>[-64k][-scan]": the Zipf
// exponent s >= 0 in decimal notation (0.9, 1, 1.0), then optionally -64k
// (every block 64 KiB instead of log-uniform sizes), then optionally -scan
// (periodic one-pass scans). For example zipf-0.9, zipf-1.0-scan,
// zipf-1.0-64k, zipf-1.0-64k-scan. Anything else is an error.
func ParseTraceName(name string) (TraceSpec, error) {
	m := traceName.FindStringSubmatch(name)
	if m == nil {
		return TraceSpec{}, fmt.Errorf("unknown trace %q: want zipf-<exponent>[-64k][-scan], such as zipf-0.9, zipf-1.0-scan or zipf-1.0-64k-scan", name)
	}
	s, err := strconv.ParseFloat(m[1], 64)
	if err != nil || math.IsInf(s, 0) {
		return TraceSpec{}, fmt.Errorf("unknown trace %q: bad exponent %q", name, m[1])
	}
	return TraceSpec{Exponent: s, Fixed64K: m[2] != "", Scan: m[3] != ""}, nil
}
