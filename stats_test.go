package yamux_test

import (
	"io"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestStats: the counters of Session.Stats follow what the sessions did.
func TestStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := memSessions(t)
		a, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		b, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, 100_000)
		if _, err := a.Write(payload); err != nil {
			t.Fatal(err)
		}
		a.CloseWrite()
		sa, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, sa); n != int64(len(payload)) || err != nil {
			t.Fatalf("Copy = %d, %v", n, err)
		}
		sb, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		sb.Reset() // server resets, client sees a remote reset
		b.Write([]byte("x"))
		if _, err := client.Ping(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()

		cs, ss := client.Stats(), server.Stats()
		if cs.StreamsOpened != 2 || ss.StreamsInbound != 2 || ss.StreamsAccepted != 2 {
			t.Errorf("opened %d, inbound %d, accepted %d; want 2, 2, 2", cs.StreamsOpened, ss.StreamsInbound, ss.StreamsAccepted)
		}
		if ss.StreamsResetLocal != 1 || cs.StreamsResetRemote != 1 || cs.StreamsResetLocal != 0 {
			t.Errorf("resets: server local %d, client remote %d, client local %d; want 1, 1, 0",
				ss.StreamsResetLocal, cs.StreamsResetRemote, cs.StreamsResetLocal)
		}
		if cs.StreamsOpen != client.NumStreams() {
			t.Errorf("StreamsOpen %d, NumStreams %d", cs.StreamsOpen, client.NumStreams())
		}
		// Everything one side sent, the other received.
		if cs.BytesSent != ss.BytesReceived || ss.BytesSent != cs.BytesReceived ||
			cs.FramesSent != ss.FramesReceived || ss.FramesSent != cs.FramesReceived {
			t.Errorf("client sent %d B/%d frames, server got %d B/%d; server sent %d B/%d, client got %d B/%d",
				cs.BytesSent, cs.FramesSent, ss.BytesReceived, ss.FramesReceived,
				ss.BytesSent, ss.FramesSent, cs.BytesReceived, cs.FramesReceived)
		}
		if cs.BytesSent < uint64(len(payload)) {
			t.Errorf("client sent %d bytes, want at least the %d of payload", cs.BytesSent, len(payload))
		}
		// The RTT ping and ours; the server answered both.
		if cs.PingsSent != 2 || ss.PingsReceived != 2 || cs.RTT != client.RTT() {
			t.Errorf("client pings sent %d, server pings received %d; want 2, 2", cs.PingsSent, ss.PingsReceived)
		}
		// Initial windows of both streams plus the update the reader's
		// 100,000 bytes earned (half of 256 KiB not reached: none).
		if want := uint64(2 * 256 << 10); ss.RecvWindowGranted != want {
			t.Errorf("server granted %d B of window, want %d", ss.RecvWindowGranted, want)
		}
		if cs.SendQueueFrames != 0 || cs.SendQueueBytes != 0 || cs.ReplyPauses != 0 || cs.ProtocolErrors != 0 {
			t.Errorf("idle client: queue %d frames %d B, reply pauses %d, protocol errors %d; want 0",
				cs.SendQueueFrames, cs.SendQueueBytes, cs.ReplyPauses, cs.ProtocolErrors)
		}

		client.CloseWithError(0x1005)
		<-server.CloseChan()
		cs, ss = client.Stats(), server.Stats()
		if cs.GoAwaySent[0x1005] != 1 || ss.GoAwayReceived[0x1005] != 1 {
			t.Errorf("GO_AWAY sent %v, received %v; want one 0x1005 each", cs.GoAwaySent, ss.GoAwayReceived)
		}
	})
}

// TestStatsProtocolErrors: peer violations are counted, per stream and
// per session.
func TestStatsProtocolErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, nil)
		p.openInbound(1)
		p.writeWindowUpdate(frame.FlagFIN, 1, 0)
		p.writeData(0, 1, []byte("after FIN"))
		p.expectRST(1)
		if got := p.S.Stats().StreamProtocolErrors; got != 1 {
			t.Errorf("StreamProtocolErrors = %d, want 1", got)
		}
		p.writeFrame(frame.TypePing, frame.FlagSYN, 3, 0) // PING on a stream
		p.expectProtocolError(nil)
		st := p.S.Stats()
		if st.ProtocolErrors != 1 || st.GoAwaySent[yamux.CodeProtocolError] != 1 {
			t.Errorf("ProtocolErrors %d, GoAwaySent %v; want 1 and one GO_AWAY(1)", st.ProtocolErrors, st.GoAwaySent)
		}
	})
}
