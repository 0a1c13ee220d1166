package yamux_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestReadBufferFollowsBacklog: a session that finds more queued on its
// socket than the small read buffer holds reads it through the large one
// (readbuf.go), delivers every byte intact, and is back on the small one
// by the time it reads a frame that finds the socket drained. The backlog
// is on the socket before the session starts, so the growth does not
// depend on who runs first.
func TestReadBufferFollowsBacklog(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) {
			raw, ours := tr.pair(t)
			// Room in the kernel for the whole burst without anyone reading.
			if err := ours.(interface{ SetReadBuffer(int) error }).SetReadBuffer(2 << 20); err != nil {
				t.Fatal(err)
			}
			if err := raw.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(2 << 20); err != nil {
				t.Fatal(err)
			}
			const streams, frames, size = 4, 3, 64 << 10
			want := make([][]byte, streams)
			var burst []byte
			for i := range want {
				want[i] = patternBytes(uint64(i), frames*size)
			}
			for f := range frames {
				for i := range want {
					flags := frame.Flags(0)
					if f == 0 {
						flags = frame.FlagSYN
					}
					burst = append(burst, rawData(flags, uint32(2*i+1), want[i][f*size:(f+1)*size])...)
				}
			}
			write := goCall(func() error { _, err := raw.Write(burst); return err })
			// More than two small buffers' worth, so that the read after
			// the first (full) one still finds more than a small one holds.
			// (SO_RCVBUF is capped by net.core.rmem_max, 208 KiB by default:
			// doubled, room for this much and more.)
			backlog := 2*yamux.ReadBufferSize + 1
			if ok, _ := poll(guard, func() bool { return yamux.Unread(ours) >= backlog }); !ok {
				t.Fatalf("the socket holds %d unread bytes, want at least %d", yamux.Unread(ours), backlog)
			}

			s, err := yamux.Server(ours, testConfig())
			if err != nil {
				t.Fatal(err)
			}
			p := newRawPeerState(t, raw, ours, s, rawPeerOptions{Timeout: guard})
			go p.readLoop()
			t.Cleanup(func() {
				s.Close()
				raw.Close()
				<-p.readerDone
			})
			for i := range want {
				st, err := s.AcceptStream()
				if err != nil {
					t.Fatalf("AcceptStream: %v", err)
				}
				got := make([]byte, len(want[i]))
				if _, err := io.ReadFull(st, got); err != nil {
					t.Fatalf("stream %d: %v", st.StreamID(), err)
				}
				if k := int(st.StreamID()-1) / 2; !bytes.Equal(got, want[k]) {
					t.Fatalf("stream %d: the data read differs from what was sent", st.StreamID())
				}
			}
			if r := waitCall(t, write, "the burst's write"); r.err != nil {
				t.Fatal(r.err)
			}
			if g := s.Stats().ReadBufferGrows; g == 0 {
				t.Error("the session read a backlog of 768 KiB through its small read buffer only")
			}
			// The ping's header is read after the backlog is gone; the
			// pong comes after the streams' ACKs and window updates.
			p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 7)
			p.skipTo(frame.New(frame.TypePing, frame.FlagACK, 0, 7))
			if yamux.LargeReadBuffer(s) {
				t.Error("the session still holds its large read buffer after a read that found no backlog")
			}
		})
	}
}

// TestReadBufferStaysSmall: two sessions trading small messages never take
// the large read buffer.
func TestReadBufferStaysSmall(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) {
			p := startSessions(t, tr.pair, nil, nil)
			echo := goCall(func() error {
				st, err := p.server.AcceptStream()
				if err != nil {
					return err
				}
				_, err = io.Copy(st, st)
				return err
			})
			st, err := p.client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			msg := make([]byte, 1024)
			for i := range 200 {
				msg[0] = byte(i)
				if _, err := st.Write(msg); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(st, msg); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()
			if r := waitCall(t, echo, "echo"); r.err != nil {
				t.Fatal(r.err)
			}
			for _, s := range []*yamux.Session{p.client, p.server} {
				if g := s.Stats().ReadBufferGrows; g != 0 {
					t.Errorf("%d grows of the read buffer for 1 KiB messages, want 0", g)
				}
			}
		})
	}
}
