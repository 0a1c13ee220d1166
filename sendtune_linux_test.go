//go:build linux

package yamux

import (
	"net"
	"syscall"
	"testing"
)

// TestTuneConnNotSentLowat: the first write of a session over TCP sets
// TCP_NOTSENT_LOWAT on its socket (sendtune_linux.go).
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
	if _, err := client.Ping(); err != nil { // one write each way
		t.Fatal(err)
	}
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
	if got != notSentLowat {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, want %d", got, notSentLowat)
	}
}
