package sim

import (
	"slices"
	"testing"
)

func TestLRUHandChecked(t *testing.T) {
	c := NewLRU(10)
	v := func(n int) []byte { return make([]byte, n) }
	expect := func(step string, keys []string, bytes int64) {
		t.Helper()
		if got := c.Keys(); !slices.Equal(got, keys) {
			t.Fatalf("%s: keys %q, want %q", step, got, keys)
		}
		if c.Held() != bytes {
			t.Fatalf("%s: held %d, want %d", step, c.Held(), bytes)
		}
	}
	c.Store("a", v(4))
	c.Store("b", v(3))
	c.Store("c", v(3))
	expect("a b c fill 10 bytes exactly", []string{"c", "b", "a"}, 10)

	if n, hit, _ := c.Get("a"); !hit || n != 4 {
		t.Fatalf("get a: %d, %v", n, hit)
	}
	expect("a hit moves to front", []string{"a", "c", "b"}, 10)

	c.Store("d", v(2)) // 12 bytes: evict b (3) -> 9
	expect("d evicts the least recent, b", []string{"d", "a", "c"}, 9)
	if _, hit, _ := c.Get("b"); hit {
		t.Fatal("b still there")
	}

	c.Store("e", v(6)) // 15: evict c (3) -> 12, a (4) -> 8
	expect("e evicts c then a", []string{"e", "d"}, 8)

	c.Store("d", v(1)) // replace: 7, d to front
	expect("replacing d", []string{"d", "e"}, 7)

	c.Store("big", v(11)) // larger than the whole cache: not stored
	expect("too large", []string{"d", "e"}, 7)

	c.Store("f", v(10)) // evicts everything else
	expect("f fills the cache", []string{"f"}, 10)
	if c.Len() != 1 || c.evictions != 5 || c.evicted != 3+3+4+6+1 || c.rejected != 1 {
		t.Errorf("len %d, evictions %d, evicted %d bytes, rejected %d", c.Len(), c.evictions, c.evicted, c.rejected)
	}
}

// Replaying a tiny trace by hand: capacity 5, sizes a=2 b=2 c=3.
func TestLRUReplayHandChecked(t *testing.T) {
	tr := &Trace{
		Keys:  []string{"a", "b", "c"},
		Sizes: []int32{2, 2, 3},
		// a  b  a  c      a  b      c  c
		// m  m  h  m(-b)  h  m(-c)  m  h  => 3 hits of 8
		Requests: []int32{0, 1, 0, 2, 0, 1, 2, 2},
	}
	tr.UniqueHotKeys = 3
	res, err := Replay("lru", 5, tr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hits != 3 || res.Requests != 8 || res.Held != 5 || res.PeakHeld != 5 {
		t.Errorf("hits %d of %d, held %d, peak %d; want 3 of 8, 5, 5", res.Hits, res.Requests, res.Held, res.PeakHeld)
	}
}
