package yamux_test

// Wire transcripts for spec.md §3.3–3.7: flags on DATA and WINDOW_UPDATE,
// half-close and FIN, reset and its code, frames for unknown or closed
// streams, the close timeout. The peer is the raw-frame peer of
// rawpeer_test.go.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestProtoFINOnOwnWindowUpdate: CloseWrite sends FIN on its own
// zero-length WINDOW_UPDATE after every DATA frame already written, never
// as a flag on DATA (spec.md §3.4).
func TestProtoFINOnOwnWindowUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		// Queue DATA and FIN while our writes are stalled, so they leave
		// together in one batch.
		p.oursMem().BlockWrites(true)
		writeAll(t, st, []byte("abc"))
		writeAll(t, st, []byte("def"))
		if err := st.CloseWrite(); err != nil {
			t.Fatalf("CloseWrite: %v", err)
		}
		p.oursMem().BlockWrites(false)
		p.expectData(1, 0, []byte("abc"))
		p.expectData(1, 0, []byte("def"))
		p.expectFIN(1)
		p.expectNoFrame()

		// A second CloseWrite sends nothing; Write now fails.
		if err := st.CloseWrite(); err != nil {
			t.Fatalf("second CloseWrite: %v", err)
		}
		if _, err := st.Write([]byte("x")); !errors.Is(err, yamux.ErrStreamClosed) {
			t.Fatalf("Write after CloseWrite: got %v, want ErrStreamClosed", err)
		}
		p.expectNoFrame()
		expectState(t, st, yamux.StateHalfClosedSend)
	})
}

// TestProtoResetWithErrorSendsCode: our RST is WINDOW_UPDATE|RST with
// Length = the error code (spec.md §3.5).
func TestProtoResetWithErrorSendsCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		if err := st.ResetWithError(0x1005); err != nil {
			t.Fatalf("ResetWithError: %v", err)
		}
		p.expectRSTCode(1, 0x1005)
		_, err := st.Read(make([]byte, 1))
		expectStreamError(t, err, 1, 0x1005, false)
		expectState(t, st, yamux.StateReset)

		// Plain Reset sends code 0.
		st3 := p.openOutbound(3)
		st3.Reset()
		p.expectRST(3)
		p.expectNoFrame()
	})
}

// TestProtoFlagsOnDATA: SYN, ACK and FIN are honoured on DATA frames as on
// WINDOW_UPDATE, in the order SYN, payload, FIN (spec.md §3.3), as sent by
// lazy openers such as rust-yamux. Each row's frames are written
// coalesced, in one write, before the application accepts.
func TestProtoFlagsOnDATA(t *testing.T) {
	syn, fin := frame.FlagSYN, frame.FlagFIN
	tests := []struct {
		name string
		raw  [][]byte
		want string
		eof  bool
	}{
		{"SYN on DATA", [][]byte{rawData(syn, 1, []byte("hello"))}, "hello", false},
		{"SYN+FIN on one DATA", [][]byte{rawData(syn|fin, 1, []byte("hello"))}, "hello", true},
		{"SYN+FIN on empty DATA", [][]byte{rawData(syn|fin, 1, nil)}, "", true},
		{"SYN on DATA, FIN on last DATA", [][]byte{
			rawData(syn, 1, []byte("ab")), rawData(0, 1, []byte("cd")), rawData(fin, 1, []byte("ef")),
		}, "abcdef", true},
		{"SYN on WINDOW_UPDATE, FIN on DATA", [][]byte{
			rawEncode(frame.TypeWindowUpdate, syn, 1, 0), rawData(fin, 1, []byte("xyz")),
		}, "xyz", true},
		{"SYN on DATA, FIN on WINDOW_UPDATE", [][]byte{
			rawData(syn, 1, []byte("xyz")), rawEncode(frame.TypeWindowUpdate, fin, 1, 0),
		}, "xyz", true},
		{"undefined flag bits ignored", [][]byte{rawData(syn|0x10|0x8000, 1, []byte("odd"))}, "odd", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, nil)
				p.writeRaw(bytes.Join(tt.raw, nil))
				st := p.acceptStream(1)
				expectRead(t, st, tt.want)
				if tt.eof {
					expectEOF(t, st)
					expectState(t, st, yamux.StateHalfClosedRecv)
				} else {
					expectNoEOF(t, st)
					expectState(t, st, yamux.StateOpen)
				}
				// Either way our direction still works.
				writeAll(t, st, []byte("reply"))
				p.expectData(1, 0, []byte("reply"))
			})
		})
	}
}

// TestProtoACKOnDATA: the peer's ACK may ride on its first DATA frame; it
// completes our open, so StreamOpenTimeout does not reset the stream.
func TestProtoACKOnDATA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StreamOpenTimeout = 5 * time.Second
		p := newRawPeer(t, false, cfg)
		st, err := p.S.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		p.expectSYN(1)
		p.writeData(frame.FlagACK, 1, []byte("hi"))
		expectRead(t, st, "hi")
		time.Sleep(2 * cfg.StreamOpenTimeout)
		p.expectNoFrame() // no RST: the open completed
		expectState(t, st, yamux.StateOpen)
		echoRaw(t, p, st, "still open")
	})
}

// TestProtoCoalescedFrames: many frames for several streams and the
// session, written in one piece, are each handled.
func TestProtoCoalescedFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeRaw(bytes.Join([][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0),
			rawData(0, 1, []byte("ab")),
			rawData(frame.FlagSYN|frame.FlagFIN, 3, []byte("x")),
			rawEncode(frame.TypePing, frame.FlagSYN, 0, 42),
			rawData(0, 1, []byte("cd")),
			rawEncode(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0),
		}, nil))
		p.expectPong(42) // answered by the receive loop, before any accept
		st1 := p.acceptStream(1)
		st3 := p.acceptStream(3)
		expectRead(t, st1, "abcd")
		expectEOF(t, st1)
		expectRead(t, st3, "x")
		expectEOF(t, st3)
		p.expectNoFrame()
	})
}

// TestProtoFINOnWindowUpdate: the peer half-closes with WINDOW_UPDATE|FIN; our
// Read drains the data and returns io.EOF, the stream is HalfClosedRecv and
// we can still write.
func TestProtoFINOnWindowUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeData(0, 1, []byte("last words"))
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)

		got, err := io.ReadAll(st)
		if err != nil || string(got) != "last words" {
			t.Fatalf("ReadAll = %q, %v; want %q, nil", got, err, "last words")
		}
		expectEOF(t, st)
		expectState(t, st, yamux.StateHalfClosedRecv)

		writeAll(t, st, []byte("still writing"))
		p.expectData(1, 0, []byte("still writing"))
		st.CloseWrite()
		p.expectFIN(1)
		expectState(t, st, yamux.StateFullyClosed)
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d after both FINs, want 0", n)
		}
		p.expectNoFrame()
	})
}

// TestProtoRSTOnWindowUpdate: WINDOW_UPDATE|RST fails a blocked Read and later
// Writes with a remote *StreamError; nothing is sent back and the session
// lives on.
func TestProtoRSTOnWindowUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		readErr := make(chan error, 1)
		go func() {
			_, err := st.Read(make([]byte, 16))
			readErr <- err
		}()
		synctest.Wait() // the Read is blocked
		p.writeWindowUpdate(frame.FlagRST, 1, 0)

		expectStreamError(t, <-readErr, 1, 0, true)
		_, err := st.Write([]byte("x"))
		expectStreamError(t, err, 1, 0, true)
		expectState(t, st, yamux.StateReset)
		p.expectNoFrame()

		st3 := p.openInbound(3)
		echoRaw(t, p, st3, "session lives on")
		p.expectAlive()
	})
}

// TestProtoRSTCodeNotCredited: the Length of WINDOW_UPDATE|RST is an error
// code reported in StreamError.Code and never added to the send window
// (spec.md §3.5): 0xFFFFFFFF would overflow the window and be a protocol
// error if it were.
func TestProtoRSTCodeNotCredited(t *testing.T) {
	for _, code := range []uint32{0x1005, 0xFFFFFFFF} {
		t.Run(fmt.Sprintf("code=%#x", code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, false, nil)
				st := p.openOutbound(1)
				p.writeWindowUpdate(frame.FlagRST, 1, code)
				synctest.Wait()
				_, err := st.Write([]byte("x"))
				expectStreamError(t, err, 1, code, true)
				_, err = st.Read(make([]byte, 1))
				expectStreamError(t, err, 1, code, true)
				p.expectAlive() // no GO_AWAY, no RST back
				p.expectNoFrame()
			})
		})
	}
}

// TestProtoUnknownStreamFramesIgnored: DATA and WINDOW_UPDATE without SYN
// for ids that were never opened are ignored whatever their flags: no
// reply, no state, DATA bodies consumed (spec.md §3.7).
func TestProtoUnknownStreamFramesIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeRaw(bytes.Join([][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagACK, 5, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagFIN, 7, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagRST, 9, 0),
			rawData(0, 11, []byte("body of an unknown stream")),
			rawEncode(frame.TypeWindowUpdate, 0, 13, 1000),
			rawData(frame.FlagFIN, 15, []byte("x")),
			rawData(frame.FlagRST, 17, []byte("y")),
			rawData(frame.FlagACK, 19, nil),
			rawEncode(frame.TypeWindowUpdate, 0, 2, 5),     // our parity, never opened
			rawData(0, 21, patternBytes(0, 256*kib)),       // a whole window's worth
			rawEncode(frame.TypeData, 0, 23, 16*1024*1024), // exactly MaxStreamWindowSize: legal
			make([]byte, 16*1024*1024),                     // its body
		}, nil)) // one write: a pong the raw peer answers in between would land inside the body
		p.expectNoFrame()
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d, want 0: ignored frames must create no state", n)
		}
		p.expectAlive()
		// Framing is intact after the discarded bodies.
		st := p.openInbound(1)
		echoRaw(t, p, st, "framing intact")
	})
}

// TestProtoClosedStreamFramesIgnored: frames for a stream that is already
// Reset are ignored; in particular we send no second RST.
func TestProtoClosedStreamFramesIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		st.Reset()
		p.expectRST(1)
		p.writeRaw(bytes.Join([][]byte{
			rawData(0, 1, []byte("in flight")),
			rawEncode(frame.TypeWindowUpdate, 0, 1, 100),
			rawEncode(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0),
			rawEncode(frame.TypeWindowUpdate, frame.FlagRST, 1, 0),
		}, nil))
		p.expectNoFrame()
		p.expectAlive()
	})
}

// TestProtoLateWindowUpdateAfterFIN: a WINDOW_UPDATE after the peer's FIN
// is tolerated and still credits our window; after both FINs the stream is
// gone and a further WINDOW_UPDATE is ignored.
func TestProtoLateWindowUpdateAfterFIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		expectEOF(t, st)
		p.writeWindowUpdate(0, 1, 1000)
		p.expectNoFrame()
		expectState(t, st, yamux.StateHalfClosedRecv)

		// 256 KiB + 1000 bytes fit without any further update.
		data := patternBytes(0, 256*kib+1000)
		st.SetWriteDeadline(time.Now().Add(time.Minute))
		writeAll(t, st, data)
		if got, _ := p.readStreamData(1, len(data)); !bytes.Equal(got, data) {
			t.Fatal("peer received different bytes than written")
		}
		p.expectNoFrame()

		st.CloseWrite()
		p.expectFIN(1)
		expectState(t, st, yamux.StateFullyClosed)
		p.writeWindowUpdate(0, 1, 1000)
		p.expectNoFrame()
		p.expectAlive()
	})
}

// TestProtoDuplicateFINIgnored: a second FIN, on WINDOW_UPDATE or on an
// empty DATA, changes nothing and draws no reply.
func TestProtoDuplicateFINIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeData(frame.FlagFIN, 1, []byte("bye"))
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		p.writeData(frame.FlagFIN, 1, nil)
		p.expectNoFrame()
		expectRead(t, st, "bye")
		expectEOF(t, st)
		expectState(t, st, yamux.StateHalfClosedRecv)
		writeAll(t, st, []byte("still here"))
		p.expectData(1, 0, []byte("still here"))
		p.expectAlive()
	})
}

// TestProtoDATAAfterFINResetsStream: DATA after the peer's FIN resets that
// stream only (we send RST); the session and other streams carry on.
func TestProtoDATAAfterFINResetsStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st1 := p.openInbound(1)
		st3 := p.openInbound(3)
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		p.writeData(0, 1, []byte("late"))
		p.expectRST(1)
		_, err := st1.Read(make([]byte, 8))
		expectStreamError(t, err, 1, 0, false)
		expectState(t, st1, yamux.StateReset)
		p.expectNoFrame()

		echoRaw(t, p, st3, "unaffected")
		p.expectAlive()
	})
}

// TestProtoStreamCloseTimeout: after Close, a stream whose peer never sends
// FIN is reset after StreamCloseTimeout; one whose FIN arrives in time is
// not.
func TestProtoStreamCloseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StreamCloseTimeout = time.Minute
		p := newRawPeer(t, true, cfg)
		st1 := p.openInbound(1)
		st3 := p.openInbound(3)
		start := time.Now()
		st1.Close()
		st3.Close()
		p.expectFIN(1)
		p.expectFIN(3)
		time.Sleep(30 * time.Second)
		p.writeWindowUpdate(frame.FlagFIN, 3, 0) // in time
		p.expectRST(1)
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("RST after %v, want 1m (StreamCloseTimeout)", d)
		}
		expectState(t, st1, yamux.StateReset)
		expectState(t, st3, yamux.StateFullyClosed)
		time.Sleep(2 * time.Minute)
		p.expectNoFrame() // no RST for stream 3
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d, want 0", n)
		}
		p.expectAlive()
	})
}
