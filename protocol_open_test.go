package yamux_test

// Wire transcripts for spec.md §3.1–3.2: opening, accepting and refusing
// streams, the ACK and accept backlogs, the open timeout. The peer is the
// raw-frame peer of rawpeer_test.go.

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestProtoOpenDoesNotWaitForACK: OpenStream sends WINDOW_UPDATE|SYN at
// once, returns without an ACK, and data written before any ACK reaches the
// peer (spec.md §3.1).
func TestProtoOpenDoesNotWaitForACK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st, err := p.S.OpenStream()
		if err != nil {
			t.Fatalf("OpenStream: %v", err)
		}
		p.expectSYN(1)
		writeAll(t, st, []byte("before any ACK"))
		p.expectData(1, 0, []byte("before any ACK"))
		p.expectNoFrame()

		// The ACK may come late, even on the peer's first DATA.
		p.writeData(frame.FlagACK, 1, []byte("ack+reply"))
		expectRead(t, st, "ack+reply")
		expectState(t, st, yamux.StateOpen)
	})
}

// TestProtoAcceptSendsACK: an inbound SYN is answered with
// WINDOW_UPDATE|ACK delta 0 when the application accepts the stream, not
// before (spec.md §3.2).
func TestProtoAcceptSendsACK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil) // our session is the server
		p.writeWindowUpdate(frame.FlagSYN, 1, 0)
		p.expectNoFrame()
		st := p.acceptStream(1) // expects WINDOW_UPDATE|ACK stream 1 delta 0
		p.expectNoFrame()
		echoRaw(t, p, st, "hi")
	})
}

// TestProtoOutOfOrderSYN: SYN ids need not increase (spec.md §3.2).
func TestProtoOutOfOrderSYN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeRaw(bytes.Join([][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 7, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 5, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 3, 0),
		}, nil))
		streams := []*yamux.Stream{p.acceptStream(7), p.acceptStream(5), p.acceptStream(3)}
		for _, st := range streams {
			echoRaw(t, p, st, "ok")
		}
	})
}

// TestProtoAcceptBacklog: with AcceptBacklog 4, the fifth SYN nobody has
// accepted is refused with RST; accepting frees room.
func TestProtoAcceptBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.AcceptBacklog = 4
		p := newRawPeer(t, true, cfg)
		var raw []byte
		for id := uint32(1); id <= 9; id += 2 {
			raw = append(raw, rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, id, 0)...)
		}
		p.writeRaw(raw)
		p.expectRST(9)
		p.expectNoFrame()
		for id := uint32(1); id <= 7; id += 2 {
			p.acceptStream(id)
		}
		p.openInbound(11) // room again
		p.expectNoFrame()
	})
}

// TestProtoMaxIncomingStreams: with MaxIncomingStreams 3, a fourth live
// inbound stream is refused with RST even though it would be accepted;
// when one ends and the application has seen it, a new one is admitted.
func TestProtoMaxIncomingStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxIncomingStreams = 3
		p := newRawPeer(t, true, cfg)
		st1 := p.openInbound(1)
		p.openInbound(3)
		p.openInbound(5)
		p.writeWindowUpdate(frame.FlagSYN, 7, 0)
		p.expectRST(7)
		p.expectNoFrame()

		p.writeWindowUpdate(frame.FlagRST, 1, 0)
		synctest.Wait()
		expectState(t, st1, yamux.StateReset)
		// The reset stream keeps its slot until the application has seen
		// the reset (rapid-reset defence, spec.md §3.2 item 3): still refused.
		p.writeWindowUpdate(frame.FlagSYN, 9, 0)
		p.expectRST(9)
		if _, err := st1.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamReset) {
			t.Fatalf("Read on the reset stream = %v, want ErrStreamReset", err)
		}
		st11 := p.openInbound(11)
		echoRaw(t, p, st11, "admitted")
	})
}

// TestProtoAckBacklog: at most 256 of our streams may await their ACK; the
// 257th OpenStreamContext waits, gives up when its context ends, and
// proceeds once the peer ACKs one stream.
func TestProtoAckBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		for i := uint32(0); i < 256; i++ {
			st, err := p.S.OpenStream()
			if err != nil {
				t.Fatalf("OpenStream #%d: %v", i+1, err)
			}
			if st.StreamID() != 2*i+1 {
				t.Fatalf("OpenStream #%d: id %d, want %d", i+1, st.StreamID(), 2*i+1)
			}
		}
		for i := uint32(0); i < 256; i++ {
			p.expectSYN(2*i + 1)
		}

		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := p.S.OpenStreamContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("257th OpenStreamContext: got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("257th OpenStreamContext gave up after %v, want 1s", d)
		}
		p.expectNoFrame() // no SYN for the open that gave up

		type result struct {
			st  *yamux.Stream
			err error
		}
		res := make(chan result, 1)
		go func() {
			st, err := p.S.OpenStreamContext(context.Background())
			res <- result{st, err}
		}()
		synctest.Wait()
		select {
		case r := <-res:
			t.Fatalf("OpenStream returned (%v, %v) with 256 streams unacknowledged, want it to wait", r.st, r.err)
		default:
		}
		p.writeWindowUpdate(frame.FlagACK, 1, 0)
		r := <-res
		if r.err != nil || r.st.StreamID() != 513 {
			t.Fatalf("OpenStream after an ACK: got %v, %v; want stream 513", r.st, r.err)
		}
		p.expectSYN(513)
	})
}

// TestProtoStreamOpenTimeout: a stream whose SYN is never ACKed is reset
// after StreamOpenTimeout (the peer sees RST); the session lives on.
func TestProtoStreamOpenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StreamOpenTimeout = 5 * time.Second
		p := newRawPeer(t, false, cfg)
		st, err := p.S.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p.expectSYN(1)
		p.expectRST(1)
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("RST after %v, want 5s (StreamOpenTimeout)", d)
		}
		_, err = st.Write([]byte("x"))
		expectStreamError(t, err, 1, 0, false)
		// A late ACK is for a stream that no longer exists: ignored.
		p.writeWindowUpdate(frame.FlagACK, 1, 0)
		p.expectNoFrame()
		p.expectAlive()
		echoRaw(t, p, p.openOutbound(3), "session lives on")
	})
}

// TestProtoResetBeforeAccept: a stream the peer resets before the
// application accepts it (SYN then RST, or SYN+RST on one frame) is still
// handed out by AcceptStream, reports the reset, and gets no ACK
// (spec.md §3.2).
func TestProtoResetBeforeAccept(t *testing.T) {
	tests := []struct {
		name string
		raw  [][]byte
	}{
		{"SYN then RST", [][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagRST, 1, 0x1005),
		}},
		{"SYN+RST on one WINDOW_UPDATE", [][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN|frame.FlagRST, 1, 0x1005),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, nil)
				p.writeRaw(bytes.Join(tt.raw, nil))
				synctest.Wait() // the RST is processed before the accept
				st, err := p.S.AcceptStream()
				if err != nil {
					t.Fatalf("AcceptStream: %v", err)
				}
				_, err = st.Read(make([]byte, 1))
				expectStreamError(t, err, 1, 0x1005, true)
				p.expectNoFrame() // no ACK, no RST back
				echoRaw(t, p, p.openInbound(3), "next stream")
			})
		})
	}
}

// TestProtoStrayACKIgnored: an ACK for a stream we did not open, or a
// second ACK, is ignored (spec.md §3.2).
func TestProtoStrayACKIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		in := p.openInbound(1)
		p.writeWindowUpdate(frame.FlagACK, 1, 0) // the peer opened 1 itself
		out, err := p.S.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		p.expectSYN(2)
		p.writeWindowUpdate(frame.FlagACK, 2, 0)
		p.writeWindowUpdate(frame.FlagACK, 2, 0) // duplicate
		p.expectNoFrame()
		echoRaw(t, p, in, "in")
		echoRaw(t, p, out, "out")
	})
}

// TestProtoSYNForClosedID: a SYN for an id that is no longer live (both
// FINs exchanged) opens a new stream; only a live id is a duplicate
// (spec.md §3.2).
func TestProtoSYNForClosedID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		expectEOF(t, st)
		st.CloseWrite()
		p.expectFIN(1)
		expectState(t, st, yamux.StateFullyClosed)
		again := p.openInbound(1)
		echoRaw(t, p, again, "new stream, old id")
	})
}
