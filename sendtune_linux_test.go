//go:build linux

package yamux

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"syscall"
	"testing"
)

// TestTuneConnNotSentLowat: a TCP session that writes bulk data sets
// TCP_NOTSENT_LOWAT on its socket, one that writes only small frames does
// not, and the bulk session writes its large batches in pieces of whole
// segments (sendtune_linux.go, segmentedWrite); every byte arrives.
func TestTuneConnNotSentLowat(t *testing.T) {
	cc, sc := socketPair(t, "tcp")
	client, err := Client(cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err := Server(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	defer client.Close()
	if _, err := client.Ping(); err != nil { // small writes only
		t.Fatal(err)
	}
	if got := notSentLowatOf(t, cc); got == notSentLowat {
		t.Fatalf("TCP_NOTSENT_LOWAT set after small writes only")
	}
	// Bulk data: the session tunes its socket.
	const total = 32 << 20
	want := make([]byte, total)
	rand.Read(want)
	received := make(chan []byte, 1)
	go func() {
		defer close(received)
		st, err := server.AcceptStream()
		if err != nil {
			return
		}
		got, _ := io.ReadAll(st)
		received <- got
	}()
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	for p := want; len(p) > 0; p = p[min(len(p), 64<<10):] {
		if _, err := st.Write(p[:min(len(p), 64<<10)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-received; !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes, not the %d written", len(got), len(want))
	}
	if got := notSentLowatOf(t, cc); got != notSentLowat {
		t.Errorf("TCP_NOTSENT_LOWAT = %d after bulk writes, want %d", got, notSentLowat)
	}
	client.Close()
	<-client.sendDone // the writer role's state is quiet now
	// A loopback segment is at most 64 KiB, so the piece is one segment
	// or two (writePiece).
	if p := client.loop.piece; p <= 0 || p > 64<<10 {
		t.Errorf("write piece %d after bulk writes, want (0, 64 KiB]", p)
	}
}

func notSentLowatOf(t *testing.T, cc net.Conn) int {
	t.Helper()
	rc, err := cc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotSentLowat)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Skipf("TCP_NOTSENT_LOWAT not readable here: %v", gerr)
	}
	return got
}
