package main

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/yamuxgo/yamux"
)

// TestGoAwayCodesBounded: the peer picks a GO_AWAY's code from 2^32; serve's
// totals, and so its series, keep one entry per code the spec names and
// one for all the rest, however many codes its peers have sent.
func TestGoAwayCodesBounded(t *testing.T) {
	var total sessionTotals
	const sessions = 1000
	for i := range sessions {
		total.add(yamux.SessionStats{
			GoAwaySent:     map[yamux.ErrorCode]uint64{yamux.CodeNormal: 1},
			GoAwayReceived: map[yamux.ErrorCode]uint64{yamux.ErrorCode(0x1000 + i): 1, yamux.CodeProtocolError: 2},
		})
	}
	want := map[string]uint64{"other": sessions, "protocol error": 2 * sessions}
	if len(total.goAwayReceived) != len(want) {
		t.Fatalf("received GO_AWAYs by label = %v, want %v", total.goAwayReceived, want)
	}
	for label, n := range want {
		if total.goAwayReceived[label] != n {
			t.Errorf("received GO_AWAYs labelled %q = %d, want %d", label, total.goAwayReceived[label], n)
		}
	}
	if got := total.goAwaySent["normal"]; got != sessions || len(total.goAwaySent) != 1 {
		t.Errorf("sent GO_AWAYs by label = %v, want normal: %d", total.goAwaySent, sessions)
	}
}

// TestCountingConnKeepsDirectReads: serve --metrics wraps every TCP conn
// to count its bytes; the wrapper must still let a session's Reads read
// the conn themselves (a Noise conn over it asks it), and must not claim
// so over a conn that cannot be interrupted safely.
func TestCountingConnKeepsDirectReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	var in, out atomic.Uint64
	if c := (&countingConn{Conn: tcp, in: &in, out: &out}); !c.ReadInterruptible() {
		t.Error("counting a TCP conn: ReadInterruptible = false, want true")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if c := (&countingConn{Conn: plainConn{a}, in: &in, out: &out}); c.ReadInterruptible() {
		t.Error("counting a conn of unknown kind: ReadInterruptible = true, want false")
	}
	var _ yamux.InterruptibleReader = (*countingConn)(nil)
}

// plainConn hides what kind of conn it wraps.
type plainConn struct{ net.Conn }
