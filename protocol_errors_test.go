package yamux_test

// Wire transcripts for spec.md §7, errors: every protocol violation of
// §7.1 ends the session with GO_AWAY(1) and resets every stream. The peer
// is the raw-frame peer of rawpeer_test.go.

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

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
			raw:   [][]byte{rawEncode(frame.TypeData, 0, 1, 256*kib+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "DATA beyond the remaining window", asClient: true,
			setup: func(t testing.TB, p *rawPeer) {
				p.writeWindowUpdate(frame.FlagSYN, 1, 0)
				p.writeData(0, 1, patternBytes(0, 200*kib))
			},
			raw: [][]byte{rawEncode(frame.TypeData, 0, 1, 56*kib+1)}, cause: yamux.ErrRecvWindowExceeded},
		{name: "DATA|SYN body above 256 KiB", asClient: true,
			raw: [][]byte{rawEncode(frame.TypeData, frame.FlagSYN, 1, 256*kib+1)}, cause: yamux.ErrRecvWindowExceeded},
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
			raw:   [][]byte{rawEncode(frame.TypeData, frame.FlagRST, 1, 256*kib+1)}, cause: yamux.ErrRecvWindowExceeded},
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
		expectState(t, st, yamux.StateReset)
		if _, err := p.S.OpenStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("OpenStream after the error: got %v, want ErrSessionShutdown", err)
		}
	})
}
