package yamux_test

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestDirectReadBodyBringsNextHeader: a Read that reads the end of a large
// body from the conn reads the next frame's header in the same system
// call and acts on it before it returns, as the receive loop would have:
// a PING written right behind the body is answered without another Read
// and without the receive loop taking the role back. (Without that
// readv, the header waits in the socket for the next Read, or for
// IdleGrace.)
func TestDirectReadBodyBringsNextHeader(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) {
			p, st := directStream(t, tr.pair)
			const size = 64 * kib
			// One large frame first: from then on a header is read on its
			// own and the body after it straight into the Read's slice.
			first := patternBytes(1, size)
			p.writeData(0, 1, first)
			if got := readN(t, st, size); !bytes.Equal(got, first) {
				t.Fatal("first frame differs")
			}
			pings := p.S.Stats().PingsReceived
			body := patternBytes(2, size)
			p.writeRaw(append(rawData(0, 1, body), rawEncode(frame.TypePing, frame.FlagSYN, 0, 42)...))
			// Room beyond the body: the Read goes on with what it has
			// read ahead without waiting for the conn.
			got := readWith(t, st, size, make([]byte, size+kib))
			if n := p.S.Stats().PingsReceived - pings; n != 1 {
				t.Fatalf("when the Read of the body returned, %d PINGs behind it had been handled, want 1", n)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("got %d bytes differing from the %d sent", len(got), size)
			}
			p.skipTo(frame.New(frame.TypePing, frame.FlagACK, 0, 42))
		})
	}
}

// TestDirectReadSmallFramesAfterLarge: the next header is read with a body
// only after a large body. After a small one it is read through the read
// buffer, which takes a run of small frames in one system call: reading
// it with the body would put the next small body on the direct path too,
// and so on, one system call per small frame (the 128-byte messages of
// muxbench's openstreams-tcp fell from 6 million a second to 0.4-5).
func TestDirectReadSmallFramesAfterLarge(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) {
			p, st := directStream(t, tr.pair)
			const size, small, count = 64 * kib, 100, 200
			// A large frame, then small ones (within the initial window),
			// all in one write.
			want := patternBytes(1, size)
			wire := rawData(0, 1, want)
			for i := range count {
				body := patternBytes(uint64(2+i), small)
				want = append(want, body...)
				wire = append(wire, rawData(0, 1, body)...)
			}
			before := yamux.BodyReads(p.S)
			p.writeRaw(wire)
			got := readWith(t, st, len(want), make([]byte, size+kib))
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes differing from the %d sent", len(got), len(want))
			}
			if n := yamux.BodyReads(p.S) - before; n > 4 {
				t.Fatalf("%d reads of a body with the next header for one large frame and %d small ones, want at most a few (one per large frame, and reads cut short)", n, count)
			}
		})
	}
}
