package sim

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ioTraceSample has three objects: (1000, 512), (1000, 4096) and (7, 512);
// one LBN with two sizes is two objects. Reads and writes alike are
// requests.
const ioTraceSample = `version,time,op,size,lbn
1,100,2a,512,1000
1,101,28,4096,1000
1,102,28,512,1000
1,103,2a,512,7
1,104,28,4096,1000
`

func TestLoadIOTrace(t *testing.T) {
	for _, text := range []string{ioTraceSample, strings.ReplaceAll(ioTraceSample, "\n", "\r\n"), strings.TrimSuffix(ioTraceSample, "\n")} {
		tr, err := LoadIOTrace("sample", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"vscsi/lbn-1000-512", "vscsi/lbn-1000-4096", "vscsi/lbn-7-512"}; !slices.Equal(tr.Keys, want) {
			t.Errorf("keys %q, want %q", tr.Keys, want)
		}
		if want := []int32{512, 4096, 512}; !slices.Equal(tr.Sizes, want) {
			t.Errorf("sizes %v, want %v", tr.Sizes, want)
		}
		if want := []int32{0, 1, 0, 2, 1}; !slices.Equal(tr.Requests, want) {
			t.Errorf("requests %v, want %v", tr.Requests, want)
		}
		if tr.Name != "sample" || !tr.FromFile || tr.HotRequests != 5 || tr.ScanRequests != 0 || tr.Scans != 0 ||
			tr.ScanKeys != 0 || tr.ScanBytes != 0 || tr.UniqueHotKeys != 3 || tr.DistinctKeys() != 3 {
			t.Errorf("counts: %+v", tr)
		}
		if tr.UniqueBytes != 512+4096+512 || tr.DistinctBytes() != tr.UniqueBytes || tr.RequestedBytes != 512+4096+512+512+4096 {
			t.Errorf("unique bytes %d, requested bytes %d", tr.UniqueBytes, tr.RequestedBytes)
		}
		if tr.Config != (TraceConfig{Keys: 3, Requests: 5}) {
			t.Errorf("config %+v", tr.Config)
		}
	}
	// Leading zeros name the same LBN, so the same object.
	tr, err := LoadIOTrace("zeros", strings.NewReader("version,time,op,size,lbn\n1,1,28,512,007\n1,2,2A,512,7\n"))
	if err != nil || len(tr.Keys) != 1 || tr.Keys[0] != IOTraceKey(7, 512) || len(tr.Requests) != 2 {
		t.Errorf("%+v, %v", tr, err)
	}
}

func TestLoadIOTraceRejects(t *testing.T) {
	const head = "version,time,op,size,lbn\n"
	for _, c := range []struct{ text, want string }{
		{"", "empty file"},
		{"\n\n", "empty file"},
		{"version,time,op,lbn,size\n1,1,28,512,7\n", `line 1: header "version,time,op,lbn,size"`},
		{"version,time,op,size\n1,1,28,512\n", "line 1: header"},
		{"\nversion,time,op,size,lbn,x\n", "line 2: header"},
		{head, "no requests"},
		{head + "1,1,28,512\n", "line 2: 4 fields, want 5"},
		{head + "1,1,28,512,7\n1,1,28,512,7,0\n", "line 3: 6 fields, want 5"},
		{head + "1,1,28,512,7\n1,1,2\"8,512,7\n", "line 3: bare \" in non-quoted-field"},
		{head + "x,1,28,512,7\n", `line 2: version "x"`},
		{head + "-1,1,28,512,7\n", `line 2: version "-1"`},
		{head + "1,1.5,28,512,7\n", `line 2: time "1.5"`},
		{head + "1,,28,512,7\n", `line 2: time ""`},
		{head + "1,1,zz,512,7\n", `line 2: op "zz"`},
		{head + "1,1,128,512,7\n", `line 2: op "128"`},
		{head + "1,1,28,0,7\n", `line 2: size "0" is not a size in bytes in [1, 1048576]`},
		{head + "1,1,28,1048577,7\n", `line 2: size "1048577"`},
		{head + "1,1,28,-512,7\n", `line 2: size "-512"`},
		{head + "1,1,28,4k,7\n", `line 2: size "4k"`},
		{head + "1,1,28,512,-7\n", `line 2: lbn "-7"`},
		{head + "1,1,28,512, 7\n", `line 2: lbn " 7"`},
		{head + "1,1,28,512,18446744073709551616\n", `line 2: lbn "18446744073709551616"`},
	} {
		tr, err := LoadIOTrace("bad", strings.NewReader(c.text))
		if err == nil {
			t.Errorf("%q accepted: %+v", c.text, tr)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "trace bad: ") {
			t.Errorf("%q: error %q, want it to contain %q", c.text, err, c.want)
		}
	}
}

// The sample replays like a synthetic trace; at a capacity that holds
// every object, only the first request of each misses.
func TestReplayIOTrace(t *testing.T) {
	tr, err := LoadIOTrace("sample", strings.NewReader(ioTraceSample))
	if err != nil {
		t.Fatal(err)
	}
	for _, cache := range []string{"lru", "otter"} {
		res, err := Replay(cache, tr.UniqueBytes, tr)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 5 || res.Hits != 2 || res.Bytes != tr.RequestedBytes || res.HitBytes != 512+4096 {
			t.Errorf("%s: %+v", cache, res)
		}
	}
}

// BLOCKMEM_IO_TRACE names a block I/O trace file to load, such as
// CloudPhysics' cloudPhysicsIO.csv (see README.md); without it the test is
// skipped.
func TestLoadIOTraceFile(t *testing.T) {
	path := os.Getenv("BLOCKMEM_IO_TRACE")
	if path == "" {
		t.Skip("BLOCKMEM_IO_TRACE not set: no trace file to load")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := LoadIOTrace("file", f)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) == "cloudPhysicsIO.csv" && (len(tr.Requests) != 113872 || len(tr.Keys) != 56629) {
		t.Errorf("%d requests over %d objects, want 113872 over 56629", len(tr.Requests), len(tr.Keys))
	}
	// Every object is requested, its key names its size, and the byte
	// counts add up.
	counts := make([]int, len(tr.Keys))
	var requested int64
	for _, id := range tr.Requests {
		counts[id]++
		requested += int64(tr.Sizes[id])
	}
	var unique int64
	names := map[string]bool{}
	for id, k := range tr.Keys {
		if counts[id] == 0 || names[k] || !strings.HasSuffix(k, "-"+strconv.Itoa(int(tr.Sizes[id]))) {
			t.Fatalf("key %s (size %d) requested %d times", k, tr.Sizes[id], counts[id])
		}
		names[k] = true
		unique += int64(tr.Sizes[id])
	}
	if unique != tr.UniqueBytes || requested != tr.RequestedBytes || tr.HotRequests != len(tr.Requests) {
		t.Errorf("unique bytes %d (trace says %d), requested %d (%d)", unique, tr.UniqueBytes, requested, tr.RequestedBytes)
	}
	res, err := Replay("lru", tr.UniqueBytes/20, tr)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.HitRatio(); !(r > 0 && r <= coldBound(tr)) {
		t.Errorf("lru at 5%%: hit ratio %v, no-eviction bound %v", r, coldBound(tr))
	}
	t.Logf("%d requests, %d objects, %d unique bytes, %d requested bytes; lru at 5%%: %.1f%%",
		len(tr.Requests), len(tr.Keys), tr.UniqueBytes, tr.RequestedBytes, res.HitRatio())
}
