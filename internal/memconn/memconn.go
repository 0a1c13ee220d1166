// Package memconn provides an in-memory, buffered, full-duplex [net.Conn]
// pair for tests.
//
// It exists because [net.Pipe] is unbuffered: a Write on one end waits until
// the peer Reads the data. A stream multiplexer whose two sides both write
// (window updates, pings, headers) before they read deadlocks on such a pipe,
// whereas a real TCP connection absorbs those writes in kernel buffers. A
// memconn pair buffers up to [Options.Capacity] bytes in each direction, so it
// behaves like a TCP connection with a bounded send window.
//
// The implementation is friendly to [testing/synctest]: a blocked Read or
// Write waits only on channels (durably blocking), deadlines use
// [time.AfterFunc] (fake time inside a bubble), and no goroutines are
// started. Create the pair inside the bubble that uses it.
//
// For fault injection, [Conn.BlockWrites] simulates a stalled peer and
// [Conn.Reset] simulates a TCP RST. [Conn.Close] with unread inbound data
// resets the connection too, as a kernel does, and [Conn.CloseWrite]
// half-closes it.
package memconn

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultCapacity is the per-direction buffer size used when
// Options.Capacity is not positive.
const DefaultCapacity = 1 << 20

// Options configures [PipeWith]. The zero value selects the defaults.
type Options struct {
	// Capacity is the number of bytes each direction buffers before a Write
	// blocks. Zero or negative means DefaultCapacity.
	Capacity int
	// LocalAddr and RemoteAddr are the addresses reported by the first
	// returned Conn (the second Conn reports them swapped). Nil means an
	// address on the "memconn" network.
	LocalAddr, RemoteAddr net.Addr
}

// addr is the default address type; its network is "memconn".
type addr string

func (a addr) Network() string { return "memconn" }
func (a addr) String() string  { return string(a) }

// Pipe returns the two ends of a connection. Each direction buffers up to
// Options.Capacity bytes (default 1 MiB); a Write blocks (durably) while the
// buffer is full.
func Pipe() (*Conn, *Conn) { return PipeWith(Options{}) }

// PipeWith is like [Pipe] but configurable.
func PipeWith(opts Options) (*Conn, *Conn) {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultCapacity
	}
	if opts.LocalAddr == nil {
		opts.LocalAddr = addr("memconn-1")
	}
	if opts.RemoteAddr == nil {
		opts.RemoteAddr = addr("memconn-2")
	}
	ab := &pipe{capacity: opts.Capacity}
	ba := &pipe{capacity: opts.Capacity}
	a := &Conn{rx: ba, tx: ab, local: opts.LocalAddr, remote: opts.RemoteAddr}
	b := &Conn{rx: ab, tx: ba, local: opts.RemoteAddr, remote: opts.LocalAddr}
	return a, b
}

// Conn is one end of an in-memory connection. It implements [net.Conn];
// all methods are safe for concurrent use.
type Conn struct {
	rx, tx        *pipe // rx: data we read; tx: data we write
	rdl, wdl      deadline
	local, remote net.Addr
	written       atomic.Int64
}

var _ net.Conn = (*Conn)(nil)

// Write state of a pipe.
const (
	writeOpen     = iota
	writeShutdown // CloseWrite: reader gets io.EOF after draining
	writeClosed   // Close: as writeShutdown, and the writer gets net.ErrClosed
)

// pipe is one direction of a connection: a bounded ring buffer plus state.
type pipe struct {
	mu       sync.Mutex
	buf      []byte // ring buffer, grown lazily up to capacity
	r, n     int    // read offset and number of buffered bytes
	capacity int
	wstate   int
	rclosed  bool          // reading end closed: writes fail, data discarded
	reset    bool          // connection reset: everything fails
	stalled  bool          // BlockWrites(true) on the writing end
	changed  chan struct{} // closed on state change; nil when nobody waits
}

// wait releases p.mu until p changes or dl is closed. p.mu must be held.
func (p *pipe) wait(dl <-chan struct{}) {
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	ch := p.changed
	p.mu.Unlock()
	select {
	case <-ch:
	case <-dl:
	}
	p.mu.Lock()
}

// broadcast wakes all waiters. p.mu must be held.
func (p *pipe) broadcast() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// read moves up to len(b) buffered bytes into b.
func (p *pipe) read(b []byte) int {
	n := 0
	for n < len(b) && p.n > 0 {
		k := copy(b[n:], p.buf[p.r:min(len(p.buf), p.r+p.n)])
		p.r = (p.r + k) % len(p.buf)
		p.n -= k
		n += k
	}
	if p.n == 0 {
		p.r = 0
	}
	return n
}

// write copies as much of b as fits below capacity into the buffer.
func (p *pipe) write(b []byte) int {
	if len(p.buf)-p.n < len(b) && len(p.buf) < p.capacity {
		nb := make([]byte, min(p.capacity, max(2*len(p.buf), p.n+len(b), 4096)))
		p.n = p.read(nb)
		p.buf, p.r = nb, 0
	}
	n := 0
	for n < len(b) && p.n < len(p.buf) {
		w := (p.r + p.n) % len(p.buf)
		end := len(p.buf)
		if w < p.r {
			end = p.r
		}
		k := copy(p.buf[w:end], b[n:])
		p.n += k
		n += k
	}
	return n
}

func (p *pipe) discard() { p.buf, p.r, p.n = nil, 0, 0 }

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "memconn", Source: c.local, Addr: c.remote, Err: err}
}

func (c *Conn) resetErr(op string) error {
	return c.opErr(op, os.NewSyscallError(op, syscall.ECONNRESET))
}

// Read reads available data (at least one byte) without waiting for more. It
// returns io.EOF once the peer has closed (or half-closed) and everything it
// wrote has been read.
func (c *Conn) Read(b []byte) (int, error) {
	p := c.rx
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		dl := c.rdl.wait()
		switch {
		case p.rclosed:
			return 0, c.opErr("read", net.ErrClosed)
		case p.reset:
			return 0, c.resetErr("read")
		case isClosed(dl):
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case len(b) == 0:
			return 0, nil
		case p.n > 0:
			n := p.read(b)
			p.broadcast()
			return n, nil
		case p.wstate != writeOpen:
			return 0, io.EOF
		}
		p.wait(dl)
	}
}

// Write writes all of b, blocking while the buffer is full (or while
// BlockWrites is in effect). On error it returns the number of bytes that were
// buffered. Writing after the peer closed fails with io.ErrClosedPipe.
func (c *Conn) Write(b []byte) (int, error) {
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for {
		dl := c.wdl.wait()
		switch {
		case p.wstate == writeClosed:
			return n, c.opErr("write", net.ErrClosed)
		case p.reset:
			return n, c.resetErr("write")
		case p.wstate == writeShutdown || p.rclosed:
			return n, c.opErr("write", io.ErrClosedPipe)
		case isClosed(dl):
			return n, c.opErr("write", os.ErrDeadlineExceeded)
		case len(b) == 0:
			return 0, nil
		case !p.stalled && p.n < p.capacity:
			k := p.write(b[n:])
			n += k
			c.written.Add(int64(k))
			p.broadcast()
			if n == len(b) {
				return n, nil
			}
			continue
		}
		p.wait(dl)
	}
}

// Close closes the connection. It is idempotent and always returns nil. The
// peer reads io.EOF after draining what we wrote, and its Writes fail with
// io.ErrClosedPipe; our own Reads and Writes fail with net.ErrClosed.
//
// Closing an end that still has unread inbound bytes behaves as a TCP
// socket does: the kernel answers with RST, so the peer loses whatever we
// wrote that it has not read yet, and its Reads and Writes fail with an
// error wrapping syscall.ECONNRESET. A multiplexer that closes without
// draining its input therefore loses data here exactly as it would over
// TCP.
func (c *Conn) Close() error {
	c.rx.mu.Lock()
	unread := c.rx.n > 0 && !c.rx.rclosed
	c.rx.rclosed = true
	c.rx.discard()
	if unread {
		c.rx.reset = true // the peer's Writes fail with ECONNRESET
	}
	c.rx.broadcast()
	c.rx.mu.Unlock()
	c.tx.mu.Lock()
	c.tx.wstate = writeClosed
	if unread {
		c.tx.reset = true // the peer's Reads fail, its unread data is gone
		c.tx.discard()
	}
	c.tx.broadcast()
	c.tx.mu.Unlock()
	c.rdl.set(time.Time{}) // stop timers
	c.wdl.set(time.Time{})
	return nil
}

// CloseWrite shuts down the writing side: the peer reads io.EOF after
// draining, while we may still read. Our further Writes fail with
// io.ErrClosedPipe.
func (c *Conn) CloseWrite() error {
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wstate == writeClosed {
		return c.opErr("close", net.ErrClosed)
	}
	p.wstate = writeShutdown
	p.broadcast()
	return nil
}

// BlockWrites makes Writes from this end block, while block is true, as if the
// peer stopped reading (a stalled TCP window), regardless of buffer space.
// Deadlines, Close and Reset still interrupt them.
func (c *Conn) BlockWrites(block bool) {
	c.tx.mu.Lock()
	c.tx.stalled = block
	c.tx.broadcast()
	c.tx.mu.Unlock()
}

// Reset abruptly fails the connection like a TCP RST: pending and future
// Reads and Writes on both ends fail at once with an error wrapping
// syscall.ECONNRESET, and buffered data is discarded.
func (c *Conn) Reset() {
	for _, p := range []*pipe{c.rx, c.tx} {
		p.mu.Lock()
		p.reset = true
		p.discard()
		p.broadcast()
		p.mu.Unlock()
	}
}

// BytesWritten returns the total number of bytes this end has written.
func (c *Conn) BytesWritten() int64 { return c.written.Load() }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline. A deadline in the past interrupts
// pending Reads with an error matching os.ErrDeadlineExceeded (a net.Error
// whose Timeout method returns true); the zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// ReadInterruptible reports true: a Read that a read deadline in the past
// interrupts consumes nothing, and Reads go on once the deadline is
// cleared (yamux.InterruptibleReader).
func (c *Conn) ReadInterruptible() bool { return true }

// SetWriteDeadline sets the write deadline; see SetReadDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

func (c *Conn) isClosed() bool {
	c.rx.mu.Lock()
	defer c.rx.mu.Unlock()
	return c.rx.rclosed
}

// deadline holds a channel that is closed when the deadline expires. The
// channel is replaced only when a deadline is set after it has expired, so
// blocked operations observe extensions and expiry alike.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	expired chan struct{} // created lazily, in the caller's synctest bubble
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	if d.timer != nil && !d.timer.Stop() {
		<-d.expired // the callback is running; wait for it to close the channel
	}
	d.timer = nil
	wasExpired := isClosed(d.expired)
	dur := time.Until(t)
	if !t.IsZero() && dur <= 0 {
		if !wasExpired {
			close(d.expired)
		}
		return
	}
	if wasExpired {
		d.expired = make(chan struct{})
	}
	if !t.IsZero() {
		ch := d.expired
		d.timer = time.AfterFunc(dur, func() { close(ch) })
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	return d.expired
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
