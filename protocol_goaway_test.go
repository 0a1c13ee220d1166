package yamux_test

// Wire transcripts for spec.md §6, GO_AWAY: receiving it with code 0 and
// otherwise, sending it on Close, CloseWithError and GoAway. The peer is
// the raw-frame peer of rawpeer_test.go.

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

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

		echoRaw(t, p, st, "draining")
		if p.S.IsClosed() {
			t.Fatalf("session closed with a live stream: %v", p.S.Err())
		}

		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		expectEOF(t, st)
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
		expectState(t, st, yamux.StateReset)
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
		p.oursMem().BlockWrites(true)
		data := patternBytes(0, 100*kib)
		writeAll(t, st, data) // queued, not yet on the wire
		closed := make(chan error, 1)
		go func() { closed <- p.S.Close() }()
		synctest.Wait()
		p.oursMem().BlockWrites(false)
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

		echoRaw(t, p, st, "existing stream")
		mine, err := p.S.OpenStream()
		if err != nil {
			t.Fatalf("OpenStream after our GoAway: %v", err)
		}
		p.expectSYN(2)
		p.writeWindowUpdate(frame.FlagACK, 2, 0)
		echoRaw(t, p, mine, "our own open")

		if err := p.S.GoAway(); err != nil {
			t.Fatalf("second GoAway: %v", err)
		}
		p.expectNoFrame() // GO_AWAY is sent once
		if p.S.IsClosed() {
			t.Fatalf("session closed after GoAway: %v", p.S.Err())
		}
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
		echoRaw(t, p, st, "queued before GO_AWAY")
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
