package yamux_test

import (
	"errors"
	"io"
	"testing"

	"github.com/yamuxgo/yamux"
)

// TestWriteRacingCloseWriteKeepsFINLast: CloseWrite from another goroutine
// while Writes are going on; the FIN must follow every byte that Write
// reports written, and nothing after it (DATA after FIN would make the
// peer reset the stream, and the reader would see a reset instead of EOF;
// a byte count that differs means lost or extra data). A Write hands its
// frame to the send queue without the stream's lock (appending), which is
// where a FIN could slip in between; the window for that is narrow, so
// this test guards the ordering as a whole rather than that one
// interleaving.
func TestWriteRacingCloseWriteKeepsFINLast(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		msg := patternBytes(3, 64*kib)
		for i := range 40 {
			w, r := streamPair(t, p)
			wrote := make(chan int64, 1)
			go func() {
				var n int64
				for {
					k, err := w.Write(msg)
					n += int64(k)
					if err != nil {
						if !errors.Is(err, yamux.ErrStreamClosed) {
							t.Errorf("Write: %v, want ErrStreamClosed after CloseWrite", err)
						}
						wrote <- n
						return
					}
				}
			}()
			// Let some frames through, then close while Writes are going on.
			if _, err := io.ReadFull(r, make([]byte, (i%4+1)*kib)); err != nil {
				t.Fatalf("round %d: reading before CloseWrite: %v", i, err)
			}
			if err := w.CloseWrite(); err != nil {
				t.Fatalf("round %d: CloseWrite: %v", i, err)
			}
			got, err := io.Copy(io.Discard, r)
			if err != nil {
				t.Fatalf("round %d: reading to EOF: %v (DATA after our FIN?)", i, err)
			}
			total := int64((i%4+1)*kib) + got
			if n := <-wrote; total != n {
				t.Fatalf("round %d: peer read %d bytes, Write reported %d", i, total, n)
			}
			w.Close()
			r.Close()
		}
	})
}
