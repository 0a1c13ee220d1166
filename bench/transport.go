package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
)

// Transport is the byte pipe under a contender.
type Transport string

const (
	// TCP is loopback TCP (127.0.0.1) with Go's defaults (TCP_NODELAY on).
	TCP Transport = "tcp"
	// Unix is an AF_UNIX SOCK_STREAM socketpair: kernel-buffered, no TCP.
	Unix Transport = "unix"
)

// pair returns two connected ends.
func (t Transport) pair() (net.Conn, net.Conn, error) {
	switch t {
	case Unix:
		return socketpair()
	case TCP:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		defer ln.Close()
		ch := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			ch <- c
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		s := <-ch
		if err != nil || s == nil {
			if c != nil {
				c.Close()
			}
			if s != nil {
				s.Close()
			}
			return nil, nil, fmt.Errorf("muxbench: tcp pair: %w", errors.Join(err, net.ErrClosed))
		}
		return c, s, nil
	}
	return nil, nil, fmt.Errorf("muxbench: unknown transport %q", t)
}

func socketpair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("muxbench: socketpair: %w", err)
	}
	conv := func(fd int, name string) (net.Conn, error) {
		f := os.NewFile(uintptr(fd), name)
		defer f.Close() // FileConn dups the descriptor
		return net.FileConn(f)
	}
	a, err := conv(fds[0], "sp0")
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	b, err := conv(fds[1], "sp1")
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// rawLink makes one connection per stream. An acceptor goroutine, owned by
// the link and ended by Close, runs the server side of each new connection
// (accept, security handshake) so that Open never waits for the caller to
// call Accept.
type rawLink struct {
	tr     Transport
	sec    Secure
	ln     net.Listener // TCP only
	unixCh chan net.Conn
	ready  chan Stream
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open connections, both ends
	closed bool
}

// retrack replaces old with its secured wrapper in the set, so that
// CloseStream, which sees the wrapper, finds it. The wrapper's Close closes
// old too.
func (l *rawLink) retrack(old, secured net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[old]; ok {
		delete(l.conns, old)
		l.conns[secured] = struct{}{}
	}
}

// CloseStream closes one connection and forgets it, so a churn run does
// not pile up closed connections in the link. (A wrapper that forgets
// itself on Close would cost an allocation per connection, which the idle
// scenario would then charge to raw.)
func (l *rawLink) CloseStream(s Stream) error {
	if c, ok := s.(net.Conn); ok {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}
	return s.Close()
}

func newRawLink(tr Transport, sec Secure) (*rawLink, error) {
	l := &rawLink{tr: tr, sec: sec, ready: make(chan Stream, 64), done: make(chan struct{}),
		conns: map[net.Conn]struct{}{}}
	switch tr {
	case TCP:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		l.ln = ln
		l.wg.Add(1)
		go l.acceptTCP()
	case Unix:
		l.unixCh = make(chan net.Conn, 64)
		l.wg.Add(1)
		go l.acceptUnix()
	default:
		return nil, fmt.Errorf("muxbench: unknown transport %q", tr)
	}
	return l, nil
}

// track registers c so that Close closes it, or closes it at once and
// returns false once the link is closed.
func (l *rawLink) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *rawLink) acceptTCP() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.serve(c)
	}
}

func (l *rawLink) acceptUnix() {
	defer l.wg.Done()
	for {
		select {
		case c := <-l.unixCh:
			l.serve(c)
		case <-l.done:
			return
		}
	}
}

// serve hands one server-side connection to Accept, after the handshake
// (which runs in its own goroutine so one slow handshake does not hold up
// the others).
func (l *rawLink) serve(c net.Conn) {
	if !l.track(c) {
		return
	}
	deliver := func(c net.Conn) {
		select {
		case l.ready <- c:
		case <-l.done:
		}
	}
	if l.sec == nil {
		deliver(c)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sc, err := l.sec(c, false)
		if err != nil {
			c.Close()
			return
		}
		l.retrack(c, sc)
		deliver(sc)
	}()
}

func (l *rawLink) Open() (Stream, error) {
	var c net.Conn
	switch l.tr {
	case TCP:
		var err error
		if c, err = net.Dial("tcp", l.ln.Addr().String()); err != nil {
			return nil, err
		}
	case Unix:
		a, b, err := socketpair()
		if err != nil {
			return nil, err
		}
		select {
		case l.unixCh <- b:
		case <-l.done:
			a.Close()
			b.Close()
			return nil, errLinkClosed
		}
		c = a
	}
	if !l.track(c) {
		return nil, errLinkClosed
	}
	if l.sec != nil {
		sc, err := l.sec(c, true)
		if err != nil {
			return nil, err
		}
		l.retrack(c, sc)
		return sc, nil
	}
	return c, nil
}

func (l *rawLink) Accept() (Stream, error) {
	select {
	case s := <-l.ready:
		return s, nil
	case <-l.done:
		return nil, errLinkClosed
	}
}

func (l *rawLink) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	close(l.done)
	if l.ln != nil {
		l.ln.Close()
	}
	for c := range conns {
		c.Close()
	}
	l.wg.Wait()
	// Connections queued but never accepted.
	for {
		select {
		case c := <-l.unixCh:
			c.Close()
		case s := <-l.ready:
			s.Close()
		default:
			return nil
		}
	}
}
