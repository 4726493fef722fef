package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestZipfRankFrequencies(t *testing.T) {
	for _, s := range []float64{0.9, 1.0} {
		z := NewZipf(1000, s)
		rng := rand.New(rand.NewPCG(7, 7))
		counts := make([]int, z.N())
		const samples = 400000
		for range samples {
			counts[z.Sample(rng)]++
		}
		// Expected ratio of rank 1 to rank 100: 100^s (63 for 0.9, 100 for 1.0).
		want := math.Pow(100, s)
		got := float64(counts[0]) / float64(max(counts[99], 1))
		if got < want/2 || got > want*2 {
			t.Errorf("s=%v: rank 1 drawn %d times, rank 100 %d times: ratio %.1f, want about %.0f", s, counts[0], counts[99], got, want)
		}
		if counts[0] < 20*counts[99] {
			t.Errorf("s=%v: rank 1 (%d) not much more frequent than rank 100 (%d)", s, counts[0], counts[99])
		}
		// Rank 1 close to its probability.
		if p, f := z.Prob(0), float64(counts[0])/samples; math.Abs(f-p) > 0.01 {
			t.Errorf("s=%v: rank 1 frequency %.4f, probability %.4f", s, f, p)
		}
	}
}

func TestZipfDeterministic(t *testing.T) {
	draw := func(seed uint64) []int {
		z := NewZipf(5000, 0.9)
		rng := rand.New(rand.NewPCG(seed, 1))
		out := make([]int, 1000)
		for i := range out {
			out[i] = z.Sample(rng)
		}
		return out
	}
	if a, b := draw(42), draw(42); !slices.Equal(a, b) {
		t.Error("same seed gave different samples")
	}
	if a, b := draw(42), draw(43); slices.Equal(a, b) {
		t.Error("different seeds gave the same samples")
	}
}

func TestZipfRank(t *testing.T) {
	z := NewZipf(3, 1) // weights 1, 1/2, 1/3 of 11/6: 6/11, 3/11, 2/11
	cases := []struct {
		u    float64
		want int
	}{
		{0, 0}, {6.0/11 - 1e-9, 0}, {z.cdf[0], 1}, {9.0/11 - 1e-9, 1}, {z.cdf[1], 2}, {0.999999999, 2},
	}
	for _, c := range cases {
		if got := z.Rank(c.u); got != c.want {
			t.Errorf("Rank(%v) = %d, want %d", c.u, got, c.want)
		}
	}
	sum := 0.0
	for r := range z.N() {
		sum += z.Prob(r)
	}
	if math.Abs(sum-1) > 1e-12 || math.Abs(z.Prob(0)-6.0/11) > 1e-12 {
		t.Errorf("probabilities: sum %v, P(rank 1) %v", sum, z.Prob(0))
	}
	// s = 0 is uniform.
	if u := NewZipf(4, 0); math.Abs(u.Prob(3)-0.25) > 1e-12 {
		t.Errorf("s=0: P(rank 4) = %v, want 0.25", u.Prob(3))
	}
}
