package yamux_test

// The receive path's fast lane (session_recv.go readBody, stream_recv.go
// deliver, stream.go read): DATA copied from the read buffer straight into
// the slice of a waiting Read. A Read must still never wait on the conn: a
// peer trickling a frame's body delays nothing already received,
// deadlines, CloseRead, Reset and session end wake a waiting Read at once,
// and a Read's slice is never written after it returns.

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime/debug"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// trickleBodies are body sizes: a small frame, and one as large as our
// peers send, trickled in pieces larger than a Read of the small one.
var trickleBodies = []struct {
	name       string
	size, step int
}{
	{"buffered", 1000, 10},
	{"large", 64 * kib, 7 * kib},
}

// TestRecvTrickledBodyStreams: the peer sends a header, then its body in
// pieces with pauses; each piece is readable as soon as it has arrived,
// and a Read waiting for the next piece times out at its deadline.
func TestRecvTrickledBodyStreams(t *testing.T) {
	for _, tc := range trickleBodies {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, recvQuietConfig())
				st := p.openInbound(1)
				body := patternBytes(7, tc.size)
				p.writeRaw(rawEncode(frame.TypeData, 0, 1, uint32(len(body))))
				synctest.Wait()
				buf := make([]byte, 2*tc.size)
				var got []byte
				for off := 0; off < len(body); off += tc.step {
					piece := body[off:min(off+tc.step, len(body))]
					// Nothing of the piece is here yet: the Read waits, and
					// its deadline ends the wait exactly.
					start := time.Now()
					st.SetReadDeadline(start.Add(time.Second))
					if n, err := st.Read(buf); n != 0 || !errors.Is(err, yamux.ErrTimeout) {
						t.Fatalf("Read before piece at %d = %d, %v; want 0, ErrTimeout", off, n, err)
					}
					if d := time.Since(start); d != time.Second {
						t.Fatalf("Read timed out after %v, want 1s", d)
					}
					st.SetReadDeadline(time.Time{})
					p.writeRaw(piece)
					// The piece has arrived: all of it is readable, though
					// the frame is not complete.
					for have := 0; have < len(piece); {
						n, err := st.Read(buf)
						if err != nil {
							t.Fatalf("Read of piece at %d: %v", off, err)
						}
						got = append(got, buf[:n]...)
						have += n
					}
				}
				if !bytes.Equal(got, body) {
					t.Fatal("received different bytes than sent")
				}
				p.expectAlive()
			})
		})
	}
}

// TestRecvWaitingReadWokenMidFrame: while the peer holds back the rest of
// a frame's body, CloseRead, Reset, and the session's end each wake a
// waiting Read at once, with what that event means for Read.
func TestRecvWaitingReadWokenMidFrame(t *testing.T) {
	events := []struct {
		name string
		do   func(p *rawPeer, st *yamux.Stream)
		want func(err error) bool
	}{
		{"CloseRead", func(_ *rawPeer, st *yamux.Stream) { st.CloseRead() },
			func(err error) bool { return errors.Is(err, yamux.ErrStreamClosed) }},
		{"Reset", func(_ *rawPeer, st *yamux.Stream) { st.Reset() },
			func(err error) bool { var se *yamux.StreamError; return errors.As(err, &se) }},
		{"session Close", func(p *rawPeer, _ *yamux.Stream) { p.S.Close() },
			func(err error) bool { return err != nil }},
	}
	for _, tc := range trickleBodies {
		for _, ev := range events {
			t.Run(tc.name+"/"+ev.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					p := newRawPeer(t, true, recvQuietConfig())
					st := p.openInbound(1)
					body := patternBytes(3, tc.size)
					p.writeRaw(rawEncode(frame.TypeData, 0, 1, uint32(len(body))))
					p.writeRaw(body[:tc.step])
					buf := make([]byte, tc.size)
					if n, err := io.ReadFull(st, buf[:tc.step]); err != nil || !bytes.Equal(buf[:n], body[:tc.step]) {
						t.Fatalf("first piece: %d, %v", n, err)
					}
					type result struct {
						n   int
						err error
						at  time.Time
					}
					res := make(chan result, 1)
					go func() {
						n, err := st.Read(buf)
						res <- result{n, err, time.Now()}
					}()
					synctest.Wait() // the Read waits, the loop is in the conn
					start := time.Now()
					ev.do(p, st)
					r := <-res
					if r.n != 0 || !ev.want(r.err) {
						t.Fatalf("waiting Read after %s = %d, %v", ev.name, r.n, r.err)
					}
					if d := r.at.Sub(start); d != 0 {
						t.Fatalf("waiting Read returned %v after %s, want at once", d, ev.name)
					}
				})
			})
		}
	}
}

// TestRecvSliceNotWrittenAfterRead: a Read that waited with its slice
// parked and returned (its deadline) leaves the slice alone from then on:
// the bytes that arrive afterwards go to the next Read.
func TestRecvSliceNotWrittenAfterRead(t *testing.T) {
	for _, tc := range trickleBodies {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, recvQuietConfig())
				st := p.openInbound(1)
				old := make([]byte, tc.size)
				st.SetReadDeadline(time.Now().Add(time.Second))
				if n, err := st.Read(old); n != 0 || !errors.Is(err, yamux.ErrTimeout) {
					t.Fatalf("Read = %d, %v; want 0, ErrTimeout", n, err)
				}
				st.SetReadDeadline(time.Time{})
				body := patternBytes(5, tc.size)
				p.writeData(0, 1, body)
				got := make([]byte, tc.size)
				if _, err := io.ReadFull(st, got); err != nil || !bytes.Equal(got, body) {
					t.Fatalf("next Read: %v, or different bytes", err)
				}
				if !bytes.Equal(old, make([]byte, tc.size)) {
					t.Fatal("the slice of a Read that had returned was written to")
				}
			})
		})
	}
}

// TestRecvReadLeavesCapacityAlone: a waiting Read given a slice shorter
// than its capacity gets at most len bytes and the rest of the array is
// not written; the bytes that did not fit come with the next Read.
func TestRecvReadLeavesCapacityAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, recvQuietConfig())
		st := p.openInbound(1)
		array := make([]byte, 100)
		res := make(chan int, 1)
		go func() {
			n, err := st.Read(array[:10])
			if err != nil {
				t.Errorf("Read: %v", err)
			}
			res <- n
		}()
		synctest.Wait() // the Read waits, its slice parked
		body := patternBytes(9, 50)
		p.writeData(0, 1, body)
		if n := <-res; n != 10 || !bytes.Equal(array[:10], body[:10]) {
			t.Fatalf("Read(10 of 100) = %d bytes %x, want 10 bytes %x", n, array[:n], body[:10])
		}
		if !bytes.Equal(array[10:], make([]byte, 90)) {
			t.Fatal("Read wrote past the length of its slice")
		}
		rest := make([]byte, 40)
		if _, err := io.ReadFull(st, rest); err != nil || !bytes.Equal(rest, body[10:]) {
			t.Fatalf("next Read: %v, or different bytes", err)
		}
	})
}

// TestRecvConcurrentReads: several Reads wait on one stream at once; the
// data is split among them, complete and in order per Read, and the FIN
// ends every one of them.
func TestRecvConcurrentReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, recvQuietConfig())
		st := p.openInbound(1)
		const readers, frames = 4, 200
		var (
			mu    sync.Mutex
			total int
			wg    sync.WaitGroup
		)
		errs := make(chan error, readers)
		for range readers {
			wg.Go(func() {
				buf := make([]byte, 300)
				for {
					n, err := st.Read(buf)
					mu.Lock()
					total += n
					mu.Unlock()
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		synctest.Wait()
		sent := 0
		for i := range frames {
			size := 1 + i%700
			if i%50 == 0 {
				size = 40 * kib // larger than every Read
			}
			p.writeData(0, 1, patternBytes(uint64(i), size))
			sent += size
			if i%10 == 0 {
				synctest.Wait()
			}
		}
		p.writeData(frame.FlagFIN, 1, nil)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != io.EOF {
				t.Fatalf("a concurrent Read ended with %v, want io.EOF", err)
			}
		}
		if total != sent {
			t.Fatalf("readers got %d bytes, peer sent %d", total, sent)
		}
	})
}

// TestRecvSteadyStateAllocs: once warm, the receive loop and Read allocate
// nothing per frame, large or small, whether it lands in the waiting
// Read's slice or in the stream's chunks; and neither does a Read that
// reads the conn itself (the direct path, recvrole.go), which it does once
// our RTT ping is answered and nothing else waits.
func TestRecvSteadyStateAllocs(t *testing.T) {
	if recvRaceEnabled() {
		// sync.Pool drops a random quarter of what is put in it under the
		// race detector, so chunks are sometimes made afresh.
		t.Skip("allocation counts are exact only without -race")
	}
	for _, direct := range []bool{false, true} {
		for _, size := range []int{64 * kib, 20 * kib, 1} {
			recvSteadyStateAllocs(t, size, direct)
		}
	}
}

func recvSteadyStateAllocs(t *testing.T, size int, direct bool) {
	ours, raw := tcpPair(t)
	cfg := testConfig()
	cfg.EnableKeepAlive = false
	s, err := yamux.Server(ours, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Our ACK and window updates are read and dropped; our RTT ping is
	// answered only for the direct path (an outstanding ping keeps the
	// read role with the receive loop).
	go func() {
		fr := frame.NewReader(raw, math.MaxUint32)
		for {
			h, err := fr.ReadHeader()
			if err != nil {
				return
			}
			if h.Type() == frame.TypeData {
				io.CopyN(io.Discard, raw, int64(h.Length()))
			}
			if direct && h.Type() == frame.TypePing && h.Flags()&frame.FlagSYN != 0 {
				raw.Write(rawEncode(frame.TypePing, frame.FlagACK, 0, h.Length()))
			}
		}
	}()
	if _, err := raw.Write(rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)); err != nil {
		t.Fatal(err)
	}
	st, err := s.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	msg := rawEncode(frame.TypeData, 0, 1, uint32(size), patternBytes(1, size)...)
	buf := make([]byte, size)
	cycle := func() {
		if _, err := raw.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(st, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		cycle()
	}
	before := s.Stats().FramesReadByStreams
	if got := testing.AllocsPerRun(200, cycle); got != 0 {
		t.Errorf("%d-byte frames (direct path %v): %v allocations per frame received and read, want 0", size, direct, got)
	}
	if byStreams := s.Stats().FramesReadByStreams - before; direct != (byStreams > 0) {
		t.Errorf("%d-byte frames (direct path %v): %d frames read by the Read itself", size, direct, byStreams)
	}
	raw.Close() // first, so that Close need not linger for the peer
	s.Close()
}

// recvQuietConfig turns keepalive off: the raw peer's pongs would land in
// the middle of a body the test is trickling.
func recvQuietConfig() *yamux.Config {
	cfg := testConfig()
	cfg.EnableKeepAlive = false
	return cfg
}

// recvRaceEnabled reports whether the test binary was built with -race.
func recvRaceEnabled() bool {
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
