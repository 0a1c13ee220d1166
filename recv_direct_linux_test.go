package yamux_test

import (
	"bytes"
	"testing"

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
			p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Pair: tr.pair, Timeout: guard})
			st := p.openInbound(1)
			intoDirectPath(t, p, st)
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
			buf := make([]byte, size+kib)
			var got []byte
			for len(got) < size {
				n, err := st.Read(buf)
				if err != nil {
					t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
				got = append(got, buf[:n]...)
			}
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
