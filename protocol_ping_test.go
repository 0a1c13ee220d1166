package yamux_test

// Wire transcripts for spec.md §5, PING, and the bound on the replies it
// causes (§8.2): one pong per ping, in order, ahead of queued data, never
// unbounded. The peer is the raw-frame peer of rawpeer_test.go.

import (
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux/internal/frame"
)

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
		p.oursMem().BlockWrites(true)

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
		if n := p.rawMem().BytesWritten(); n > bound {
			t.Fatalf("peer wrote %d bytes (%d pings) before blocking, want <= %d", n, n/frame.HeaderSize, bound)
		} else {
			t.Logf("peer blocked after %d of %d pings", n/frame.HeaderSize, pings)
		}
		if p.S.IsClosed() {
			t.Fatalf("session closed: %v", p.S.Err())
		}

		p.oursMem().BlockWrites(false)
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

// TestProtoControlOvertakesData: a pong (or any control frame) queued
// while DATA waits is written ahead of that DATA (spec.md §4.5).
func TestProtoControlOvertakesData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, false, nil)
		st := p.openOutbound(1)
		synctest.Wait()
		p.oursMem().BlockWrites(true)
		writeAll(t, st, []byte("first")) // the send loop takes it and stalls
		synctest.Wait()
		writeAll(t, st, []byte("second")) // queued behind the stalled write
		p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 99)
		synctest.Wait()
		p.oursMem().BlockWrites(false)
		p.expectData(1, 0, []byte("first"))
		p.expectPong(99)
		p.expectData(1, 0, []byte("second"))
		p.expectNoFrame()
	})
}
