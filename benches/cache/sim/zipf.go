package sim

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Zipf samples ranks 0..n-1 with P(rank r) proportional to 1/(r+1)^s.
//
// math/rand's Zipf needs s > 1; web and file traces sit around s = 0.6 to
// 1.0, so this sampler works for any s >= 0: it precomputes the cumulative
// weights once (O(n)) and samples by inverse CDF with a binary search
// (O(log n) per sample).
type Zipf struct {
	cdf []float64 // cdf[i] = P(rank <= i); cdf[n-1] == 1
}

// NewZipf returns a sampler over n ranks with exponent s. It panics if n < 1
// or s is negative or not finite.
func NewZipf(n int, s float64) *Zipf {
	if n < 1 || s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		panic("sim: NewZipf needs n >= 1 and a finite s >= 0")
	}
	cdf := make([]float64, n)
	sum := 0.0
	for i := range cdf {
		sum += math.Pow(float64(i+1), -s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	cdf[n-1] = 1
	return &Zipf{cdf: cdf}
}

// N returns the number of ranks.
func (z *Zipf) N() int { return len(z.cdf) }

// Prob returns the probability of rank r (0-based).
func (z *Zipf) Prob(r int) float64 {
	if r == 0 {
		return z.cdf[0]
	}
	return z.cdf[r] - z.cdf[r-1]
}

// Rank maps u in [0, 1) to the smallest rank whose cumulative probability
// exceeds u.
func (z *Zipf) Rank(u float64) int {
	r := sort.SearchFloat64s(z.cdf, u) // first i with cdf[i] >= u
	if r < len(z.cdf) && z.cdf[r] == u {
		r++ // cdf[r] must exceed u: rank r covers [cdf[r-1], cdf[r])
	}
	if r >= len(z.cdf) {
		r = len(z.cdf) - 1 // only reachable through rounding
	}
	return r
}

// Sample draws one rank (0-based; 0 is the most popular) using r.
func (z *Zipf) Sample(r *rand.Rand) int {
	return z.Rank(r.Float64())
}
