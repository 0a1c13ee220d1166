package perf

import "testing"

// TestPatternIsPeriodic: every window the verifier compares against must be
// the period repeated, including windows reaching into the tail.
func TestPatternIsPeriodic(t *testing.T) {
	for i := patternPeriod; i < len(pattern); i++ {
		if pattern[i] != pattern[i-patternPeriod] {
			t.Fatalf("pattern[%d] = %#x, want pattern[%d] = %#x", i, pattern[i], i-patternPeriod, pattern[i-patternPeriod])
		}
	}
	for _, off := range []uint64{0, patternPeriod - 1, 2*patternPeriod - 15, 1<<40 + 3} {
		if ok, at := matchesPattern(patternAt(off, BlockSize), off); !ok {
			t.Errorf("the pattern's own window at %d fails verification at %d", off, at)
		}
	}
}

// TestMatchesPatternAnyAlignment: data sent in BlockSize writes verifies in
// reads of any size and alignment, as a muxer delivers it.
func TestMatchesPatternAnyAlignment(t *testing.T) {
	const total = 5 * BlockSize
	var data []byte
	for off := uint64(0); off < total; off += BlockSize {
		data = append(data, patternAt(off, BlockSize)...)
	}
	for _, step := range []int{1, 7, 4093, BlockSize - 1, BlockSize} {
		for off := 0; off < total; off += step {
			end := min(off+step, total)
			if ok, at := matchesPattern(data[off:end], uint64(off)); !ok {
				t.Fatalf("read of %d bytes at %d fails at %d", end-off, off, at)
			}
		}
	}
	data[3*patternPeriod] ^= 0x80
	if ok, at := matchesPattern(data, 0); ok || at != 3*patternPeriod {
		t.Errorf("flipped byte at %d: match %v at %d", 3*patternPeriod, ok, at)
	}
}
