package yamux_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// Wire-level behaviour of our session against a scripted raw peer
// (rawpeer_test.go). Each test is a transcript: what the peer writes, what
// our session must send back, and what the application observes.

const protoKiB = 1024

// protoPattern returns n bytes that differ from position to position, so a
// lost, duplicated or reordered frame shows up.
func protoPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// protoReadN reads exactly n bytes from st.
func protoReadN(t testing.TB, st *yamux.Stream, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(st, b); err != nil {
		t.Fatalf("reading %d bytes from stream %d: %v", n, st.StreamID(), err)
	}
	return b
}

// protoExpectRead reads len(want) bytes from st and compares them.
func protoExpectRead(t testing.TB, st *yamux.Stream, want string) {
	t.Helper()
	if got := protoReadN(t, st, len(want)); string(got) != want {
		t.Fatalf("stream %d read %q, want %q", st.StreamID(), got, want)
	}
}

// protoExpectNoEOF checks that st has nothing to read and is not at EOF: a
// Read with a short deadline times out.
func protoExpectNoEOF(t testing.TB, st *yamux.Stream) {
	t.Helper()
	st.SetReadDeadline(time.Now().Add(time.Second))
	defer st.SetReadDeadline(time.Time{})
	if n, err := st.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want a timeout (no data, no EOF)", n, err)
	}
}

// protoExpectEOF checks that Read returns 0, io.EOF.
func protoExpectEOF(t testing.TB, st *yamux.Stream) {
	t.Helper()
	if n, err := st.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 0, io.EOF", n, err)
	}
}

// protoExpectState checks st.State().
func protoExpectState(t testing.TB, st *yamux.Stream, want yamux.StreamState) {
	t.Helper()
	if got := st.State(); got != want {
		t.Fatalf("stream %d State() = %v, want %v", st.StreamID(), got, want)
	}
}

// protoExpectStreamError checks that err is a reset of stream id with the
// given code and origin.
func protoExpectStreamError(t testing.TB, err error, id, code uint32, remote bool) {
	t.Helper()
	if !errors.Is(err, yamux.ErrStreamReset) {
		t.Fatalf("got error %v, want one matching ErrStreamReset", err)
	}
	var se *yamux.StreamError
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want a *yamux.StreamError", err, err)
	}
	if se.StreamID != id || se.Code != code || se.Remote != remote {
		t.Fatalf("StreamError = {StreamID: %d, Code: %#x, Remote: %v}, want {%d, %#x, %v}",
			se.StreamID, se.Code, se.Remote, id, code, remote)
	}
}

// protoWrite writes b to st and fails on a short write or an error.
func protoWrite(t testing.TB, st *yamux.Stream, b []byte) {
	t.Helper()
	if n, err := st.Write(b); n != len(b) || err != nil {
		t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", len(b), n, err, len(b))
	}
}

// protoEcho has the peer send msg on stream id, our application read it and
// write it back, and the peer receive it: the stream works both ways.
func protoEcho(t testing.TB, p *rawPeer, st *yamux.Stream, msg string) {
	t.Helper()
	p.writeData(0, st.StreamID(), []byte(msg))
	protoExpectRead(t, st, msg)
	protoWrite(t, st, []byte(msg))
	p.expectData(st.StreamID(), 0, []byte(msg))
}

// --- What we send -------------------------------------------------------

// TestProtoHeaderBytes checks the exact 12-byte encodings of spec.md §2.5
// on frames our session produces.
func TestProtoHeaderBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil) // our session is the client
		want := func(got frame.Header, want ...byte) {
			t.Helper()
			if !bytes.Equal(got[:], want) {
				t.Fatalf("header bytes % x, want % x", got[:], want)
			}
		}
		st, err := p.S.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		h, _ := p.readFrame()
		want(h, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0) // WINDOW_UPDATE|SYN stream 1, delta 0

		p.writeWindowUpdate(frame.FlagACK, 1, 0)
		protoWrite(t, st, []byte("hello"))
		h, body := p.readFrame()
		want(h, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5) // DATA stream 1, 5 bytes
		if string(body) != "hello" {
			t.Fatalf("DATA body %q, want %q", body, "hello")
		}

		st.CloseWrite()
		h, _ = p.readFrame()
		want(h, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0) // WINDOW_UPDATE|FIN stream 1

		p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 7)
		h, _ = p.readFrame()
		want(h, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7) // PING|ACK value 7

		p.S.CloseWithError(yamux.CodeProtocolError)
		h, _ = p.readFrame()
		want(h, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) // GO_AWAY protocol error
	})
}

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
		protoWrite(t, st, []byte("before any ACK"))
		p.expectData(1, 0, []byte("before any ACK"))
		p.expectNoFrame()

		// The ACK may come late, even on the peer's first DATA.
		p.writeData(frame.FlagACK, 1, []byte("ack+reply"))
		protoExpectRead(t, st, "ack+reply")
		protoExpectState(t, st, yamux.StateOpen)
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
		protoEcho(t, p, st, "hi")
	})
}

// TestProtoFINOnOwnWindowUpdate: CloseWrite sends FIN on its own
// zero-length WINDOW_UPDATE after every DATA frame already written, never
// as a flag on DATA (spec.md §3.4).
func TestProtoFINOnOwnWindowUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		// Queue DATA and FIN while our writes are stalled, so they leave
		// together in one batch.
		p.Ours.BlockWrites(true)
		protoWrite(t, st, []byte("abc"))
		protoWrite(t, st, []byte("def"))
		if err := st.CloseWrite(); err != nil {
			t.Fatalf("CloseWrite: %v", err)
		}
		p.Ours.BlockWrites(false)
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
		protoExpectState(t, st, yamux.StateHalfClosedSend)
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
		protoExpectStreamError(t, err, 1, 0x1005, false)
		protoExpectState(t, st, yamux.StateReset)

		// Plain Reset sends code 0.
		st3 := p.openOutbound(3)
		st3.Reset()
		p.expectRST(3)
		p.expectNoFrame()
	})
}

// --- Flags on DATA and WINDOW_UPDATE ------------------------------------

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
				protoExpectRead(t, st, tt.want)
				if tt.eof {
					protoExpectEOF(t, st)
					protoExpectState(t, st, yamux.StateHalfClosedRecv)
				} else {
					protoExpectNoEOF(t, st)
					protoExpectState(t, st, yamux.StateOpen)
				}
				// Either way our direction still works.
				protoWrite(t, st, []byte("reply"))
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
		protoExpectRead(t, st, "hi")
		time.Sleep(2 * cfg.StreamOpenTimeout)
		p.expectNoFrame() // no RST: the open completed
		protoExpectState(t, st, yamux.StateOpen)
		protoEcho(t, p, st, "still open")
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
		protoExpectRead(t, st1, "abcd")
		protoExpectEOF(t, st1)
		protoExpectRead(t, st3, "x")
		protoExpectEOF(t, st3)
		p.expectNoFrame()
	})
}

// --- Seed tests: FIN and RST on WINDOW_UPDATE ---------------------------

// TestFINOnWindowUpdate: the peer half-closes with WINDOW_UPDATE|FIN; our
// Read drains the data and returns io.EOF, the stream is HalfClosedRecv and
// we can still write.
func TestFINOnWindowUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeData(0, 1, []byte("last words"))
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)

		got, err := io.ReadAll(st)
		if err != nil || string(got) != "last words" {
			t.Fatalf("ReadAll = %q, %v; want %q, nil", got, err, "last words")
		}
		protoExpectEOF(t, st)
		protoExpectState(t, st, yamux.StateHalfClosedRecv)

		protoWrite(t, st, []byte("still writing"))
		p.expectData(1, 0, []byte("still writing"))
		st.CloseWrite()
		p.expectFIN(1)
		protoExpectState(t, st, yamux.StateFullyClosed)
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d after both FINs, want 0", n)
		}
		p.expectNoFrame()
	})
}

// TestRSTOnWindowUpdate: WINDOW_UPDATE|RST fails a blocked Read and later
// Writes with a remote *StreamError; nothing is sent back and the session
// lives on.
func TestRSTOnWindowUpdate(t *testing.T) {
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

		protoExpectStreamError(t, <-readErr, 1, 0, true)
		_, err := st.Write([]byte("x"))
		protoExpectStreamError(t, err, 1, 0, true)
		protoExpectState(t, st, yamux.StateReset)
		p.expectNoFrame()

		st3 := p.openInbound(3)
		protoEcho(t, p, st3, "session lives on")
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
				protoExpectStreamError(t, err, 1, code, true)
				_, err = st.Read(make([]byte, 1))
				protoExpectStreamError(t, err, 1, code, true)
				p.expectAlive() // no GO_AWAY, no RST back
				p.expectNoFrame()
			})
		})
	}
}

// --- Protocol errors ----------------------------------------------------

// TestProtoErrors: each peer violation of spec.md §7.1 ends the session
// with GO_AWAY(1) followed by the connection closing, and Err() matches
// ErrProtocol, ErrSessionShutdown and the specific cause. Frames whose
// length is the violation are written as a bare header: the session must
// judge from the header without waiting for a body.
func TestProtoErrors(t *testing.T) {
	const maxWindow = 16 * 1024 * 1024 // DefaultConfig().MaxStreamWindowSize
	badVersion := frame.New(frame.TypePing, frame.FlagSYN, 0, 1)
	badVersion[0] = 1
	tests := []struct {
		name     string
		asClient bool // raw peer role; false: our session is the client
		setup    func(t testing.TB, p *rawPeer)
		raw      [][]byte
		cause    error
	}{
		{name: "version 1", asClient: true, raw: [][]byte{badVersion[:]}, cause: yamux.ErrInvalidVersion},
		{name: "unknown type 4", asClient: true,
			raw: [][]byte{rawEncode(frame.Type(4), 0, 0, 0)}, cause: yamux.ErrInvalidMsgType},
		{name: "SYN on stream 0", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 0, 0)}},
		{name: "DATA|SYN on stream 0", asClient: true,
			raw: [][]byte{rawData(frame.FlagSYN, 0, []byte("abc"))}},
		{name: "DATA on stream 0", asClient: true, raw: [][]byte{rawData(0, 0, []byte("abc"))}},
		{name: "WINDOW_UPDATE on stream 0", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeWindowUpdate, 0, 0, 10)}},
		{name: "SYN with even id from client", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 2, 0)}},
		{name: "SYN with odd id from server", asClient: false,
			raw: [][]byte{rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)}},
		{name: "duplicate SYN, not yet accepted", asClient: true, raw: [][]byte{
			rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0),
			rawData(frame.FlagSYN, 1, []byte("again")),
		}},
		{name: "duplicate SYN of an accepted stream", asClient: true,
			setup: func(t testing.TB, p *rawPeer) { p.openInbound(1) },
			raw:   [][]byte{rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)}},
		{name: "DATA beyond the initial window", asClient: true,
			setup: func(t testing.TB, p *rawPeer) { p.writeWindowUpdate(frame.FlagSYN, 1, 0) },
			raw:   [][]byte{rawEncode(frame.TypeData, 0, 1, 256*protoKiB+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "DATA beyond the remaining window", asClient: true,
			setup: func(t testing.TB, p *rawPeer) {
				p.writeWindowUpdate(frame.FlagSYN, 1, 0)
				p.writeData(0, 1, protoPattern(200*protoKiB))
			},
			raw: [][]byte{rawEncode(frame.TypeData, 0, 1, 56*protoKiB+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "DATA|SYN body above 256 KiB", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeData, frame.FlagSYN, 1, 256*protoKiB+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "send window overflow", asClient: false,
			setup: func(t testing.TB, p *rawPeer) {
				p.openOutbound(1)
				// 256 KiB + 0xFFFBFFFF = 2^32-1 exactly: legal.
				p.writeWindowUpdate(0, 1, 0xFFFBFFFF)
				p.expectAlive()
			},
			raw: [][]byte{rawEncode(frame.TypeWindowUpdate, 0, 1, 1)}},
		{name: "send window overflow, 0xFFFF0000 twice", asClient: false,
			setup: func(t testing.TB, p *rawPeer) { p.openOutbound(1) },
			raw: [][]byte{
				rawEncode(frame.TypeWindowUpdate, 0, 1, 0xFFFF0000),
				rawEncode(frame.TypeWindowUpdate, 0, 1, 0xFFFF0000),
			}},
		{name: "PING on stream 1", asClient: true,
			raw: [][]byte{rawEncode(frame.TypePing, frame.FlagSYN, 1, 7)}},
		{name: "GO_AWAY on stream 1", asClient: true, raw: [][]byte{rawEncode(frame.TypeGoAway, 0, 1, 0)}},
		{name: "DATA length above MaxStreamWindowSize, unknown stream", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeData, 0, 99, maxWindow+1)}, cause: frame.ErrFrameTooLarge},
		{name: "DATA length above MaxStreamWindowSize, live stream", asClient: true,
			setup: func(t testing.TB, p *rawPeer) { p.openInbound(1) },
			raw:   [][]byte{rawEncode(frame.TypeData, 0, 1, maxWindow+1)}, cause: frame.ErrFrameTooLarge},
		{name: "DATA|RST beyond the window", asClient: true,
			setup: func(t testing.TB, p *rawPeer) { p.openInbound(1) },
			raw:   [][]byte{rawEncode(frame.TypeData, frame.FlagRST, 1, 256*protoKiB+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "DATA length 2^32-1", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeData, frame.FlagSYN, 1, 0xFFFFFFFF)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, tt.asClient, nil)
				if tt.setup != nil {
					tt.setup(t, p)
				}
				p.writeRaw(bytes.Join(tt.raw, nil))
				p.expectProtocolError(tt.cause)
			})
		})
	}
}

// TestProtoErrorEndsStreams: a protocol error resets every stream and
// fails blocked calls with the session's error.
func TestProtoErrorEndsStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		readErr := make(chan error, 1)
		go func() {
			_, err := st.Read(make([]byte, 1))
			readErr <- err
		}()
		synctest.Wait()
		p.writeFrame(frame.TypePing, frame.FlagSYN, 3, 0)
		p.expectProtocolError(nil)
		if err := <-readErr; !errors.Is(err, yamux.ErrProtocol) || !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("blocked Read: got %v, want the session's protocol error", err)
		}
		protoExpectState(t, st, yamux.StateReset)
		if _, err := p.S.OpenStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("OpenStream after the error: got %v, want ErrSessionShutdown", err)
		}
	})
}

// --- Frames that are ignored --------------------------------------------

// TestProtoUnknownStreamFramesIgnored: DATA and WINDOW_UPDATE without SYN
// for ids that were never opened are ignored whatever their flags: no
// reply, no state, DATA bodies consumed (spec.md §3.7).
func TestProtoUnknownStreamFramesIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		// The raw peer answers our RTT ping on its own: let that happen
		// now, so that its pong cannot land between the 16 MiB frame's
		// header and body, which are written separately below.
		synctest.Wait()
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
			rawData(0, 21, protoPattern(256*protoKiB)),     // a whole window's worth
			rawEncode(frame.TypeData, 0, 23, 16*1024*1024), // exactly MaxStreamWindowSize: legal
		}, nil))
		p.writeRaw(make([]byte, 16*1024*1024)) // its body
		p.expectNoFrame()
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d, want 0: ignored frames must create no state", n)
		}
		p.expectAlive()
		// Framing is intact after the discarded bodies.
		st := p.openInbound(1)
		protoEcho(t, p, st, "framing intact")
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
		protoExpectEOF(t, st)
		p.writeWindowUpdate(0, 1, 1000)
		p.expectNoFrame()
		protoExpectState(t, st, yamux.StateHalfClosedRecv)

		// 256 KiB + 1000 bytes fit without any further update.
		data := protoPattern(256*protoKiB + 1000)
		st.SetWriteDeadline(time.Now().Add(time.Minute))
		protoWrite(t, st, data)
		if got, _ := p.readStreamData(1, len(data)); !bytes.Equal(got, data) {
			t.Fatal("peer received different bytes than written")
		}
		p.expectNoFrame()

		st.CloseWrite()
		p.expectFIN(1)
		protoExpectState(t, st, yamux.StateFullyClosed)
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
		protoExpectRead(t, st, "bye")
		protoExpectEOF(t, st)
		protoExpectState(t, st, yamux.StateHalfClosedRecv)
		protoWrite(t, st, []byte("still here"))
		p.expectData(1, 0, []byte("still here"))
		p.expectAlive()
	})
}

// TestProtoUnsolicitedPongIgnored: a PING|ACK matching no ping of ours, and
// a PING with neither SYN nor ACK, are ignored (spec.md §5.1).
func TestProtoUnsolicitedPongIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeFrame(frame.TypePing, frame.FlagACK, 0, 12345)
		p.writeFrame(frame.TypePing, 0, 0, 6789)
		p.expectNoFrame()
		p.expectAlive()
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
			protoEcho(t, p, st, "ok")
		}
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
		protoExpectStreamError(t, err, 1, 0, false)
		protoExpectState(t, st1, yamux.StateReset)
		p.expectNoFrame()

		protoEcho(t, p, st3, "unaffected")
		p.expectAlive()
	})
}

// --- PING ---------------------------------------------------------------

// TestProtoPingReply: a PING with SYN is answered by exactly one PING on
// stream 0 with flags exactly ACK, echoing the value (spec.md §5.1).
func TestProtoPingReply(t *testing.T) {
	tests := []struct {
		name  string
		flags frame.Flags
	}{
		{"SYN", frame.FlagSYN},
		{"SYN|ACK: SYN wins", frame.FlagSYN | frame.FlagACK},
		{"SYN with undefined bits", frame.FlagSYN | 0x100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, nil)
				p.writeFrame(frame.TypePing, tt.flags, 0, 0xDEADBEEF)
				p.expectPong(0xDEADBEEF)
				p.expectNoFrame()
			})
		})
	}
}

// TestProtoHundredPings: 100 pings in one write get 100 pongs, in order.
func TestProtoHundredPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		var raw []byte
		for v := uint32(1000); v < 1100; v++ {
			raw = append(raw, rawEncode(frame.TypePing, frame.FlagSYN, 0, v)...)
		}
		p.writeRaw(raw)
		for v := uint32(1000); v < 1100; v++ {
			p.expectPong(v)
		}
		p.expectNoFrame()
	})
}

// --- GO_AWAY ------------------------------------------------------------

// TestProtoRemoteGoAwayNormal: after the peer's GO_AWAY(0) no new streams
// either way, the existing stream keeps working, and the session closes
// (sending GO_AWAY(0)) when that last stream ends (spec.md §6.2).
func TestProtoRemoteGoAwayNormal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeFrame(frame.TypeGoAway, 0, 0, 0)
		synctest.Wait()

		if _, err := p.S.OpenStream(); !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Fatalf("OpenStream after GO_AWAY(0): got %v, want ErrRemoteGoAway", err)
		}
		_, err := p.S.AcceptStream()
		if !errors.Is(err, yamux.ErrSessionShutdown) || !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Fatalf("AcceptStream after GO_AWAY(0): got %v, want ErrSessionShutdown and ErrRemoteGoAway", err)
		}
		p.writeWindowUpdate(frame.FlagSYN, 3, 0)
		p.expectRST(3)

		protoEcho(t, p, st, "draining")
		if p.S.IsClosed() {
			t.Fatalf("session closed with a live stream: %v", p.S.Err())
		}

		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		protoExpectEOF(t, st)
		st.CloseWrite()
		p.expectFIN(1)
		p.expectGoAway(0)
		p.expectClosed()
		<-p.S.CloseChan()
		var se *yamux.SessionError
		if err := p.S.Err(); !errors.As(err, &se) || se.Code != yamux.CodeNormal || !se.Remote || !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Fatalf("Err() = %#v, want a remote *SessionError, code 0, matching ErrRemoteGoAway", err)
		}
	})
}

// TestProtoRemoteGoAwayIdle: GO_AWAY(0) with no live stream closes the
// session at once.
func TestProtoRemoteGoAwayIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeFrame(frame.TypeGoAway, 0, 0, 0)
		p.expectGoAway(0)
		p.expectClosed()
		if err := p.S.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("Err() = %v, want ErrSessionShutdown", err)
		}
	})
}

// TestProtoRemoteGoAwayError: GO_AWAY with a non-zero code ends the session
// at once, sends nothing, and reports the code.
func TestProtoRemoteGoAwayError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		p.writeFrame(frame.TypeGoAway, 0, 0, 0x1005)
		p.expectClosed()
		<-p.S.CloseChan()
		err := p.S.Err()
		var se *yamux.SessionError
		if !errors.As(err, &se) || se.Code != 0x1005 || !se.Remote {
			t.Fatalf("Err() = %#v, want *SessionError{Code: 0x1005, Remote: true}", err)
		}
		if !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("Err() = %v, want it to match ErrSessionShutdown", err)
		}
		if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("Read on the live stream: got %v, want ErrSessionShutdown", err)
		}
		protoExpectState(t, st, yamux.StateReset)
	})
}

// TestProtoCloseFlushesThenGoAway: Close writes the DATA already queued,
// then GO_AWAY(0), then closes the connection.
func TestProtoCloseFlushesThenGoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st, err := p.S.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		p.Ours.BlockWrites(true)
		data := protoPattern(100 * protoKiB)
		protoWrite(t, st, data) // queued, not yet on the wire
		closed := make(chan error, 1)
		go func() { closed <- p.S.Close() }()
		synctest.Wait()
		p.Ours.BlockWrites(false)
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		p.expectSYN(1)
		if got, _ := p.readStreamData(1, len(data)); !bytes.Equal(got, data) {
			t.Fatal("peer received different bytes than written")
		}
		p.expectGoAway(0)
		p.expectClosed()
		var se *yamux.SessionError
		if err := p.S.Err(); !errors.As(err, &se) || se.Code != yamux.CodeNormal || se.Remote {
			t.Fatalf("Err() = %#v, want a local *SessionError with code 0", err)
		}
	})
}

// TestProtoCloseWithErrorSendsCode: CloseWithError(code) sends GO_AWAY(code).
func TestProtoCloseWithErrorSendsCode(t *testing.T) {
	for _, code := range []yamux.ErrorCode{yamux.CodeInternalError, 0x1005} {
		t.Run(code.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, nil)
				p.S.CloseWithError(code)
				p.expectGoAway(uint32(code))
				p.expectClosed()
				var se *yamux.SessionError
				if err := p.S.Err(); !errors.As(err, &se) || se.Code != code || se.Remote {
					t.Fatalf("Err() = %#v, want a local *SessionError with code %v", err, code)
				}
			})
		})
	}
}

// TestProtoLocalGoAway: GoAway sends GO_AWAY(0) once; later SYNs (on
// WINDOW_UPDATE or DATA) get RST, while existing streams and our own opens
// continue.
func TestProtoLocalGoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		st := p.openInbound(1)
		if err := p.S.GoAway(); err != nil {
			t.Fatalf("GoAway: %v", err)
		}
		p.expectGoAway(0)
		p.writeWindowUpdate(frame.FlagSYN, 3, 0)
		p.expectRST(3)
		p.writeData(frame.FlagSYN, 5, []byte("refused"))
		p.expectRST(5)

		protoEcho(t, p, st, "existing stream")
		mine, err := p.S.OpenStream()
		if err != nil {
			t.Fatalf("OpenStream after our GoAway: %v", err)
		}
		p.expectSYN(2)
		p.writeWindowUpdate(frame.FlagACK, 2, 0)
		protoEcho(t, p, mine, "our own open")

		if err := p.S.GoAway(); err != nil {
			t.Fatalf("second GoAway: %v", err)
		}
		p.expectNoFrame() // GO_AWAY is sent once
		if p.S.IsClosed() {
			t.Fatalf("session closed after GoAway: %v", p.S.Err())
		}
	})
}

// --- Flow control on the wire -------------------------------------------

// TestProtoSendWindowRespected: with no WINDOW_UPDATE from the peer we send
// exactly 256 KiB and stop; the Write then times out at its deadline; once
// the peer grants more, the rest follows (spec.md §4.5).
func TestProtoSendWindowRespected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		data := protoPattern(300 * protoKiB)
		start := time.Now()
		st.SetWriteDeadline(start.Add(10 * time.Second))
		n, err := st.Write(data)
		if n != 256*protoKiB || !errors.Is(err, yamux.ErrTimeout) {
			t.Fatalf("Write(300 KiB) = %d, %v; want %d, ErrTimeout", n, err, 256*protoKiB)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("Write timed out after %v, want 10s", d)
		}
		got, sizes := p.readStreamData(1, 256*protoKiB)
		for _, sz := range sizes {
			if sz > 64*protoKiB {
				t.Fatalf("DATA frame of %d bytes, want <= %d", sz, 64*protoKiB)
			}
		}
		p.expectNoFrame()

		st.SetWriteDeadline(time.Time{})
		p.writeWindowUpdate(0, 1, 64*protoKiB)
		protoWrite(t, st, data[n:])
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
	for _, limit := range []int{0, 16 * protoKiB, protoKiB} {
		t.Run(fmt.Sprintf("MaxMessageSize=%d", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.MaxMessageSize = limit
				if limit == 0 {
					limit = 64 * protoKiB // the default
				}
				p := newRawPeer(t, false, cfg)
				st := p.openOutbound(1)
				p.writeWindowUpdate(0, 1, 1024*protoKiB)
				data := protoPattern(1024*protoKiB + 5)
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
		data := protoPattern(256 * protoKiB)
		var raw []byte
		for off := 0; off < len(data); off += 4 * protoKiB {
			raw = append(raw, rawData(0, 1, data[off:off+4*protoKiB])...)
		}
		p.writeRaw(raw)   // the whole window
		p.expectNoFrame() // nothing read yet: no credit

		var got []byte
		buf := make([]byte, protoKiB)
		readKiB := func() {
			t.Helper()
			n, err := st.Read(buf)
			if err != nil || n != protoKiB {
				t.Fatalf("Read = %d, %v; want %d, nil", n, err, protoKiB)
			}
			got = append(got, buf[:n]...)
		}
		for range 127 {
			readKiB()
		}
		p.expectNoFrame() // 127 KiB read: below half the window
		readKiB()
		p.expectWindowUpdate(1, 0, 128*protoKiB) // exactly half the window
		p.expectNoFrame()

		updates, credit := 1, uint32(128*protoKiB)
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
		if credit < 256*protoKiB {
			t.Fatalf("credit returned %d, want >= %d: everything read must be credited", credit, 256*protoKiB)
		}
		t.Logf("%d WINDOW_UPDATEs, %d bytes of credit", updates, credit)
	})
}

// --- Limits and timeouts ------------------------------------------------

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
		protoExpectState(t, st1, yamux.StateReset)
		// The reset stream keeps its slot until the application has seen
		// the reset (rapid-reset defence, spec.md §8): still refused.
		p.writeWindowUpdate(frame.FlagSYN, 9, 0)
		p.expectRST(9)
		if _, err := st1.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamReset) {
			t.Fatalf("Read on the reset stream = %v, want ErrStreamReset", err)
		}
		st11 := p.openInbound(11)
		protoEcho(t, p, st11, "admitted")
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
		protoExpectStreamError(t, err, 1, 0, false)
		// A late ACK is for a stream that no longer exists: ignored.
		p.writeWindowUpdate(frame.FlagACK, 1, 0)
		p.expectNoFrame()
		p.expectAlive()
		protoEcho(t, p, p.openOutbound(3), "session lives on")
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
		protoExpectState(t, st1, yamux.StateReset)
		protoExpectState(t, st3, yamux.StateFullyClosed)
		time.Sleep(2 * time.Minute)
		p.expectNoFrame() // no RST for stream 3
		if n := p.S.NumStreams(); n != 0 {
			t.Fatalf("NumStreams() = %d, want 0", n)
		}
		p.expectAlive()
	})
}

// TestProtoPendingReplyBound: a peer that floods PINGs while not reading
// cannot grow our memory: with our writes stalled, the session stops
// reading once 64 pongs are pending (spec.md §5.1), so the peer's writes
// block. The connection buffers a single frame, so what the peer manages to
// write is what our session took in, plus at most one ping in its read
// buffer and one in the connection. Once our writes flow again every ping
// is answered, in order, and the session is fine.
func TestProtoPendingReplyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			pings    = 10000
			capacity = frame.HeaderSize
			// 64 pending pongs, the ping waiting for room, one ping in
			// the read buffer, one in the connection.
			bound = (64 + 1 + 1 + 1) * frame.HeaderSize
		)
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: capacity, NoPingAnswers: true})
		synctest.Wait()
		p.Ours.BlockWrites(true)

		raw := make([]byte, 0, pings*frame.HeaderSize)
		for v := uint32(1); v <= pings; v++ {
			raw = append(raw, rawEncode(frame.TypePing, frame.FlagSYN, 0, v)...)
		}
		wrote := make(chan error, 1)
		go func() { wrote <- p.write(raw) }()
		synctest.Wait()
		select {
		case err := <-wrote:
			t.Fatalf("peer wrote all %d pings (err %v) while we could not answer: want our session to stop reading", pings, err)
		default:
		}
		if n := p.Conn.BytesWritten(); n > bound {
			t.Fatalf("peer wrote %d bytes (%d pings) before blocking, want <= %d", n, n/frame.HeaderSize, bound)
		} else {
			t.Logf("peer blocked after %d of %d pings", n/frame.HeaderSize, pings)
		}
		if p.S.IsClosed() {
			t.Fatalf("session closed: %v", p.S.Err())
		}

		p.Ours.BlockWrites(false)
		for v := uint32(1); v <= pings; v++ {
			p.expectPong(v)
		}
		if err := <-wrote; err != nil {
			t.Fatalf("peer write: %v", err)
		}
		p.expectNoFrame()
		p.expectAlive()
	})
}

// --- More transcripts ---------------------------------------------------

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
				protoExpectStreamError(t, err, 1, 0x1005, true)
				p.expectNoFrame() // no ACK, no RST back
				protoEcho(t, p, p.openInbound(3), "next stream")
			})
		})
	}
}

// TestProtoSYNDeltaCredited: a delta carried by the peer's SYN (or ACK) is
// added on top of the implicit 256 KiB (spec.md §4.2).
func TestProtoSYNDeltaCredited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeWindowUpdate(frame.FlagSYN, 1, 64*protoKiB)
		st := p.acceptStream(1)
		data := protoPattern(320 * protoKiB)
		st.SetWriteDeadline(time.Now().Add(time.Second))
		protoWrite(t, st, data) // fits: 256 KiB + 64 KiB
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
	const window = 1024 * protoKiB
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
			p.expectWindowUpdate(1, frame.FlagACK, window-256*protoKiB)
			p.writeData(0, 1, protoPattern(window)) // the whole window: legal
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
			p.expectWindowUpdate(1, frame.FlagSYN, window-256*protoKiB)
			p.writeData(frame.FlagACK, 1, protoPattern(window))
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
		credit := 256 * protoKiB
		for round := range 4 {
			p.writeData(0, 1, protoPattern(credit))
			credit = 0
			for _, f := range p.pendingFrames() {
				if f.h.Type() != frame.TypeWindowUpdate || f.h.StreamID() != 1 || f.h.Flags() != 0 {
					t.Fatalf("got frame %v, want WINDOW_UPDATE on stream 1", f)
				}
				credit += int(f.h.Length())
			}
			if credit < 128*protoKiB {
				t.Fatalf("round %d: %d bytes of credit returned for discarded data, want >= %d", round, credit, 128*protoKiB)
			}
		}
		if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamClosed) {
			t.Fatalf("Read after CloseRead: got %v, want ErrStreamClosed", err)
		}
		protoWrite(t, st, []byte("write side open"))
		p.expectData(1, 0, []byte("write side open"))
	})
}

// TestProtoControlOvertakesData: a pong (or any control frame) queued
// while DATA waits is written ahead of that DATA (spec.md §4.5).
func TestProtoControlOvertakesData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		synctest.Wait()
		p.Ours.BlockWrites(true)
		protoWrite(t, st, []byte("first")) // the send loop takes it and stalls
		synctest.Wait()
		protoWrite(t, st, []byte("second")) // queued behind the stalled write
		p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 99)
		synctest.Wait()
		p.Ours.BlockWrites(false)
		p.expectData(1, 0, []byte("first"))
		p.expectPong(99)
		p.expectData(1, 0, []byte("second"))
		p.expectNoFrame()
	})
}

// TestProtoRemoteGoAwayAcceptQueued: streams that arrived before the
// peer's GO_AWAY(0) are still handed out (and ACKed) by AcceptStream,
// which fails only afterwards (spec.md §3.2, §6.2).
func TestProtoRemoteGoAwayAcceptQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.writeWindowUpdate(frame.FlagSYN, 1, 0)
		p.writeFrame(frame.TypeGoAway, 0, 0, 0)
		synctest.Wait()
		st := p.acceptStream(1)
		if _, err := p.S.AcceptStream(); !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Fatalf("second AcceptStream: got %v, want ErrRemoteGoAway", err)
		}
		protoEcho(t, p, st, "queued before GO_AWAY")
		// A second GO_AWAY(0) is ignored; a later one with a code ends it.
		p.writeFrame(frame.TypeGoAway, 0, 0, 0)
		p.expectNoFrame()
		p.writeFrame(frame.TypeGoAway, 0, 0, 2)
		p.expectClosed()
		var se *yamux.SessionError
		if err := p.S.Err(); !errors.As(err, &se) || se.Code != yamux.CodeInternalError || !se.Remote {
			t.Fatalf("Err() = %#v, want a remote *SessionError with code 2", err)
		}
	})
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
		protoEcho(t, p, in, "in")
		protoEcho(t, p, out, "out")
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
		protoExpectEOF(t, st)
		st.CloseWrite()
		p.expectFIN(1)
		protoExpectState(t, st, yamux.StateFullyClosed)
		again := p.openInbound(1)
		protoEcho(t, p, again, "new stream, old id")
	})
}
