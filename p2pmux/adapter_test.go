package p2pmux

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	stockyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/yamuxgo/yamux"
)

// muxerPair connects a client MuxedConn built by client to a server
// MuxedConn built by server over loopback TCP; both are closed at cleanup.
// It also returns the client's net.Conn.
func muxerPair(t *testing.T, client, server network.Multiplexer) (network.MuxedConn, network.MuxedConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := l.Accept()
		ch <- accepted{c, err}
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		t.Fatal(a.err)
	}
	mc, err := client.NewConn(nc, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := server.NewConn(a.c, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mc.Close()
		ms.Close()
	})
	return mc, ms, nc
}

// transports names the multiplexers the wire-level tests pair up: ours on
// both ends (the symmetric case) and ours against go-libp2p's stock
// go-yamux transport in both roles.
var transportPairs = []struct {
	name           string
	client, server network.Multiplexer
}{
	{"ours-ours", DefaultTransport, DefaultTransport},
	{"ours-stock", DefaultTransport, stockyamux.DefaultTransport},
	{"stock-ours", stockyamux.DefaultTransport, DefaultTransport},
}

// openAccepted opens a stream on from, writes one byte so the peer learns
// of it, and returns it with the peer's accepted end.
func openAccepted(t *testing.T, from, to network.MuxedConn) (network.MuxedStream, network.MuxedStream) {
	t.Helper()
	s, err := from.OpenStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	r, err := to.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return s, r
}

// isOurs reports whether c is one of our conns (only ours can be checked
// for the local side of errors: go-yamux reports its own resets its way).
func isOurs(c network.MuxedConn) bool {
	var s *yamux.Session
	return c.As(&s)
}

func TestResetWithErrorCodeReachesPeer(t *testing.T) {
	const code = network.StreamProtocolViolation
	for _, p := range transportPairs {
		t.Run(p.name, func(t *testing.T) {
			mc, ms, _ := muxerPair(t, p.client, p.server)
			// Both directions: the client resets a stream the server reads,
			// and the server resets a stream the client reads.
			for _, dir := range []struct {
				name     string
				from, to network.MuxedConn
			}{{"client-resets", mc, ms}, {"server-resets", ms, mc}} {
				t.Run(dir.name, func(t *testing.T) {
					s, r := openAccepted(t, dir.from, dir.to)
					if err := s.ResetWithError(code); err != nil {
						t.Fatal(err)
					}
					_, err := r.Read(make([]byte, 1))
					var se *network.StreamError
					if !errors.As(err, &se) {
						t.Fatalf("peer's Read after reset: %v (%T), want *network.StreamError", err, err)
					}
					if se.ErrorCode != code || !se.Remote {
						t.Fatalf("peer's Read: code 0x%x remote %v, want 0x%x remote true", se.ErrorCode, se.Remote, code)
					}
					if !errors.Is(err, network.ErrReset) {
						t.Fatalf("peer's Read error %v does not match network.ErrReset", err)
					}
					if !isOurs(dir.from) {
						return
					}
					_, err = s.Write([]byte{2})
					if !errors.As(err, &se) || se.ErrorCode != code || se.Remote {
						t.Fatalf("own Write after ResetWithError: %v, want local *network.StreamError code 0x%x", err, code)
					}
					if !errors.Is(err, network.ErrReset) || !errors.Is(err, yamux.ErrStreamReset) {
						t.Fatalf("own Write error %v must match network.ErrReset and yamux.ErrStreamReset", err)
					}
				})
			}
		})
	}
}

func TestPlainResetMatchesErrReset(t *testing.T) {
	for _, p := range transportPairs {
		t.Run(p.name, func(t *testing.T) {
			mc, ms, _ := muxerPair(t, p.client, p.server)
			s, r := openAccepted(t, mc, ms)
			if err := r.Reset(); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(s)
			var se *network.StreamError
			if !errors.As(err, &se) || se.ErrorCode != network.StreamNoError || !se.Remote {
				t.Fatalf("Read after the peer's Reset: %v, want remote *network.StreamError code 0", err)
			}
			if !errors.Is(err, network.ErrReset) {
				t.Fatalf("%v does not match network.ErrReset", err)
			}
		})
	}
}

func TestCloseWithErrorCodeReachesPeer(t *testing.T) {
	const code = network.ConnGarbageCollected
	for _, p := range transportPairs {
		t.Run(p.name, func(t *testing.T) {
			for _, closer := range []string{"client", "server"} {
				t.Run(closer+"-closes", func(t *testing.T) {
					mc, ms, _ := muxerPair(t, p.client, p.server)
					from, to := mc, ms
					if closer == "server" {
						from, to = ms, mc
					}
					_, r := openAccepted(t, from, to)
					readErr := make(chan error, 1)
					go func() {
						_, err := r.Read(make([]byte, 1))
						readErr <- err
					}()
					// The peer keeps writing while we close: frames are in
					// flight towards the closing side, the case where a
					// close without lingering made the kernel reset the
					// connection and the peer lose the GO_AWAY.
					writeErr := make(chan error, 1)
					go func() {
						chunk := make([]byte, 16<<10)
						for {
							if _, err := r.Write(chunk); err != nil {
								writeErr <- err
								return
							}
						}
					}()
					if err := from.CloseWithError(code); err != nil {
						t.Fatal(err)
					}
					_, err := to.AcceptStream()
					var ce *network.ConnError
					if !errors.As(err, &ce) || ce.ErrorCode != code || !ce.Remote {
						t.Fatalf("peer's AcceptStream after CloseWithError: %v (%T), want remote *network.ConnError code 0x%x", err, err, code)
					}
					if !errors.Is(err, network.ErrReset) {
						t.Fatalf("%v does not match network.ErrReset", err)
					}
					err = <-readErr
					if !errors.As(err, &ce) || ce.ErrorCode != code || !ce.Remote {
						t.Fatalf("peer's blocked Read: %v (%T), want remote *network.ConnError code 0x%x", err, err, code)
					}
					if !errors.Is(err, network.ErrReset) {
						t.Fatalf("%v does not match network.ErrReset", err)
					}
					err = <-writeErr
					if !errors.As(err, &ce) || ce.ErrorCode != code || !ce.Remote {
						t.Fatalf("peer's Write during the close: %v (%T), want remote *network.ConnError code 0x%x", err, err, code)
					}
					if !isOurs(from) {
						return
					}
					_, err = from.OpenStream(context.Background())
					if !errors.As(err, &ce) || ce.ErrorCode != code || ce.Remote {
						t.Fatalf("own OpenStream after CloseWithError: %v, want local *network.ConnError code 0x%x", err, code)
					}
					if !errors.Is(err, yamux.ErrSessionShutdown) {
						t.Fatalf("%v should still match yamux.ErrSessionShutdown", err)
					}
				})
			}
		})
	}
}

func TestCloseClosesUnderlyingConn(t *testing.T) {
	mc, ms, nc := muxerPair(t, DefaultTransport, DefaultTransport)
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	if !mc.IsClosed() {
		t.Fatal("IsClosed false after Close")
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on the underlying conn after Close: %v, want net.ErrClosed", err)
	}
	// The peer learns of it: its session ends too.
	if _, err := ms.AcceptStream(); !errors.Is(err, network.ErrReset) {
		t.Fatalf("peer's AcceptStream after Close: %v, want a ConnError", err)
	}
	if err := mc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestAsExposesSession(t *testing.T) {
	mc, ms, _ := muxerPair(t, DefaultTransport, DefaultTransport)
	var sess *yamux.Session
	if !mc.As(&sess) || sess == nil {
		t.Fatal("As(**yamux.Session) = false")
	}
	s, _ := openAccepted(t, mc, ms)
	defer s.Close()
	if n := sess.NumStreams(); n != 1 {
		t.Fatalf("session behind As has %d streams, want 1", n)
	}
	var other *net.TCPConn
	if mc.As(&other) {
		t.Fatal("As(**net.TCPConn) = true")
	}
	if mc.As(sess) {
		t.Fatal("As(*yamux.Session) (not a pointer to a pointer) = true")
	}
}

func TestDeadlineErrorsPassThrough(t *testing.T) {
	mc, ms, _ := muxerPair(t, DefaultTransport, DefaultTransport)
	s, _ := openAccepted(t, mc, ms)
	if err := s.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past the deadline: %v, want a timeout matching os.ErrDeadlineExceeded", err)
	}
	if errors.Is(err, network.ErrReset) {
		t.Fatal("a deadline must not look like a reset")
	}
}

func TestTranslateErrorTable(t *testing.T) {
	if translateError(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	for _, err := range []error{io.EOF, yamux.ErrStreamClosed, context.Canceled, yamux.ErrTimeout} {
		if got := translateError(err); got != err {
			t.Errorf("translateError(%v) = %v, want it unchanged", err, got)
		}
	}
	var ce *network.ConnError
	got := translateError(yamux.ErrRemoteGoAway)
	if !errors.As(got, &ce) || !ce.Remote || ce.ErrorCode != 0 || !errors.Is(got, yamux.ErrRemoteGoAway) {
		t.Fatalf("translateError(ErrRemoteGoAway) = %v, want remote ConnError code 0 wrapping it", got)
	}
	wrapped := translateError(&yamux.SessionError{Code: 7, Remote: true, Cause: yamux.ErrKeepAliveTimeout})
	var ne net.Error
	if !errors.As(wrapped, &ce) || ce.ErrorCode != 7 || !errors.As(wrapped, &ne) || !ne.Timeout() {
		t.Fatalf("a keepalive-timeout session end = %v, want ConnError code 7 still a net.Error timeout", wrapped)
	}
}

func TestNewTransport(t *testing.T) {
	bad := DefaultConfig()
	bad.MaxStreamWindowSize = 1
	if _, err := NewTransport(bad); err == nil {
		t.Fatal("NewTransport accepted a 1-byte maximum window")
	}
	tr, err := NewTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Config()
	if c.MaxStreamWindowSize != 16<<20 {
		t.Fatalf("MaxStreamWindowSize = %d, want 16 MiB", c.MaxStreamWindowSize)
	}
	if c.Logger != nil {
		t.Fatal("the default transport must not log")
	}
	c.MaxStreamWindowSize = 1 << 20
	if tr.Config().MaxStreamWindowSize != 16<<20 {
		t.Fatal("Config returned the transport's own struct, not a copy")
	}
}

// TestNoIncomingStreamLimitOfOurOwn holds more inbound streams open at
// once than the core's default MaxIncomingStreams (1000): in a go-libp2p
// host the resource manager is the only stream limit. Each stream is
// answered by the server, so a refused stream shows up as a reset on the
// client's Read instead of a hang.
func TestNoIncomingStreamLimitOfOurOwn(t *testing.T) {
	const n = 1500
	mc, ms, _ := muxerPair(t, DefaultTransport, DefaultTransport)
	accepted := make(chan network.MuxedStream, n)
	go func() {
		// Ends when the session does (at cleanup at the latest).
		for {
			r, err := ms.AcceptStream()
			if err != nil {
				return
			}
			if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
				r.Reset()
				continue
			}
			r.Write([]byte{2})
			accepted <- r
		}
	}()
	opened := make([]network.MuxedStream, 0, n)
	for range n {
		s, err := mc.OpenStream(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		opened = append(opened, s)
	}
	for i, s := range opened {
		if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
			t.Fatalf("stream %d of %d: %v", i+1, n, err)
		}
	}
	var sess *yamux.Session
	ms.As(&sess)
	if got := sess.NumStreams(); got != n {
		t.Fatalf("server holds %d live streams, want %d", got, n)
	}
	for _, s := range opened {
		s.Close()
	}
	for range n {
		(<-accepted).Close()
	}
}
