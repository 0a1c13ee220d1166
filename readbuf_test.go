package yamux

import (
	"bufio"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestBigReadBuffersReused: more large read buffers given back than the
// spare list keeps are still drawn again rather than allocated anew (with
// no collection in between), so more than spareMax sessions reading
// backlogs at once do not allocate 256 KiB per backlog.
func TestBigReadBuffersReused(t *testing.T) {
	// No collection, and one P: a sync.Pool keeps what a P put for that
	// P alone until a collection (its private slot), so only then is
	// every draw certain.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// Whatever earlier tests left in the lists first.
	for {
		if _, ok := bigReadBuffers.take(); !ok {
			break
		}
	}
	for bigReadOverflow.Get() != nil {
	}
	const n = 2*spareMax + 3
	given := make(map[*bufio.Reader]bool, n)
	for range n {
		b := bufio.NewReaderSize(nil, bigReadBufferSize)
		given[b] = true
		giveBigReadBuffer(b)
	}
	for i := range n {
		b := takeBigReadBuffer()
		// The race detector makes sync.Pool drop items at random: there
		// only the spare list's part is certain.
		if !given[b] && (i < spareMax || !raceEnabled) {
			t.Fatalf("draw %d of %d: a new buffer, want one of those given back", i+1, n)
		}
		delete(given, b)
		if b.Size() != bigReadBufferSize {
			t.Fatalf("draw %d: a %d-byte buffer, want %d", i+1, b.Size(), bigReadBufferSize)
		}
	}
}
