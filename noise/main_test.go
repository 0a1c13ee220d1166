package noise_test

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const yamuxID = "/yamux/1.0.0"

// identity returns a fixed Ed25519 identity for seed byte b.
func identity(tb testing.TB, b byte) *peer.PrivateKey {
	tb.Helper()
	k, err := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// tcpPair returns two ends of a loopback TCP connection, closed at cleanup.
func tcpPair(tb testing.TB) (dialer, listener net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
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
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		tb.Fatal(r.err)
	}
	tb.Cleanup(func() { d.Close(); r.c.Close() })
	return d, r.c
}

// pipePair is tcpPair over net.Pipe.
func pipePair(tb testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	tb.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// transports are the underlying conns the handshake tests run over.
var transports = []struct {
	name string
	pair func(testing.TB) (net.Conn, net.Conn)
}{
	{"pipe", pipePair},
	{"tcp", tcpPair},
}

type handshakeResult struct {
	conn *noise.Conn
	err  error
}

// handshake runs SecureOutbound on a and SecureInbound on b concurrently and
// returns both results.
func handshake(tb testing.TB, a, b net.Conn, ca, cb noise.Config, expect peer.ID) (init, resp handshakeResult) {
	tb.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := noise.SecureInbound(ctx, b, cb)
		resp = handshakeResult{c, err}
	})
	c, err := noise.SecureOutbound(ctx, a, ca, expect)
	init = handshakeResult{c, err}
	wg.Wait()
	for _, r := range []handshakeResult{init, resp} {
		if r.conn != nil {
			tb.Cleanup(func() { r.conn.Close() })
		}
	}
	return init, resp
}

// securePair returns a handshaken pair over the given transport: the
// initiator (identity 1) and the responder (identity 2).
func securePair(tb testing.TB, pair func(testing.TB) (net.Conn, net.Conn)) (*noise.Conn, *noise.Conn) {
	tb.Helper()
	a, b := pair(tb)
	ki, kr := identity(tb, 1), identity(tb, 2)
	i, r := handshake(tb, a, b, noise.Config{Identity: ki}, noise.Config{Identity: kr}, kr.ID())
	if i.err != nil || r.err != nil {
		tb.Fatalf("handshake: initiator %v, responder %v", i.err, r.err)
	}
	return i.conn, r.conn
}

// pattern is deterministic test data.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// handshakeNoCleanup is handshake for benchmark loops: the caller closes
// the conns.
func handshakeNoCleanup(a, b net.Conn, ca, cb noise.Config, expect peer.ID) (init, resp handshakeResult) {
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := noise.SecureInbound(ctx, b, cb)
		resp = handshakeResult{c, err}
	})
	c, err := noise.SecureOutbound(ctx, a, ca, expect)
	init = handshakeResult{c, err}
	wg.Wait()
	if init.err != nil && resp.conn != nil {
		resp.conn.Close()
	}
	if resp.err != nil && init.conn != nil {
		init.conn.Close()
	}
	return init, resp
}
