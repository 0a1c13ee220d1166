package yamux_test

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testConfig is DefaultConfig with a logger-free, test-friendly shape.
// Timings stay at their defaults: tests that need short ones set them.
func testConfig() *yamux.Config {
	return yamux.DefaultConfig()
}

// transport creates a connected pair of net.Conns.
type transport struct {
	name string
	pair func(t testing.TB) (client, server net.Conn)
}

// memPair is a buffered in-memory connection; usable inside synctest bubbles.
func memPair(t testing.TB) (net.Conn, net.Conn) {
	a, b := memconn.Pipe()
	return a, b
}

// tcpPair is a real loopback TCP connection (never inside synctest bubbles:
// sockets are not durably blocking).
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return cc, r.c
}

// transports is the matrix behavioural tests run over (outside bubbles).
var transports = []transport{
	{"mem", memPair},
	{"tcp", tcpPair},
}

// sessionPair starts a client and a server session over conns from pair
// and closes both at cleanup.
func sessionPair(t testing.TB, pair func(testing.TB) (net.Conn, net.Conn), ccfg, scfg *yamux.Config) (client, server *yamux.Session) {
	t.Helper()
	c1, c2 := pair(t)
	client, err := yamux.Client(c1, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err = yamux.Server(c2, scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// memSessions is sessionPair over memconn with the default config; inside a
// synctest bubble it runs on fake time.
func memSessions(t testing.TB) (client, server *yamux.Session) {
	return sessionPair(t, memPair, testConfig(), testConfig())
}

// waitClosed fails the test if s does not end within d (real or fake time).
func waitClosed(t testing.TB, s *yamux.Session, d time.Duration) {
	t.Helper()
	select {
	case <-s.CloseChan():
	case <-time.After(d):
		t.Fatalf("session not closed after %v", d)
	}
}
