package yamux_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// faultProxy is a small toxiproxy-style TCP proxy for fault tests: it
// listens on 127.0.0.1, dials target for every client it accepts and
// forwards bytes both ways. Its mode is switched at run time:
//
//   - faultPass forwards;
//   - faultBlackhole stops forwarding in both directions while both TCP
//     connections stay open (no FIN, no RST): bytes read meanwhile, and an
//     EOF or error, are held and delivered if the mode returns to pass, as
//     after a healed network partition;
//   - faultRST closes both sides of every link with SetLinger(0), so each
//     end receives a TCP RST; links accepted later are reset at once.
//
// Every goroutine it starts ends on Close.
type faultProxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu     sync.Mutex
	mode   faultMode
	modeCh chan struct{} // closed and replaced on every mode change and on Close
	closed bool
	links  map[*faultLink]struct{}
	wg     sync.WaitGroup

	// forwarded counts bytes written to either side.
	forwarded atomic.Int64
}

type faultMode int

const (
	faultPass faultMode = iota
	faultBlackhole
	faultRST
)

func (m faultMode) String() string {
	switch m {
	case faultPass:
		return "pass"
	case faultBlackhole:
		return "blackhole"
	case faultRST:
		return "rst"
	}
	return "unknown"
}

// faultLink is one proxied connection: client is the accepted side,
// server the dialed one.
type faultLink struct {
	client, server net.Conn
	once           sync.Once
	halfDone       atomic.Int32 // directions that ended with EOF
}

// newFaultProxy starts a proxy in front of target and closes it at cleanup.
func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{
		t:      t,
		ln:     ln,
		target: target,
		modeCh: make(chan struct{}),
		links:  make(map[*faultLink]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.Close)
	return p
}

// Addr is the address clients dial.
func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

// SetMode switches every current and future link to m.
func (p *faultProxy) SetMode(m faultMode) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.mode = m
	close(p.modeCh)
	p.modeCh = make(chan struct{})
	var reset []*faultLink
	if m == faultRST {
		for l := range p.links {
			reset = append(reset, l)
		}
	}
	p.mu.Unlock()
	for _, l := range reset {
		l.reset()
	}
}

// Close stops the proxy, closes every link and waits for its goroutines.
func (p *faultProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.closed = true
	close(p.modeCh)
	links := p.links
	p.links = map[*faultLink]struct{}{}
	p.mu.Unlock()
	p.ln.Close()
	for l := range links {
		l.close()
	}
	p.wg.Wait()
}

// current returns the mode and the channel closed on its next change.
func (p *faultProxy) current() (faultMode, <-chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.modeCh, p.closed
}

func (p *faultProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			p.t.Errorf("faultProxy: dial %s: %v", p.target, err)
			continue
		}
		l := &faultLink{client: c, server: s}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			l.close()
			return
		}
		p.links[l] = struct{}{}
		mode := p.mode
		p.wg.Add(2)
		p.mu.Unlock()
		if mode == faultRST {
			l.reset()
		}
		go p.pipe(l, c, s)
		go p.pipe(l, s, c)
	}
}

// pipe forwards src to dst according to the mode.
func (p *faultProxy) pipe(l *faultLink, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32*1024)
	for {
		n, rerr := src.Read(buf)
		// Hold what was read while blackholed; give up on rst or Close.
		if !p.waitPass() {
			l.close()
			p.forget(l)
			return
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				l.close()
				p.forget(l)
				return
			}
			p.forwarded.Add(int64(n))
		}
		if rerr == nil {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			// Pass the half-close on; the link closes once both
			// directions have ended.
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			if l.halfDone.Add(1) == 2 {
				l.close()
				p.forget(l)
			}
			return
		}
		l.close()
		p.forget(l)
		return
	}
}

// waitPass blocks while the proxy is blackholed and reports whether
// forwarding may go on (false after rst or Close).
func (p *faultProxy) waitPass() bool {
	for {
		mode, ch, closed := p.current()
		if closed || mode == faultRST {
			return false
		}
		if mode == faultPass {
			return true
		}
		<-ch
	}
}

func (p *faultProxy) forget(l *faultLink) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// reset closes both sides with SetLinger(0): each end gets a TCP RST.
func (l *faultLink) reset() {
	l.once.Do(func() {
		for _, c := range []net.Conn{l.client, l.server} {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
		}
	})
}

// close closes both sides gracefully (FIN), unless already reset.
func (l *faultLink) close() {
	l.once.Do(func() {
		l.client.Close()
		l.server.Close()
	})
}

// faultDialPair returns a client conn that reaches a server conn through
// a new faultProxy.
func faultDialPair(t testing.TB) (client, server net.Conn, p *faultProxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p = newFaultProxy(t, ln.Addr().String())
	client, server = dialAccept(t, ln, p.Addr())
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server, p
}

// TestFaultProxyModes checks the proxy itself: pass forwards, blackhole
// holds bytes without closing anything and releases them on pass, rst
// gives both ends ECONNRESET.
func TestFaultProxyModes(t *testing.T) {
	c, s, p := faultDialPair(t)
	roundTrip := func(msg string) {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("client write: %v", err)
		}
		got := make([]byte, len(msg))
		if _, err := readFullConn(s, got); err != nil || string(got) != msg {
			t.Fatalf("server read = %q, %v; want %q, nil", got, err, msg)
		}
	}
	roundTrip("hello")

	p.SetMode(faultBlackhole)
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatalf("client write while blackholed: %v", err)
	}
	if _, err := s.Write([]byte("back")); err != nil {
		t.Fatalf("server write while blackholed: %v", err)
	}
	// Nothing arrives, and nothing is closed, while blackholed.
	if n, err := readWithin(s, faultShortWait); n != 0 || !isTimeout(err) {
		t.Fatalf("server read while blackholed = %d, %v; want 0, timeout", n, err)
	}
	if n, err := readWithin(c, faultShortWait); n != 0 || !isTimeout(err) {
		t.Fatalf("client read while blackholed = %d, %v; want 0, timeout", n, err)
	}
	p.SetMode(faultPass)
	got := make([]byte, 4)
	if _, err := readFullConn(s, got); err != nil || string(got) != "held" {
		t.Fatalf("server read after heal = %q, %v; want %q", got, err, "held")
	}
	if _, err := readFullConn(c, got); err != nil || string(got) != "back" {
		t.Fatalf("client read after heal = %q, %v; want %q", got, err, "back")
	}

	p.SetMode(faultRST)
	for name, conn := range map[string]net.Conn{"client": c, "server": s} {
		_, err := readWithin(conn, faultLongWait)
		if !isConnReset(err) {
			t.Errorf("%s read after rst: err = %v, want ECONNRESET", name, err)
		}
	}
}

// Real-time waits of the proxy's own test: long enough for loopback, short
// enough to keep the package fast.
const (
	faultShortWait = 50 * time.Millisecond
	faultLongWait  = 5 * time.Second
)

// readFullConn reads len(b) bytes from c, giving up after faultLongWait.
func readFullConn(c net.Conn, b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(faultLongWait))
	defer c.SetReadDeadline(time.Time{})
	return io.ReadFull(c, b)
}

// readWithin reads once from c with a deadline d from now.
func readWithin(c net.Conn, d time.Duration) (int, error) {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	var b [64]byte
	return c.Read(b[:])
}

// isTimeout reports whether err is a net.Error timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnReset reports whether err is a TCP reset.
func isConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
