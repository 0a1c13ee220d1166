//go:build linux

package yamux

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// TestTuneConnNotSentLowat: a TCP session that writes bulk data sets
// TCP_NOTSENT_LOWAT on its socket, one that writes only small frames does
// not (sendtune_linux.go).
func TestTuneConnNotSentLowat(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
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
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			return
		}
		io.Copy(io.Discard, st)
	}()
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if got := notSentLowatOf(t, cc); got != notSentLowat {
		t.Errorf("TCP_NOTSENT_LOWAT = %d after bulk writes, want %d", got, notSentLowat)
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
