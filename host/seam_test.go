package host_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// Closing the yamux session closes the Noise conn and the TCP conn, and
// the peer's session ends.
func TestSessionCloseClosesNoiseAndTCP(t *testing.T) {
	p := newPair(t, nil, nil)
	if err := p.ca.Session().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ca.NoiseConn().Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("noise Write after session Close = %v, want net.ErrClosed", err)
	}
	if _, err := p.ca.NoiseConn().NetConn().Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("TCP Read after session Close = %v, want net.ErrClosed", err)
	}
	<-p.cb.Done()
	if err := p.cb.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Errorf("peer's Err = %v", err)
	}
}

// blocked starts calls that block on c's session: a stream Read, a Write
// stuck on the exhausted window, an AcceptStream, and returns their errors.
func blocked(t *testing.T, c *host.Conn, peerHost *host.Host) <-chan error {
	t.Helper()
	gate := make(chan struct{})
	peerHost.SetStreamHandler("/stall/1.0.0", func(s *host.Stream) {
		<-gate // neither reads nor writes until the session dies
		s.Reset()
	})
	t.Cleanup(func() { close(gate) })
	ctx := ctxTimeout(t, 10*time.Second)
	rs, err := c.NewStream(ctx, "/stall/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := c.NewStream(ctx, "/stall/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	var started sync.WaitGroup
	started.Add(3)
	go func() { started.Done(); _, err := rs.Read(make([]byte, 1)); errs <- err }()
	go func() { started.Done(); _, err := ws.Write(make([]byte, 4<<20)); errs <- err }()
	go func() { started.Done(); _, err := c.Session().AcceptStream(); errs <- err }()
	started.Wait()
	return errs
}

func wantShutdown(t *testing.T, errs <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Errorf("blocked call returned %v, want ErrSessionShutdown", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a blocked call did not return")
		}
	}
}

// A dying TCP conn (FIN or RST through a proxy) ends the session with an
// error that wraps the cause; every blocked call returns.
func TestDyingTCPEndsSession(t *testing.T) {
	for _, rst := range []bool{false, true} {
		name := map[bool]string{false: "eof", true: "rst"}[rst]
		t.Run(name, func(t *testing.T) {
			a, b := newHost(t, nil), newHost(t, nil)
			px := newProxy(t, listen(t, b), 0)
			c, err := a.Dial(ctxTimeout(t, 10*time.Second), px.addr(t, b.ID()))
			if err != nil {
				t.Fatal(err)
			}
			errs := blocked(t, c, b)
			px.kill(rst)
			wantShutdown(t, errs, 3)
			<-c.Done()
			err = c.Err()
			var se *yamux.SessionError
			if !errors.As(err, &se) || se.Cause == nil {
				t.Fatalf("Err = %v, want a SessionError with a cause", err)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				// EPIPE: our send loop hit the dead conn before the receive loop.
				t.Fatalf("Err = %v, want it to wrap EOF, ECONNRESET or EPIPE", err)
			}
		})
	}
}

// A keepalive catches a blackholed connection: the proxy stops forwarding
// but keeps the sockets open.
func TestBlackholeCaughtByKeepalive(t *testing.T) {
	cfg := yamux.DefaultConfig()
	cfg.KeepAliveInterval = 100 * time.Millisecond
	cfg.KeepAliveTimeout = 300 * time.Millisecond
	a, b := newHost(t, &host.Options{Yamux: cfg}), newHost(t, nil)
	px := newProxy(t, listen(t, b), 0)
	c, err := a.Dial(ctxTimeout(t, 10*time.Second), px.addr(t, b.ID()))
	if err != nil {
		t.Fatal(err)
	}
	errs := blocked(t, c, b)
	px.blackhole()
	wantShutdown(t, errs, 3)
	if err := c.Err(); !errors.Is(err, yamux.ErrKeepAliveTimeout) {
		t.Fatalf("Err = %v, want ErrKeepAliveTimeout", err)
	}
}

// One flipped ciphertext byte mid-transfer: the receiving session ends with
// a typed error wrapping noise.ErrDecrypt, no corrupted byte is delivered,
// every stream fails, and nothing leaks (goleak in TestMain).
func TestNoiseDecryptFailureEndsSession(t *testing.T) {
	a, b := newHost(t, nil), newHost(t, nil)
	const streams, size = 4, 1 << 20
	// The flipped byte comes before the last byte of every stream (each
	// stream's own data is longer than the offset), so no stream can
	// have been sent whole, echoed and closed before it: 2 MiB, with the
	// 4 MiB of all four, let a stream that got ahead finish first.
	px := newProxy(t, listen(t, b), size/2)
	c, err := a.Dial(ctxTimeout(t, 10*time.Second), px.addr(t, b.ID()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	type res struct {
		err    error
		prefix bool
		n      int
	}
	results := make(chan res, streams)
	// Every stream is open before any writes: the flip may come as soon
	// as the first has sent half its data.
	start := make(chan struct{})
	for range streams {
		s, err := c.NewStream(ctx, echoID)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer s.Close()
			data := make([]byte, size)
			rand.Read(data)
			<-start
			go func() { s.Write(data); s.CloseWrite() }()
			got, err := io.ReadAll(s)
			results <- res{err, bytes.HasPrefix(data, got), len(got)}
		}()
	}
	close(start)
	for range streams {
		r := <-results
		if r.err == nil {
			t.Errorf("a stream read to the end (%d bytes) across the corrupted record", r.n)
		} else if !errors.Is(r.err, yamux.ErrSessionShutdown) {
			t.Errorf("stream error = %v, want ErrSessionShutdown", r.err)
		}
		if !r.prefix {
			t.Error("a stream delivered bytes that were not sent")
		}
	}
	<-c.Done()
	err = c.Err()
	if !errors.Is(err, noise.ErrDecrypt) || !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Fatalf("Err = %v, want ErrSessionShutdown wrapping noise.ErrDecrypt", err)
	}
	if _, err := c.NewStream(ctx, echoID); !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Fatalf("NewStream after the failure = %v", err)
	}
}

// scriptedPeer listens on loopback for one connection, runs script on it,
// then reads and discards until the dialer hangs up, and closes it; done
// is closed when that is over.
func scriptedPeer(t *testing.T, script func(c net.Conn)) (net.Addr, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
		io.Copy(io.Discard, c)
	}()
	return ln.Addr(), done
}

// A handshake that stalls is cut off by the timeout, on both roles.
func TestStalledHandshakeTimesOut(t *testing.T) {
	t.Run("dialer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c // silent: reads nothing, writes nothing
			}
			close(accepted)
		}()
		a, b := newHost(t, &host.Options{HandshakeTimeout: 300 * time.Millisecond}), newHost(t, nil)
		_, err = a.Dial(ctxTimeout(t, 10*time.Second), withPeer(t, toMA(t, ln.Addr()), b.ID()))
		if !errors.Is(err, host.ErrUpgrade) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Dial = %v, want ErrUpgrade and a deadline error", err)
		}
		if c := <-accepted; c != nil {
			c.Close()
		}
	})
	t.Run("dialer-stalls-in-noise", func(t *testing.T) {
		// The peer answers multistream, then goes silent inside Noise.
		addr, done := scriptedPeer(t, func(c net.Conn) {
			multistream.Negotiate(c, []string{"/noise"})
		})
		a, b := newHost(t, &host.Options{HandshakeTimeout: 300 * time.Millisecond}), newHost(t, nil)
		_, err := a.Dial(ctxTimeout(t, 10*time.Second), withPeer(t, toMA(t, addr), b.ID()))
		if !errors.Is(err, host.ErrUpgrade) || !errors.Is(err, noise.ErrHandshake) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Dial = %v, want ErrUpgrade, noise.ErrHandshake and a deadline error", err)
		}
		<-done
	})
	t.Run("listener", func(t *testing.T) {
		b := newHost(t, &host.Options{HandshakeTimeout: 300 * time.Millisecond})
		addr := listen(t, b)
		port, _ := addr.ValueForProtocol(6)
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// We send nothing; the host sends its header and then hangs up.
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "\x13/multistream/1.0.0\n" {
			t.Fatalf("read %q, %v; want the header, then EOF", got, err)
		}
	})
}

// Garbage instead of multistream-select gets a clear error, never a hang.
func TestGarbageInsteadOfMultistream(t *testing.T) {
	garbage := []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\nServer: not-libp2p/1.0\r\n\r\n")
	t.Run("dialer", func(t *testing.T) {
		addr, done := scriptedPeer(t, func(c net.Conn) { c.Write(garbage) })
		a, b := newHost(t, nil), newHost(t, nil)
		_, err := a.Dial(ctxTimeout(t, 10*time.Second), withPeer(t, toMA(t, addr), b.ID()))
		if !errors.Is(err, host.ErrUpgrade) || !errors.Is(err, multistream.ErrIncorrectVersion) {
			t.Fatalf("Dial = %v, want ErrUpgrade and multistream.ErrIncorrectVersion", err)
		}
		<-done
	})
	t.Run("listener", func(t *testing.T) {
		b := newHost(t, nil)
		addr := listen(t, b)
		port, _ := addr.ValueForProtocol(6)
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(garbage)
		// The host closes with our garbage unread, so the end may be a RST.
		got, err := io.ReadAll(c)
		// (The RST can also overtake the header.)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) || !strings.HasPrefix("\x13/multistream/1.0.0\n", string(got)) {
			t.Fatalf("read %q, %v; want (part of) the header, then EOF or RST", got, err)
		}
	})
}

// Host.Close does not wait for a stalled inbound handshake's timeout: it
// closes the connection under upgrade.
func TestHostCloseCutsPendingHandshake(t *testing.T) {
	k, _ := peer.GenerateEd25519Key(nil)
	b, err := host.New(k, &host.Options{HandshakeTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	addr := listen(t, b)
	port, _ := addr.ValueForProtocol(6)
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Our header arriving proves the upgrade has started.
	if _, err := multistream.ReadMessage(c); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Host.Close waited for the stalled handshake")
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after Close: %v, want EOF", err)
	}
}
