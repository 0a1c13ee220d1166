package yamux

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// recvbufRaceEnabled reports whether the test binary was built with -race,
// read from the build settings (the package has no race build-tag file).
func recvbufRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// recvbufLive returns the chunks that still hold unread bytes, in order,
// and checks that the list's tail pointer is its last chunk.
func recvbufLive(b *recvBuffer) []*chunk {
	var live []*chunk
	var last *chunk
	for c := b.head; c != nil; c = c.next {
		live = append(live, c)
		last = c
	}
	if last != b.tail {
		panic("recvBuffer: tail is not the last chunk of the list")
	}
	return live
}

// recvbufCheck verifies the buffer's invariants: the chunk list accounts
// for exactly Len bytes, chunk sizes are pooled classes that never shrink
// along the list, only the tail chunk has free room, and no drained chunk
// is kept.
func recvbufCheck(t testing.TB, b *recvBuffer) {
	t.Helper()
	sum, prevCap := 0, 0
	live := recvbufLive(b)
	for i, c := range live {
		if c == nil {
			t.Fatalf("chunk %d of %d is nil", i, len(live))
		}
		cp := cap(c.buf)
		if cp < 1<<minChunkShift || cp > 1<<maxChunkShift || bits.OnesCount(uint(cp)) != 1 {
			t.Fatalf("chunk %d cap = %d, want a power of two in %d..%d", i, cp, 1<<minChunkShift, 1<<maxChunkShift)
		}
		if cp < prevCap {
			t.Fatalf("chunk %d cap = %d after a chunk of %d, want non-decreasing", i, cp, prevCap)
		}
		prevCap = cp
		if i < len(live)-1 && len(c.buf) != cp {
			t.Fatalf("chunk %d of %d holds %d of %d bytes, want full (only the tail may have room)", i, len(live), len(c.buf), cp)
		}
		if c.off >= len(c.buf) {
			t.Fatalf("chunk %d has off %d, len %d: a drained chunk was kept", i, c.off, len(c.buf))
		}
		sum += len(c.buf) - c.off
	}
	if sum != b.n || b.Len() != b.n {
		t.Fatalf("chunks hold %d unread bytes, Len() = %d, n = %d; want all equal", sum, b.Len(), b.n)
	}
}

// recvbufSize draws a write or read size: mostly small, sometimes up to a
// few chunks.
func recvbufSize(rng *rand.Rand) int {
	switch rng.IntN(4) {
	case 0:
		return rng.IntN(16)
	case 1:
		return rng.IntN(1 << minChunkShift * 2)
	case 2:
		return rng.IntN(8 * 1024)
	default:
		return rng.IntN(3 << maxChunkShift)
	}
}

// TestRecvBufferModel compares the buffer with bytes.Buffer over a long
// random sequence of writes and reads (fixed seed, reproducible).
func TestRecvBufferModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(0x79616d7578, 42))
	var b recvBuffer
	t.Cleanup(b.release)
	var model bytes.Buffer
	// Random source bytes, written from a random offset each time, so a
	// misplaced chunk shows up as different bytes.
	src := make([]byte, 4<<maxChunkShift)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	scratch := make([]byte, 3<<maxChunkShift)
	want := make([]byte, 3<<maxChunkShift)
	var written, read int
	for i := range 4000 {
		if model.Len() < 1<<20 && rng.IntN(2) == 0 {
			n := recvbufSize(rng)
			off := rng.IntN(len(src) - n + 1)
			p := src[off : off+n]
			b.write(p)
			model.Write(p)
			written += len(p)
		} else {
			n := recvbufSize(rng)
			got := b.read(scratch[:n])
			wn, _ := model.Read(want[:n])
			if got != wn {
				t.Fatalf("op %d: read(%d bytes) = %d, want %d", i, n, got, wn)
			}
			if !bytes.Equal(scratch[:got], want[:wn]) {
				t.Fatalf("op %d: read(%d bytes) returned different bytes than the model (offset %d)", i, n, read)
			}
			read += got
		}
		if b.Len() != model.Len() {
			t.Fatalf("op %d: Len() = %d, want %d", i, b.Len(), model.Len())
		}
		recvbufCheck(t, &b)
	}
	// Drain what is left.
	for model.Len() > 0 {
		n := b.read(scratch)
		wn, _ := model.Read(want)
		if n != wn || !bytes.Equal(scratch[:n], want[:wn]) {
			t.Fatalf("final read = %d bytes, want %d identical bytes", n, wn)
		}
	}
	if got := b.read(scratch); got != 0 {
		t.Fatalf("read after draining = %d, want 0", got)
	}
	if b.Len() != 0 || len(recvbufLive(&b)) != 0 {
		t.Fatalf("after draining: Len() = %d, chunks = %d; want 0, 0", b.Len(), len(recvbufLive(&b)))
	}
	if written < 1<<20 {
		t.Fatalf("only %d bytes went through the buffer, want at least 1 MiB for a meaningful run", written)
	}
}

func TestRecvBufferEmptyOps(t *testing.T) {
	var b recvBuffer
	b.write(nil)
	b.write([]byte{})
	if b.Len() != 0 || len(recvbufLive(&b)) != 0 {
		t.Fatalf("after empty writes: Len() = %d, chunks = %d; want 0, 0", b.Len(), len(recvbufLive(&b)))
	}
	if got := b.read(make([]byte, 10)); got != 0 {
		t.Fatalf("read on empty buffer = %d, want 0", got)
	}
	b.write([]byte("abc"))
	t.Cleanup(b.release)
	if got := b.read(nil); got != 0 || b.Len() != 3 {
		t.Fatalf("read(nil) = %d with Len() %d, want 0 with 3", got, b.Len())
	}
	p := make([]byte, 10)
	if got := b.read(p); got != 3 || string(p[:3]) != "abc" {
		t.Fatalf("read = %d %q, want 3 \"abc\"", got, p[:got])
	}
}

// TestRecvBufferCoalescing: a peer sending 1-byte frames costs about one
// byte per byte, not one chunk per frame (spec.md §4.4).
func TestRecvBufferCoalescing(t *testing.T) {
	const total = 256 * 1024
	var b recvBuffer
	t.Cleanup(b.release)
	one := []byte{0}
	for i := range total {
		one[0] = byte(i)
		b.write(one)
	}
	recvbufCheck(t, &b)
	if b.Len() != total {
		t.Fatalf("Len() = %d, want %d", b.Len(), total)
	}
	if n := len(recvbufLive(&b)); n >= 20 {
		t.Fatalf("%d one-byte writes use %d chunks, want fewer than 20", total, n)
	}
	capSum := 0
	for _, c := range recvbufLive(&b) {
		capSum += cap(c.buf)
	}
	if limit := 2*total + 64*1024; capSum > limit {
		t.Fatalf("chunk capacity = %d bytes for %d buffered, want <= %d", capSum, total, limit)
	}
	p := make([]byte, total+1)
	if got := b.read(p); got != total {
		t.Fatalf("read = %d, want %d", got, total)
	}
	for i := range total {
		if p[i] != byte(i) {
			t.Fatalf("byte %d = %d, want %d", i, p[i], byte(i))
		}
	}
	if b.Len() != 0 || len(recvbufLive(&b)) != 0 {
		t.Fatalf("after reading everything: Len() = %d, chunks = %d; want 0, 0", b.Len(), len(recvbufLive(&b)))
	}
}

// TestRecvBufferReleasesDrainedChunks checks that a chunk leaves the list
// as soon as its last byte is read, and not before.
func TestRecvBufferReleasesDrainedChunks(t *testing.T) {
	var b recvBuffer
	t.Cleanup(b.release)
	// Three writes: 512 B and 1 KiB chunks fill, the third (2 KiB) holds 10.
	b.write(make([]byte, 512))
	b.write(make([]byte, 1024))
	b.write(make([]byte, 10))
	recvbufCheck(t, &b)
	if got := len(recvbufLive(&b)); got != 3 {
		t.Fatalf("chunks = %d, want 3", got)
	}
	steps := []struct {
		read, wantChunks, wantLen int
	}{
		{511, 3, 1024 + 11},
		{1, 2, 1024 + 10},
		{1023, 2, 11},
		{1, 1, 10},
		{9, 1, 1},
		{1, 0, 0},
	}
	p := make([]byte, 2048)
	for _, s := range steps {
		if got := b.read(p[:s.read]); got != s.read {
			t.Fatalf("read(%d) = %d, want %d", s.read, got, s.read)
		}
		recvbufCheck(t, &b)
		if live := len(recvbufLive(&b)); live != s.wantChunks || b.Len() != s.wantLen {
			t.Fatalf("after read(%d): chunks, Len() = %d, %d; want %d, %d", s.read, live, b.Len(), s.wantChunks, s.wantLen)
		}
	}
}

func TestRecvBufferRelease(t *testing.T) {
	var b recvBuffer
	b.write(make([]byte, 100*1024))
	b.write([]byte("tail"))
	b.read(make([]byte, 700))
	b.release()
	if b.Len() != 0 || len(recvbufLive(&b)) != 0 {
		t.Fatalf("after release: Len() = %d, chunks = %d; want 0, 0", b.Len(), len(recvbufLive(&b)))
	}
	if got := b.read(make([]byte, 10)); got != 0 {
		t.Fatalf("read after release = %d, want 0", got)
	}
	b.release() // idempotent
	// The buffer is usable again, and released bytes do not reappear.
	b.write([]byte("new"))
	t.Cleanup(b.release)
	p := make([]byte, 10)
	if got := b.read(p); got != 3 || string(p[:3]) != "new" {
		t.Fatalf("read after reuse = %d %q, want 3 \"new\"", got, p[:got])
	}
}

// TestRecvBufferLen tracks Len through interleaved writes and partial reads.
func TestRecvBufferLen(t *testing.T) {
	var b recvBuffer
	t.Cleanup(b.release)
	steps := []struct {
		write, read, want int
	}{
		{write: 10, want: 10},
		{write: 600, want: 610},
		{read: 5, want: 605},
		{write: 70000, want: 70605},
		{read: 70000, want: 605},
		{read: 1000, want: 0},
		{write: 1, want: 1},
	}
	for i, s := range steps {
		if s.write > 0 {
			b.write(make([]byte, s.write))
		}
		if s.read > 0 {
			b.read(make([]byte, s.read))
		}
		recvbufCheck(t, &b)
		if got := b.Len(); got != s.want {
			t.Fatalf("step %d: Len() = %d, want %d", i, got, s.want)
		}
	}
}

// TestRecvBufferSteadyStateAllocs: once the pools are warm, passing data
// through an empty buffer allocates nothing, whether a whole 64 KiB frame
// or 1-byte frames (recvbuf.go: "not one allocation per frame").
//
// Under the race detector sync.Pool deliberately drops a random quarter of
// the values put into it (sync/pool.go, Put), so a Get sometimes misses and
// allocates a fresh chunk and its buffer: with two chunks per cycle that is
// about one allocation per cycle on average (AllocsPerRun truncates to an
// integer). The race build therefore tolerates one allocation per cycle;
// the exact zero is asserted by the ordinary build.
func TestRecvBufferSteadyStateAllocs(t *testing.T) {
	maxAllocs := 0.0
	if recvbufRaceEnabled() {
		maxAllocs = 1
	}
	tests := []struct {
		name string
		size int
	}{
		{"64KiB", 64 * 1024},
		{"1B", 1},
		{"1000B", 1000},
	}
	for _, tt := range tests {
		var b recvBuffer
		src := make([]byte, tt.size)
		dst := make([]byte, tt.size)
		cycle := func() {
			b.write(src)
			b.write(src)
			if n := b.read(dst); n != tt.size {
				t.Fatalf("%s: read = %d, want %d", tt.name, n, tt.size)
			}
			if n := b.read(dst); n != tt.size {
				t.Fatalf("%s: read = %d, want %d", tt.name, n, tt.size)
			}
		}
		for range 10 {
			cycle()
		}
		if got := testing.AllocsPerRun(1000, cycle); got > maxAllocs {
			t.Errorf("%s: allocations per write+read cycle = %v, want <= %v", tt.name, got, maxAllocs)
		}
		b.release()
	}
}

// TestRecvBufferNeverDrainedStaysBounded: a stream whose reader always lags
// a little, so the buffer is never empty, must not grow its chunk list: the
// bookkeeping for drained chunks has to be reclaimed while data remains.
func TestRecvBufferNeverDrainedStaysBounded(t *testing.T) {
	const frame = 64 * 1024
	var b recvBuffer
	t.Cleanup(b.release)
	src := make([]byte, frame)
	dst := make([]byte, frame)
	b.write(src)
	b.write(src[:100]) // keep a partial chunk at the head from now on
	for range 2000 {
		b.write(src)
		if n := b.read(dst); n != frame {
			t.Fatalf("read = %d, want %d", n, frame)
		}
	}
	recvbufCheck(t, &b)
	if live := len(recvbufLive(&b)); live > 3 {
		t.Fatalf("live chunks = %d for %d buffered bytes, want <= 3", live, b.Len())
	}
}

// TestBigChunksSurviveGC: drained 64 KiB chunks are kept for the next
// receive buffer even across garbage collections (a sync.Pool would have
// dropped them), and no more than spareMax of them.
func TestBigChunksSurviveGC(t *testing.T) {
	const big = numChunkClass - 1
	var held []*chunk
	for range spareMax + 4 {
		held = append(held, getChunk(big))
	}
	for _, c := range held {
		c.buf = append(c.buf, 1, 2, 3)
		putChunk(c)
	}
	bigChunks.mu.Lock()
	n := bigChunks.n
	bigChunks.mu.Unlock()
	if n != spareMax {
		t.Fatalf("%d big chunks kept, want %d", n, spareMax)
	}
	runtime.GC()
	runtime.GC()
	kept := make(map[*chunk]bool)
	for _, c := range held {
		kept[c] = true
	}
	for i := range spareMax {
		c := getChunk(big)
		if !kept[c] {
			t.Fatalf("chunk %d after two collections is a new one", i)
		}
		if len(c.buf) != 0 || c.off != 0 || c.next != nil || cap(c.buf) != 1<<maxChunkShift {
			t.Fatalf("reused chunk not reset: len %d off %d cap %d", len(c.buf), c.off, cap(c.buf))
		}
		defer putChunk(c)
	}
}
