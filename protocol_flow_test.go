package yamux_test

// Wire transcripts for spec.md §4, flow control: the send window, frame
// sizes, batched window updates, window deltas on SYN and ACK, credit
// returned after CloseRead. The peer is the raw-frame peer of
// rawpeer_test.go.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestProtoSendWindowRespected: with no WINDOW_UPDATE from the peer we send
// exactly 256 KiB and stop; the Write then times out at its deadline; once
// the peer grants more, the rest follows (spec.md §4.5).
func TestProtoSendWindowRespected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		data := patternBytes(0, 300*kib)
		start := time.Now()
		st.SetWriteDeadline(start.Add(10 * time.Second))
		n, err := st.Write(data)
		if n != 256*kib || !errors.Is(err, yamux.ErrTimeout) {
			t.Fatalf("Write(300 KiB) = %d, %v; want %d, ErrTimeout", n, err, 256*kib)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("Write timed out after %v, want 10s", d)
		}
		got, sizes := p.readStreamData(1, 256*kib)
		for _, sz := range sizes {
			if sz > 64*kib {
				t.Fatalf("DATA frame of %d bytes, want <= %d", sz, 64*kib)
			}
		}
		p.expectNoFrame()

		st.SetWriteDeadline(time.Time{})
		p.writeWindowUpdate(0, 1, 64*kib)
		writeAll(t, st, data[n:])
		rest, _ := p.readStreamData(1, len(data)-n)
		if !bytes.Equal(append(got, rest...), data) {
			t.Fatal("peer received different bytes than written")
		}
		p.expectNoFrame()
	})
}

// TestProtoMaxMessageSize: no DATA frame carries more than MaxMessageSize,
// and large writes do use full-sized frames.
func TestProtoMaxMessageSize(t *testing.T) {
	for _, limit := range []int{0, 16 * kib, kib} {
		t.Run(fmt.Sprintf("MaxMessageSize=%d", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.MaxMessageSize = limit
				if limit == 0 {
					limit = 64 * kib // the default
				}
				p := newRawPeer(t, false, cfg)
				st := p.openOutbound(1)
				p.writeWindowUpdate(0, 1, 1024*kib)
				data := patternBytes(0, 1024*kib+5)
				done := make(chan error, 1)
				go func() {
					_, err := st.Write(data)
					done <- err
				}()
				got, sizes := p.readStreamData(1, len(data))
				if err := <-done; err != nil {
					t.Fatalf("Write: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatal("peer received different bytes than written")
				}
				largest := 0
				for _, sz := range sizes {
					largest = max(largest, sz)
				}
				if largest != limit {
					t.Fatalf("largest DATA frame %d bytes, want %d (MaxMessageSize)", largest, limit)
				}
			})
		})
	}
}

// TestProtoWindowUpdatesBatched: credit is returned only for bytes the
// application has read, and only once half the window can be returned, so
// reading 256 KiB in 1 KiB pieces produces a couple of WINDOW_UPDATEs, not
// 256 (spec.md §4.3).
func TestProtoWindowUpdatesBatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		data := patternBytes(0, 256*kib)
		var raw []byte
		for off := 0; off < len(data); off += 4 * kib {
			raw = append(raw, rawData(0, 1, data[off:off+4*kib])...)
		}
		p.writeRaw(raw)   // the whole window
		p.expectNoFrame() // nothing read yet: no credit

		var got []byte
		buf := make([]byte, kib)
		readKiB := func() {
			t.Helper()
			n, err := st.Read(buf)
			if err != nil || n != kib {
				t.Fatalf("Read = %d, %v; want %d, nil", n, err, kib)
			}
			got = append(got, buf[:n]...)
		}
		for range 127 {
			readKiB()
		}
		p.expectNoFrame() // 127 KiB read: below half the window
		readKiB()
		p.expectWindowUpdate(1, 0, 128*kib) // exactly half the window
		p.expectNoFrame()

		updates, credit := 1, uint32(128*kib)
		for range 128 {
			readKiB()
		}
		for _, f := range p.pendingFrames() {
			if f.h.Type() != frame.TypeWindowUpdate || f.h.StreamID() != 1 || f.h.Flags() != 0 {
				t.Fatalf("got frame %v, want WINDOW_UPDATE on stream 1", f)
			}
			updates++
			credit += f.h.Length()
		}
		if !bytes.Equal(got, data) {
			t.Fatal("read different bytes than the peer sent")
		}
		if updates > 4 {
			t.Fatalf("%d WINDOW_UPDATEs for 256 one-KiB reads, want a handful (<= 4)", updates)
		}
		if credit < 256*kib {
			t.Fatalf("credit returned %d, want >= %d: everything read must be credited", credit, 256*kib)
		}
		t.Logf("%d WINDOW_UPDATEs, %d bytes of credit", updates, credit)
	})
}

// TestProtoSYNDeltaCredited: a delta carried by the peer's SYN (or ACK) is
// added on top of the implicit 256 KiB (spec.md §4.2).
func TestProtoSYNDeltaCredited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeWindowUpdate(frame.FlagSYN, 1, 64*kib)
		st := p.acceptStream(1)
		data := patternBytes(0, 320*kib)
		st.SetWriteDeadline(time.Now().Add(time.Second))
		writeAll(t, st, data) // fits: 256 KiB + 64 KiB
		if got, _ := p.readStreamData(1, len(data)); !bytes.Equal(got, data) {
			t.Fatal("peer received different bytes than written")
		}
		if n, err := st.Write([]byte("x")); n != 0 || !errors.Is(err, yamux.ErrTimeout) {
			t.Fatalf("Write beyond the window = %d, %v; want 0, ErrTimeout", n, err)
		}
		p.expectNoFrame()
	})
}

// TestProtoInitialWindowAnnounced: an InitialStreamWindowSize above 256 KiB
// is announced as the excess in our SYN and ACK, and the peer may then use
// all of it, but not one byte more (spec.md §4.1).
func TestProtoInitialWindowAnnounced(t *testing.T) {
	const window = 1024 * kib
	cfg := func() *yamux.Config {
		c := testConfig()
		c.InitialStreamWindowSize = window
		return c
	}
	t.Run("ACK", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newRawPeer(t, true, cfg())
			p.writeWindowUpdate(frame.FlagSYN, 1, 0)
			if _, err := p.S.AcceptStream(); err != nil {
				t.Fatal(err)
			}
			p.expectWindowUpdate(1, frame.FlagACK, window-256*kib)
			p.writeData(0, 1, patternBytes(0, window)) // the whole window: legal
			p.expectNoFrame()
			p.writeFrame(frame.TypeData, 0, 1, 1) // one byte more
			p.expectProtocolError(yamux.ErrRecvWindowExceeded)
		})
	})
	t.Run("SYN", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newRawPeer(t, false, cfg())
			if _, err := p.S.OpenStream(); err != nil {
				t.Fatal(err)
			}
			p.expectWindowUpdate(1, frame.FlagSYN, window-256*kib)
			p.writeData(frame.FlagACK, 1, patternBytes(0, window))
			p.expectNoFrame()
			p.writeFrame(frame.TypeData, 0, 1, 1)
			p.expectProtocolError(yamux.ErrRecvWindowExceeded)
		})
	})
}

// TestProtoCloseReadReturnsCredit: after CloseRead, data the peer sends is
// discarded and its credit returned, so the peer is never stalled by a
// reader that went away (spec.md §3.4, §4.3).
func TestProtoCloseReadReturnsCredit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		st.CloseRead()
		p.expectNoFrame() // CloseRead is local
		// Each round the peer sends all the credit it has: first the
		// initial window, then whatever came back.
		credit := 256 * kib
		for round := range 4 {
			p.writeData(0, 1, patternBytes(0, credit))
			credit = 0
			for _, f := range p.pendingFrames() {
				if f.h.Type() != frame.TypeWindowUpdate || f.h.StreamID() != 1 || f.h.Flags() != 0 {
					t.Fatalf("got frame %v, want WINDOW_UPDATE on stream 1", f)
				}
				credit += int(f.h.Length())
			}
			if credit < 128*kib {
				t.Fatalf("round %d: %d bytes of credit returned for discarded data, want >= %d", round, credit, 128*kib)
			}
		}
		if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamClosed) {
			t.Fatalf("Read after CloseRead: got %v, want ErrStreamClosed", err)
		}
		writeAll(t, st, []byte("write side open"))
		p.expectData(1, 0, []byte("write side open"))
	})
}

// TestWindowShareAmongGrowingStreams (spec.md §4.3, fair share): a busy
// stream among many idle ones grows its window to MaxStreamWindowSize, but
// streams busy together share MaxSessionReceiveBuffer, so none grows past
// the initial window plus its share; when they end, the session's count
// of busy streams is back to zero.
func TestWindowShareAmongGrowingStreams(t *testing.T) {
	const budget = 16 << 20
	cfg := func() *yamux.Config {
		c := testConfig()
		c.MaxSessionReceiveBuffer = budget
		c.MaxStreamWindowSize = 16 << 20
		c.EnableKeepAlive = false
		return c
	}
	// send writes n bytes on each of the streams at once and reads them
	// on the other side.
	send := func(pairs [][2]*yamux.Stream, n int) {
		var wg sync.WaitGroup
		for _, p := range pairs {
			wg.Add(2)
			go func() { defer wg.Done(); p[0].Write(make([]byte, n)) }()
			go func() { defer wg.Done(); io.ReadFull(p[1], make([]byte, n)) }()
		}
		wg.Wait()
	}
	open := func(t *testing.T, p sessions, n int) [][2]*yamux.Stream {
		var pairs [][2]*yamux.Stream
		for range n {
			c, s := streamPair(t, p)
			pairs = append(pairs, [2]*yamux.Stream{c, s})
		}
		return pairs
	}
	t.Run("one busy among idle ones", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startSessions(t, memPair, cfg(), cfg())
			open(t, p, 200) // idle
			busy := open(t, p, 1)
			send(busy, 64<<20)
			if w := yamux.RecvWindowSize(busy[0][1]); w < 8<<20 {
				t.Fatalf("the busy stream's window grew to %d, want several MiB (idle streams do not share the budget)", w)
			}
		})
	})
	t.Run("busy together", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startSessions(t, memPair, cfg(), cfg())
			const streams = 16
			pairs := open(t, p, streams)
			// Every stream returns credit once (half a window read): from
			// then on all 16 count as moving data.
			send(pairs, yamux.InitialWindow)
			if n := yamux.BusyStreams(p.server); n != streams {
				t.Fatalf("%d streams count as busy after each moved a window, want %d", n, streams)
			}
			send(pairs, 16<<20)
			share := uint32(yamux.InitialWindow + budget/streams)
			for _, pr := range pairs {
				if w := yamux.RecvWindowSize(pr[1]); w > share {
					t.Errorf("stream %d's window grew to %d, want at most %d (its share)", pr[1].StreamID(), w, share)
				}
			}
			for _, pr := range pairs {
				pr[0].Close()
				pr[1].Close()
			}
			// With no Read waiting, the FINs are read within the read
			// role's grace (spec.md §4.4).
			time.Sleep(yamux.IdleGrace)
			synctest.Wait()
			if n := yamux.BusyStreams(p.server); n != 0 {
				t.Fatalf("%d streams still count as busy after all ended, want 0", n)
			}
		})
	})
}
