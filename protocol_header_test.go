package yamux_test

import (
	"bytes"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// Wire-level behaviour of our session against a scripted raw peer
// (rawpeer_test.go). Each test is a transcript: what the peer writes, what
// our session must send back, and what the application observes. One file
// per section of spec.md: this one §2 (the frame header), then
// protocol_open_test.go (§3.1–3.2), protocol_close_test.go (§3.3–3.7),
// protocol_flow_test.go (§4), protocol_ping_test.go (§5),
// protocol_goaway_test.go (§6) and protocol_errors_test.go (§7).

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
		writeAll(t, st, []byte("hello"))
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
