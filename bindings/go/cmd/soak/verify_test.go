package main

import "testing"

// The soak's checks must catch a corrupted, truncated or misdirected block.
func TestVerifyCatchesDamage(t *testing.T) {
	b := makeBlock("k", 5, 1000)
	if !verifyBlock("k", b) {
		t.Fatal("a good block fails")
	}
	if verifyBlock("j", b) || verifyHeader("j", b) {
		t.Fatal("a block under the wrong key passes")
	}
	for _, i := range []int{0, 5, 13, 21, 40, 500, 991, 999} {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		if verifyBlock("k", c) {
			t.Errorf("a flipped bit at %d passes", i)
		}
	}
	if verifyBlock("k", b[:999]) || verifyBlock("k", append(b, 0)) {
		t.Fatal("a truncated or extended block passes")
	}
	if !verifyHeader("k", b[:headerSize]) {
		t.Fatal("a good header fails")
	}
}
