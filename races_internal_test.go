package yamux

import (
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// Races found by reading (issue 7, section 3), made reachable by driving
// the interleaving from inside the package.

// raceSession is a client session over memconn whose peer reads and
// discards everything and never answers.
func raceSession(t *testing.T, cfg *Config) (*Session, *memconn.Conn) {
	t.Helper()
	ours, raw := memconn.Pipe()
	s, err := Client(ours, cfg)
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, raw)
		close(drained)
	}()
	t.Cleanup(func() {
		s.Close()
		raw.Close()
		<-drained
	})
	return s, raw
}

// TestRaceOpenTimerVersusACK: the peer's ACK is processed after the open
// timer fired but before it acted. The stream is established by then and
// must not be reset.
func TestRaceOpenTimerVersusACK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.StreamOpenTimeout = time.Second
		s, _ := raceSession(t, cfg)
		st, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		hook := func(fired *Stream) {
			if fired == st {
				// What the receive loop does with the peer's ACK.
				d, err := st.receiveHeader(frame.New(frame.TypeWindowUpdate, frame.FlagACK, st.id, 0))
				if err != nil || !d.ackSlot {
					t.Errorf("ACK: %+v, %v", d, err)
				}
				<-st.session.ackSlots
			}
		}
		testHookOpenTimer.Store(&hook)
		defer testHookOpenTimer.Store(nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := st.State(); got != StateOpen {
			t.Errorf("stream acknowledged as its open timer fired: state %v, want Open", got)
		}
	})
}

// TestRaceKeepaliveRearmedAtShutdown: a pong that arrives between the
// shutdown stopping the keepalive timer and the ping state closing must
// not re-arm the timer (which would outlive the session).
func TestRaceKeepaliveRearmedAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.KeepAliveInterval = time.Second
		s, _ := raceSession(t, cfg)
		time.Sleep(time.Second) // the keepalive ping goes out
		synctest.Wait()
		s.ping.mu.Lock()
		waiting, id := s.ping.kaWaiting, s.ping.kaID
		s.ping.mu.Unlock()
		if !waiting {
			t.Fatal("no keepalive ping outstanding")
		}
		// Session.shutdown's steps, with the receive loop's pong between.
		s.stopKeepalive()
		s.handlePong(id)
		s.ping.clear()
		s.ping.mu.Lock()
		armed := s.ping.timer.Stop()
		s.ping.mu.Unlock()
		if armed {
			t.Errorf("keepalive timer re-armed after it was stopped for shutdown")
		}
	})
}
