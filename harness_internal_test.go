package yamux

import (
	"net"
	"os"
	"testing"

	"github.com/yamuxgo/yamux/internal/memconn"
)

// The internal tests' shared helpers (the black-box tests have theirs in
// harness_test.go).

// socketPair returns the two ends of a connection over a kernel socket,
// "tcp" (loopback) or "unix", closed when the test ends.
func socketPair(t *testing.T, network string) (client, server net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "yamux") // socket paths are limited to ~100 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = dir + "/s"
	}
	ln, err := net.Listen(network, addr)
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
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		client.Close()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// memSessions returns a client and a server session over an in-memory
// conn, with the default config, closed when the test ends; in a synctest
// bubble, their goroutines are the bubble's.
func memSessions(t *testing.T) (client, server *Session) {
	t.Helper()
	a, b := memconn.Pipe()
	client, err := Client(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err = Server(b, nil)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}
