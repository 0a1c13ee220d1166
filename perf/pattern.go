package perf

import "bytes"

// BlockSize is the size of the writes and reads of both sides: 64 KiB, as in
// the reference implementation of the protocol.
const BlockSize = 64 << 10

// patternPeriod is prime, so a block delivered twice, dropped or reordered
// lands on a different phase of the pattern and fails the check.
const patternPeriod = 65521

// pattern holds one period and then a block more, so that any window of up
// to BlockSize bytes starting anywhere in the period is one contiguous slice.
var pattern = makePattern()

func makePattern() []byte {
	p := make([]byte, patternPeriod+BlockSize)
	// xorshift32 with a fixed seed: both ends derive the same bytes without
	// any state on the wire.
	x := uint32(0x9e3779b9)
	for i := range patternPeriod {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x >> 24)
	}
	// BlockSize > patternPeriod, so the tail repeats the period more than
	// once; a single copy from the head would read its own unfilled end.
	for i := patternPeriod; i < len(p); i++ {
		p[i] = p[i-patternPeriod]
	}
	return p
}

// patternAt returns the n ≤ BlockSize pattern bytes that belong at offset off
// of a stream's data.
func patternAt(off uint64, n int) []byte {
	i := int(off % patternPeriod)
	return pattern[i : i+n]
}

// matchesPattern reports whether b is what belongs at offset off, and if not,
// the offset of the first wrong byte.
func matchesPattern(b []byte, off uint64) (bool, uint64) {
	for len(b) > 0 {
		n := min(len(b), BlockSize)
		want := patternAt(off, n)
		if !bytes.Equal(b[:n], want) {
			for i := range n {
				if b[i] != want[i] {
					return false, off + uint64(i)
				}
			}
		}
		b = b[n:]
		off += uint64(n)
	}
	return true, 0
}
