package libp2p

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// tapProxy forwards one TCP connection to target and keeps the first
// bytes of each direction: enough to see the plaintext multistream-select
// exchange before Noise starts.
type tapProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu           sync.Mutex
	conns        []net.Conn
	fromDialer   bytes.Buffer
	fromListener bytes.Buffer
}

const tapKeep = 256

func newTapProxy(t testing.TB, target string) *tapProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tapProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *tapProxy) serve() {
	defer p.wg.Done()
	c, err := p.ln.Accept()
	if err != nil {
		return
	}
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = []net.Conn{c, u}
	p.mu.Unlock()
	p.wg.Add(2)
	go func() { defer p.wg.Done(); p.pump(u, c, &p.fromDialer); u.(*net.TCPConn).CloseWrite() }()
	go func() { defer p.wg.Done(); p.pump(c, u, &p.fromListener); c.(*net.TCPConn).CloseWrite() }()
}

func (p *tapProxy) pump(dst, src net.Conn, keep *bytes.Buffer) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if room := tapKeep - keep.Len(); room > 0 {
				keep.Write(buf[:min(n, room)])
			}
			p.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed conn: the caller half-closes dst
		}
	}
}

// seen returns copies of what each side sent first.
func (p *tapProxy) seen() (fromDialer, fromListener []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.fromDialer.Bytes()), bytes.Clone(p.fromListener.Bytes())
}

func (p *tapProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
