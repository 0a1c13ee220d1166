package noise_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/yamuxgo/yamux/noise"
)

// flipProxy forwards one TCP connection to a target on loopback and, once
// armed, flips one bit of the client-to-server stream at a chosen offset.
// Every goroutine it starts ends by the test's cleanup.
type flipProxy struct {
	ln        net.Listener
	flipAt    atomic.Int64 // absolute client-to-server offset; -1 for none
	forwarded atomic.Int64 // client-to-server bytes forwarded so far
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     []net.Conn
}

func newFlipProxy(t *testing.T, target string) *flipProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flipProxy{ln: ln}
	p.flipAt.Store(-1)
	p.wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c, true) })
		p.wg.Go(func() { p.pipe(c, s, false) })
	})
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *flipProxy) pipe(dst, src net.Conn, upstream bool) {
	defer dst.(*net.TCPConn).CloseWrite()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && upstream {
			off := p.forwarded.Load()
			if at := p.flipAt.Load(); at >= off && at < off+int64(n) {
				buf[at-off] ^= 0x80
			}
			p.forwarded.Add(int64(n))
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// proxiedPair returns a secured pair whose initiator-to-responder bytes go
// through a flipProxy.
func proxiedPair(t *testing.T) (*noise.Conn, *noise.Conn, *flipProxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	proxy := newFlipProxy(t, ln.Addr().String())
	kr := identity(t, 2)
	type res struct {
		c   *noise.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			ch <- res{nil, err}
			return
		}
		c, err := noise.SecureInbound(context.Background(), raw, noise.Config{Identity: kr})
		ch <- res{c, err}
	}()
	raw, err := net.Dial("tcp", proxy.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ci, err := noise.SecureOutbound(context.Background(), raw, noise.Config{Identity: identity(t, 1)}, kr.ID())
	r := <-ch
	if err != nil || r.err != nil {
		t.Fatalf("handshake: %v, %v", err, r.err)
	}
	t.Cleanup(func() { ci.Close(); r.c.Close() })
	// The responder has read message 3, so every handshake byte has passed
	// the proxy: offsets from here on are the record layer's.
	return ci, r.c, proxy
}

const fullFrame = 2 + noise.MaxMessageSize

// One flipped ciphertext bit, wherever it lands in a message, fails the
// reader with ErrDecrypt exactly at that message: everything before it is
// delivered intact, nothing after it at all.
func TestFaultProxyFlip(t *testing.T) {
	const bad = 5 // index of the message hit
	for _, c := range []struct {
		name string
		off  int64 // within message bad
	}{
		{"ciphertext", 1000},
		{"first byte of ciphertext", 2},
		{"tag", fullFrame - 1},
		{"length prefix, high byte", 0},
		{"length prefix, low byte", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ci, cr, proxy := proxiedPair(t)
			proxy.flipAt.Store(proxy.forwarded.Load() + bad*fullFrame + c.off)
			data := pattern(2<<20, 3)
			written := make(chan error, 1)
			go func() {
				_, err := ci.Write(data)
				written <- err
			}()
			var got []byte
			buf := make([]byte, 50000)
			var err error
			for {
				var n int
				n, err = cr.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if !errors.Is(err, noise.ErrDecrypt) {
				t.Fatalf("reader error %v, want ErrDecrypt", err)
			}
			if want := data[:bad*noise.MaxPlaintextSize]; len(got) != len(want) || string(got) != string(want) {
				t.Fatalf("delivered %d bytes before the error, want exactly the %d before the damaged message", len(got), len(want))
			}
			for range 3 {
				if n, err2 := cr.Read(buf); n != 0 || err2 != err {
					t.Fatalf("Read after the failure = %d, %v; want 0 and the same error", n, err2)
				}
			}
			cr.Close() // the writer may be blocked on a full socket
			<-written
		})
	}
}
