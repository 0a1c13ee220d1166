package yamux_test

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux"
)

// TestWakeParkedReader: a turn's end leaves a Read that holds the read
// role and waits in the conn alone while the conn has nothing for it
// (turns.go); the interruption it makes when the conn has bytes
// (KickReading) sends the Read back to reading the conn without
// returning, and the data that comes next reaches it intact. (That the
// interruption follows unread bytes is not checked end to end: on an idle
// machine the network poller wakes the Read first. TestInqProbe checks the
// probe.)
func TestWakeParkedReader(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) {
			p, st := directStream(t, tr.pair)
			buf := make([]byte, 64)
			var n int
			read := goCall(func() error {
				var err error
				n, err = st.Read(buf)
				return err
			})
			if ok, _ := poll(guard, func() bool { return yamux.HolderReading(p.S) }); !ok {
				t.Fatalf("the Read never read the conn itself (read role held by %s)", holder(p.S))
			}
			if yamux.ConnPending(p.S) {
				t.Fatal("the conn has unread bytes before the peer sent any")
			}
			if yamux.WakeParkedReader(p.S) {
				t.Fatal("a turn's end interrupted a Read with nothing for it on the conn")
			}

			if !yamux.KickReading(p.S) {
				t.Fatal("KickReading did not interrupt the Read reading the conn")
			}
			// The interrupted Read reads again, without returning.
			if ok, _ := poll(guard, func() bool { return yamux.HolderReading(p.S) }); !ok {
				t.Fatal("the interrupted Read did not go back to reading the conn")
			}
			expectBlocked(t, read, "Read interrupted with nothing sent")

			want := patternBytes(7, 48)
			p.writeData(0, st.StreamID(), want)
			if r := waitCall(t, read, "Read"); r.err != nil {
				t.Fatalf("Read after the interruption: %v", r.err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("Read after the interruption got %q, want %q", buf[:n], want)
			}
		})
	}
}
