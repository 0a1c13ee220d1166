package host_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const echoID = "/echo/1.0.0"

// newHost returns a host with an echo handler, closed at cleanup.
func newHost(t testing.TB, opts *host.Options) *host.Host {
	t.Helper()
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.SetStreamHandler(echoID, func(s *host.Stream) {
		defer s.Close()
		io.Copy(s, s)
		s.CloseWrite()
	})
	t.Cleanup(func() { h.Close() })
	return h
}

// listen makes h listen on loopback and returns its dialable address.
func listen(t testing.TB, h *host.Host) ma.Multiaddr {
	t.Helper()
	if err := h.Listen(ma.StringCast("/ip4/127.0.0.1/tcp/0")); err != nil {
		t.Fatal(err)
	}
	return withPeer(t, h.Addrs()[0], h.ID())
}

func withPeer(t testing.TB, a ma.Multiaddr, id peer.ID) ma.Multiaddr {
	t.Helper()
	p2p, err := ma.NewComponent("p2p", id.String())
	if err != nil {
		t.Fatal(err)
	}
	return a.Encapsulate(p2p)
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echo writes n random bytes on a new echo stream, half-closes, and checks
// that the same bytes come back.
func echo(t testing.TB, ctx context.Context, c *host.Conn, n int) error {
	s, err := c.NewStream(ctx, echoID)
	if err != nil {
		return err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	data := make([]byte, n)
	rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	got, err := io.Copy(h, s)
	if err != nil {
		return err
	}
	if err := <-werr; err != nil {
		return err
	}
	if got != int64(n) || [32]byte(h.Sum(nil)) != sha256.Sum256(data) {
		return errMismatch
	}
	return nil
}

var errMismatch = io.ErrShortBuffer

// proxy forwards TCP between a client and target, with faults on demand.
type proxy struct {
	ln     net.Listener
	target string
	// flipAt, when > 0, flips one bit of the byte at this offset of the
	// target-to-client direction.
	flipAt int64

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
	moved atomic.Int64
	holed atomic.Bool
}

func newProxy(t testing.TB, target ma.Multiaddr, flipAt int64) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tgt, _ := target.ValueForProtocol(ma.P_TCP)
	p := &proxy{ln: ln, target: "127.0.0.1:" + tgt, flipAt: flipAt}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// addr is the proxy's address with the target's peer ID.
func (p *proxy) addr(t testing.TB, id peer.ID) ma.Multiaddr {
	a, err := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/" + portOf(p.ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	return withPeer(t, a, id)
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.pump(u, c, 0); c.(*net.TCPConn).CloseWrite() }()
		go func() { defer p.wg.Done(); p.pump(c, u, p.flipAt); u.(*net.TCPConn).CloseWrite() }()
	}
}

// pump copies src to dst, flipping the byte at offset flip (if > 0).
func (p *proxy) pump(dst, src net.Conn, flip int64) {
	buf := make([]byte, 32<<10)
	var off int64
	for {
		n, err := src.Read(buf)
		if p.holed.Load() {
			n = 0 // swallowed
		}
		if n > 0 {
			if flip > 0 && off <= flip && flip < off+int64(n) {
				buf[flip-off] ^= 0x01
			}
			off += int64(n)
			p.moved.Add(int64(n))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// kill drops every proxied connection: with rst, as a TCP reset.
func (p *proxy) kill(rst bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if rst {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.kill(false)
	p.wg.Wait()
}

// blackhole stops forwarding in both directions; the sockets stay open.
func (p *proxy) blackhole() { p.holed.Store(true) }

func toMA(t testing.TB, a net.Addr) ma.Multiaddr {
	t.Helper()
	m, err := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/" + portOf(a))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
