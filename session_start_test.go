package yamux_test

import (
	"errors"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// TestSessionEndedByPeerFirstBytes: a peer whose very first bytes end the
// session (here a multistream-select header where a Yamux frame belongs,
// then EOF) must get a protocol error, never a panic in the session's own
// start-up. The receive loop used to start before the initial RTT ping
// was registered, and a shutdown in between left startKeepalive writing
// to the cleared ping table.
func TestSessionEndedByPeerFirstBytes(t *testing.T) {
	for range 2000 {
		ours, raw := memconn.Pipe()
		if _, err := raw.Write([]byte("\x13/multistream/1.0.0\n")); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		s, err := yamux.Client(ours, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		<-s.CloseChan()
		if err := s.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Fatalf("Err() = %v, want ErrSessionShutdown", err)
		}
		s.Close()
	}
}
