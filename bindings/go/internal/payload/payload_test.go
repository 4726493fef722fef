package payload

import "testing"

// Verification must catch a corrupted, truncated, extended or misdirected
// block, and accept every prefix of a good one that holds the header.
func TestVerifyCatchesDamage(t *testing.T) {
	for _, size := range []int{0, MinSize, MinSize + 1, 37, 1000, 4099} {
		b := New("k", 5, size)
		if len(b) != max(size, MinSize) || !Verify("k", b) {
			t.Fatalf("size %d: a good block fails", size)
		}
		if Verify("j", b) || VerifyPrefix("j", b[:HeaderSize]) {
			t.Fatalf("size %d: a block under the wrong key passes", size)
		}
		for i := range b {
			c := append([]byte(nil), b...)
			c[i] ^= 1 << (i % 8)
			if Verify("k", c) {
				t.Fatalf("size %d: a flipped bit at byte %d passes", size, i)
			}
		}
		if Verify("k", b[:len(b)-1]) || Verify("k", append(b, 0)) || VerifyPrefix("k", append(b, 0)) {
			t.Fatalf("size %d: a truncated or extended block passes", size)
		}
		for n := HeaderSize; n <= len(b); n++ {
			if !VerifyPrefix("k", b[:n]) {
				t.Fatalf("size %d: the good %d-byte prefix fails", size, n)
			}
		}
		if VerifyPrefix("k", b[:HeaderSize-1]) {
			t.Fatalf("size %d: a prefix shorter than the header passes", size)
		}
		if other := New("k", 6, size); Verify("k", append(b[:len(b)/2:len(b)/2], other[len(b)/2:]...)) {
			t.Fatalf("size %d: a mix of two blocks passes", size)
		}
	}
}

func TestVerifyPrefixAllocatesNothing(t *testing.T) {
	b := New("key", 1, 1<<16)
	if n := testing.AllocsPerRun(10, func() { VerifyPrefix("key", b) }); n != 0 {
		t.Fatalf("VerifyPrefix allocates %v times", n)
	}
}
