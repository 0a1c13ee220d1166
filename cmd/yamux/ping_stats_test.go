package main

import (
	"math"
	"testing"
	"time"
)

// TestRTTStats: the running summary gives ping(8)'s figures, as computed
// from all the samples, without keeping them.
func TestRTTStats(t *testing.T) {
	samples := []time.Duration{3 * time.Millisecond, 1 * time.Millisecond, 7 * time.Millisecond, 2500 * time.Microsecond, 4 * time.Millisecond}
	var r rttStats
	for _, s := range samples {
		r.add(s)
	}
	var sum float64
	for _, s := range samples {
		sum += millis(s)
	}
	mean := sum / float64(len(samples))
	var sq float64
	for _, s := range samples {
		sq += (millis(s) - mean) * (millis(s) - mean)
	}
	sd := math.Sqrt(sq / float64(len(samples)))
	if r.n != len(samples) || r.lo != time.Millisecond || r.hi != 7*time.Millisecond {
		t.Fatalf("n, min, max = %d, %v, %v; want %d, 1ms, 7ms", r.n, r.lo, r.hi, len(samples))
	}
	if math.Abs(r.meanMs-mean) > 1e-9 {
		t.Errorf("mean = %v ms, want %v", r.meanMs, mean)
	}
	if got := math.Sqrt(r.m2 / float64(r.n)); math.Abs(got-sd) > 1e-9 {
		t.Errorf("stddev = %v ms, want %v", got, sd)
	}
}
