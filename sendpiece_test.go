package yamux

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestWritePiece: the piece is the largest multiple of the segment size
// that fits the kernel's 64 KiB GSO packet, never less than one segment.
func TestWritePiece(t *testing.T) {
	for _, c := range []struct{ mss, want int }{
		{0, 0},
		{-1, 0},
		{65483, 65483}, // loopback, once learnt
		{32741, 65482}, // loopback, at first
		{1448, 45 * 1448},
		{536, 122 * 536},
		{65536, 65536},
		{70000, 70000}, // jumbo loopback MTU: one segment per write
	} {
		if got := writePiece(c.mss); got != c.want {
			t.Errorf("writePiece(%d) = %d, want %d", c.mss, got, c.want)
		}
	}
}

// writeRecorder records the size of every Write.
type writeRecorder struct {
	bytes.Buffer
	sizes []int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

func (w *writeRecorder) Close() error { return nil }

func (w *writeRecorder) Read([]byte) (int, error) { select {} }

// TestSegmentedWriteCutsAtPieces: segmentedWrite writes every byte in
// order, in the fewest pieces of at most the piece size, all of one size
// (evenPiece) but a last one a little shorter, and no Write crosses a
// piece's end, wherever the buffers' own boundaries fall (headers, ring
// segments, payloads).
func TestSegmentedWriteCutsAtPieces(t *testing.T) {
	const piece = 1000
	layouts := [][]int{
		{12, 65536, 12, 65536},
		{999, 1, 1000, 1001, 1},
		{3000},
		{1001},
		{1, 1, 1, 2997, 5000, 12},
		{12, 196632, 24, 12, 65536}, // a batch seen in a strace of bulk
	}
	for _, sizes := range layouts {
		var bufs [][]byte
		var want []byte
		for _, n := range sizes {
			b := make([]byte, n)
			rand.Read(b)
			bufs = append(bufs, b)
			want = append(want, b...)
		}
		total := len(want)
		pieces := (total + piece - 1) / piece
		size := evenPiece(total, piece)
		if size > piece || size*pieces < total || size*(pieces-1) >= total || size*pieces-total >= pieces {
			t.Fatalf("%v: evenPiece(%d, %d) = %d: not %d pieces of one size", sizes, total, piece, size, pieces)
		}
		w := &writeRecorder{}
		s := &Session{conn: w}
		s.loop.piece = piece
		if err := s.segmentedWrite(bufs, uint64(total)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("%v: bytes written differ from the batch", sizes)
		}
		at := 0
		for _, n := range w.sizes {
			if at/size != (at+n-1)/size {
				t.Fatalf("%v: a Write of %d bytes at offset %d crosses the end of a %d-byte piece", sizes, n, at, size)
			}
			at += n
		}
		for i, b := range s.loop.pieceBufs[:cap(s.loop.pieceBufs)] {
			if b != nil {
				t.Fatalf("%v: piece buffer %d still pins a caller's slice", sizes, i)
			}
		}
	}
}
