package main

import (
	"math"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 100, 1, 1}, 1},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("median reordered its input: %v", c.in)
			}
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestSummarize(t *testing.T) {
	st := summarize([]float64{2, 9, 4, 1, 7})
	if st.Median != 4 || st.Min != 1 || st.Max != 9 || st.N != 5 {
		t.Errorf("summarize = %+v, want median 4, min 1, max 9, n 5", st)
	}
}

func TestRoundRatiosPairByRound(t *testing.T) {
	// Round 2 has no reference value and round 3 a zero one: both drop out.
	// Pairing by round, not by position, matters: a's round 4 must meet b's
	// round 4.
	a := map[int]float64{0: 10, 1: 30, 2: 50, 3: 7, 4: 8}
	b := map[int]float64{0: 5, 1: 10, 3: 0, 4: 16}
	got := roundRatios(a, b)
	want := []float64{0.5, 2, 3}
	if len(got) != len(want) {
		t.Fatalf("roundRatios = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("roundRatios = %v, want %v", got, want)
		}
	}
	if m := median(got); m != 2 {
		t.Errorf("median ratio = %v, want 2", m)
	}
}

func TestMedianOfRatiosIsNotRatioOfMedians(t *testing.T) {
	// a is half of b in two rounds of three; the ratio of the medians
	// (20 / 20) hides that, the median of per-round ratios does not.
	a := map[int]float64{0: 10, 1: 20, 2: 30}
	b := map[int]float64{0: 20, 1: 40, 2: 15}
	if m := median(roundRatios(a, b)); m != 0.5 {
		t.Errorf("median of per-round ratios = %v, want 0.5", m)
	}
	if r := median([]float64{10, 20, 30}) / median([]float64{20, 40, 15}); r != 1 {
		t.Fatalf("test premise: ratio of medians = %v, want 1", r)
	}
}

func TestParseIOField(t *testing.T) {
	io := []byte("rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 12345\nread_bytes: 0\n")
	if got := parseIOField(io, "\nsyscw: "); got != 12345 {
		t.Errorf("syscw = %d, want 12345", got)
	}
	if got := parseIOField(io, "\nsyscr: "); got != 10 {
		t.Errorf("syscr = %d, want 10", got)
	}
	if got := parseIOField([]byte("rchar: 1\n"), "\nsyscw: "); got != -1 {
		t.Errorf("syscw when absent = %d, want -1", got)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(10, func() { ioSyscalls() }); n != 0 {
		t.Errorf("ioSyscalls allocates %.0f times; a meter reading must not allocate", n)
	}
}

func TestCounterWakesAtThreshold(t *testing.T) {
	c := newCounter()
	c.add(10)
	if err := c.waitFor(5, time.Second); err != nil {
		t.Fatalf("threshold already crossed: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.waitFor(100, time.Minute) }()
	// The waiter may or may not be armed yet; either way 90 more bytes must
	// release it, and fewer must not.
	c.add(50)
	select {
	case err := <-done:
		t.Fatalf("released at 60 of 100 bytes: %v", err)
	default:
	}
	c.add(40)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.waitFor(1000, time.Millisecond); err == nil {
		t.Error("waitFor returned without the bytes or an error")
	}
}
