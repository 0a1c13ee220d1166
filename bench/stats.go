package main

import (
	"math"
	"sort"
)

// Stat is a median with the range it came from.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// median of xs; the mean of the middle two for an even count. NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func summarize(xs []float64) Stat {
	st := Stat{Median: median(xs), N: len(xs), Min: math.NaN(), Max: math.NaN()}
	for i, x := range xs {
		if i == 0 || x < st.Min {
			st.Min = x
		}
		if i == 0 || x > st.Max {
			st.Max = x
		}
	}
	return st
}

// roundRatios divides a by b round by round: only rounds in which both
// have a value, and b is non-zero, count. Ratios from the same round cancel
// most of the machine's drift, which is why they are preferred over a ratio
// of medians.
func roundRatios(a, b map[int]float64) []float64 {
	var out []float64
	for r, x := range a {
		y, ok := b[r]
		if !ok || y == 0 || math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		out = append(out, x/y)
	}
	sort.Float64s(out) // deterministic order for the JSON
	return out
}
