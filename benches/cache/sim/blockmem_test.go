//go:build blockmem_cache

package sim

import (
	"strings"
	"testing"
)

// The blockmem adapter replays like the others: a ratio in (0, 100),
// within capacity, and the store's hit and miss counters match what the
// adapter saw.
func TestReplayBlockmem(t *testing.T) {
	tr := mustTrace(t, "zipf-1.0-scan", TraceConfig{Exponent: 1, Keys: 2000, Requests: 40000, Seed: 1, ScanEvery: 5000, ScanFraction: 0.05})
	for _, pct := range []int64{1, 10} {
		capacity := tr.UniqueBytes * pct / 100
		res, err := Replay("blockmem", capacity, tr)
		if err != nil {
			t.Fatal(err)
		}
		if r := res.HitRatio(); !(r > 0 && r < 100) {
			t.Errorf("%d%%: hit ratio %v", pct, r)
		}
		if b := res.ByteHitRatio(); !(b > 0 && b < 100) || res.Bytes != tr.RequestedBytes {
			t.Errorf("%d%%: byte hit ratio %v, %d of %d bytes requested", pct, b, res.Bytes, tr.RequestedBytes)
		}
		if res.PeakHeld > capacity || res.Held > capacity {
			t.Errorf("%d%%: held %d, peak %d, capacity %d", pct, res.Held, res.PeakHeld, capacity)
		}
		if strings.Contains(res.Notes, "DISAGREE") {
			t.Errorf("%d%%: %s", pct, res.Notes)
		}
		t.Logf("%d%%: %.1f%% %s", pct, res.HitRatio(), res.Notes)
	}
}
