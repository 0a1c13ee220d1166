package interop

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	hashicorp "github.com/hashicorp/yamux"
	goyamux "github.com/libp2p/go-yamux/v5"
)

// This file defines the small interface the harness is written against and
// the adapters for the two Go peer libraries. The adapter for our own package
// lives in ours_test.go (excluded with -tags nocore while the core does not
// build). An impl can play either role: "local" (the implementation under
// test, on which the scenarios assert) or "peer" (the other end).

// sessOpts tunes a session. Zero values mean the implementation's default.
type sessOpts struct {
	keepAlive time.Duration // keepalive ping interval; 0 = library default
	// closeTimeout is hashicorp's StreamCloseTimeout. hashicorp v0.1.2 has no
	// public Reset: the only way to make it send RST on a live stream is to
	// Close (FIN) it and let this timer expire without the peer's FIN.
	closeTimeout time.Duration
}

// stream is what the scenarios need from a stream.
type stream interface {
	io.ReadWriter
	CloseWrite() error // send FIN, keep reading
	Close() error
	Reset() error
	SetDeadline(time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// session is what the scenarios need from a session.
type session interface {
	Open(ctx context.Context) (stream, error)
	Accept(ctx context.Context) (stream, error)
	Ping() (time.Duration, error)
	GoAway() error
	Close() error
	CloseChan() <-chan struct{}
	IsClosed() bool
	Err() error // why the session ended, if the library reports it (nil otherwise)
}

type errKind string

const (
	kindNone     errKind = "none"
	kindEOF      errKind = "eof"
	kindReset    errKind = "reset"
	kindShutdown errKind = "session-closed"
	kindGoAway   errKind = "remote-goaway"
	kindClosed   errKind = "closed"
	kindTimeout  errKind = "timeout"
	kindOther    errKind = "other"
)

// impl is one Yamux implementation usable in-process.
type impl interface {
	Name() string
	NewSession(conn net.Conn, client bool, o sessOpts) (session, error)
	IsShutdown(err error) bool // "session unavailable"
	IsRemoteGoAway(err error) bool
	IsReset(err error) bool
	// goroutinePrefixes are the function-name prefixes that identify the
	// library's own goroutines in a stack dump (for the leak check).
	goroutinePrefixes() []string
	// hasReset reports whether Reset sends a RST at once (hashicorp: no).
	hasReset() bool
	// isOurs: the implementation under test proper (stricter wire checks).
	isOurs() bool
}

func classify(i impl, err error) errKind {
	switch {
	case err == nil:
		return kindNone
	case errors.Is(err, io.EOF):
		return kindEOF
	case i.IsReset(err):
		return kindReset
	case i.IsRemoteGoAway(err):
		return kindGoAway
	case i.IsShutdown(err):
		return kindShutdown
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return kindTimeout
	case errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "closed"):
		return kindClosed
	}
	return kindOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// registry of implementations usable as "local" (under test) or Go peer.
var (
	implsMu sync.Mutex
	impls   = map[string]impl{}
)

func registerImpl(i impl) {
	implsMu.Lock()
	defer implsMu.Unlock()
	impls[i.Name()] = i
}

func implNames() []string {
	implsMu.Lock()
	defer implsMu.Unlock()
	var out []string
	for n := range impls {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func lookupImpl(name string) (impl, bool) {
	implsMu.Lock()
	defer implsMu.Unlock()
	i, ok := impls[name]
	return i, ok
}

func init() {
	registerImpl(hashicorpImpl{})
	registerImpl(goyamuxImpl{})
}

// ---------------------------------------------------------------- hashicorp

type hashicorpImpl struct{}

func (hashicorpImpl) Name() string { return "hashicorp" }

func (hashicorpImpl) NewSession(conn net.Conn, client bool, o sessOpts) (session, error) {
	cfg := hashicorp.DefaultConfig()
	cfg.LogOutput = io.Discard
	// Keep the peer's own limits out of the way of the 1,000-stream test.
	cfg.AcceptBacklog = 2048
	if o.keepAlive > 0 {
		cfg.KeepAliveInterval = o.keepAlive
	}
	if o.closeTimeout > 0 {
		cfg.StreamCloseTimeout = o.closeTimeout
	}
	var s *hashicorp.Session
	var err error
	if client {
		s, err = hashicorp.Client(conn, cfg)
	} else {
		s, err = hashicorp.Server(conn, cfg)
	}
	if err != nil {
		return nil, err
	}
	return &hashicorpSession{s: s}, nil
}

func (hashicorpImpl) IsShutdown(err error) bool {
	return errors.Is(err, hashicorp.ErrSessionShutdown)
}
func (hashicorpImpl) IsRemoteGoAway(err error) bool { return errors.Is(err, hashicorp.ErrRemoteGoAway) }
func (hashicorpImpl) IsReset(err error) bool        { return errors.Is(err, hashicorp.ErrConnectionReset) }
func (hashicorpImpl) goroutinePrefixes() []string {
	return []string{"github.com/hashicorp/yamux."}
}
func (hashicorpImpl) hasReset() bool { return false }
func (hashicorpImpl) isOurs() bool   { return false }

type hashicorpSession struct{ s *hashicorp.Session }

func (h *hashicorpSession) Open(ctx context.Context) (stream, error) {
	st, err := callCtx(ctx, h.s.OpenStream, func(st *hashicorp.Stream) { st.Close() })
	if err != nil {
		return nil, err
	}
	return hashicorpStream{st}, nil
}

func (h *hashicorpSession) Accept(ctx context.Context) (stream, error) {
	st, err := h.s.AcceptStreamWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return hashicorpStream{st}, nil
}

func (h *hashicorpSession) Ping() (time.Duration, error) { return h.s.Ping() }
func (h *hashicorpSession) GoAway() error                { return h.s.GoAway() }
func (h *hashicorpSession) Close() error                 { return h.s.Close() }
func (h *hashicorpSession) CloseChan() <-chan struct{}   { return h.s.CloseChan() }
func (h *hashicorpSession) IsClosed() bool               { return h.s.IsClosed() }
func (h *hashicorpSession) Err() error                   { return nil }

// hashicorpStream: hashicorp's Close is a half-close (FIN, reads go on), so it
// is our CloseWrite. There is no Reset: Reset closes, and the session's
// StreamCloseTimeout (sessOpts.closeTimeout) later turns it into a RST.
type hashicorpStream struct{ *hashicorp.Stream }

func (s hashicorpStream) CloseWrite() error { return s.Stream.Close() }
func (s hashicorpStream) Reset() error      { return s.Stream.Close() }

// ------------------------------------------------------------- go-yamux v5

type goyamuxImpl struct{}

func (goyamuxImpl) Name() string { return "goyamux" }

func (goyamuxImpl) NewSession(conn net.Conn, client bool, o sessOpts) (session, error) {
	cfg := goyamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.AcceptBacklog = 2048
	cfg.MaxIncomingStreams = 4096
	if o.keepAlive > 0 {
		cfg.KeepAliveInterval = o.keepAlive
	}
	var s *goyamux.Session
	var err error
	if client {
		s, err = goyamux.Client(conn, cfg, nil)
	} else {
		s, err = goyamux.Server(conn, cfg, nil)
	}
	if err != nil {
		return nil, err
	}
	gs := &goyamuxSession{s: s, acceptCh: make(chan *goyamux.Stream), done: make(chan struct{})}
	go gs.acceptPump()
	return gs, nil
}

func (goyamuxImpl) IsShutdown(err error) bool {
	var ga *goyamux.GoAwayError
	return errors.Is(err, goyamux.ErrSessionShutdown) || errors.As(err, &ga)
}
func (goyamuxImpl) IsRemoteGoAway(err error) bool { return errors.Is(err, goyamux.ErrRemoteGoAway) }
func (goyamuxImpl) IsReset(err error) bool {
	// GoAwayError.Is(ErrStreamReset) is true too; only count real stream resets.
	var ga *goyamux.GoAwayError
	if errors.As(err, &ga) {
		return false
	}
	return errors.Is(err, goyamux.ErrStreamReset)
}
func (goyamuxImpl) goroutinePrefixes() []string {
	return []string{"github.com/libp2p/go-yamux/v5."}
}
func (goyamuxImpl) hasReset() bool { return true }
func (goyamuxImpl) isOurs() bool   { return false }

// goyamuxSession: go-yamux has no AcceptStream(ctx); one pump goroutine per
// session feeds Accept and ends with the session.
type goyamuxSession struct {
	s        *goyamux.Session
	acceptCh chan *goyamux.Stream
	done     chan struct{}
	err      error
}

func (g *goyamuxSession) acceptPump() {
	defer close(g.done)
	for {
		st, err := g.s.AcceptStream()
		if err != nil {
			g.err = err
			return
		}
		select {
		case g.acceptCh <- st:
		case <-g.s.CloseChan():
			st.Reset()
			return
		}
	}
}

func (g *goyamuxSession) Open(ctx context.Context) (stream, error) {
	st, err := g.s.OpenStream(ctx)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (g *goyamuxSession) Accept(ctx context.Context) (stream, error) {
	select {
	case st := <-g.acceptCh:
		return st, nil
	case <-g.done:
		if g.err != nil {
			return nil, g.err
		}
		return nil, goyamux.ErrSessionShutdown
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *goyamuxSession) Ping() (time.Duration, error) { return g.s.Ping() }
func (g *goyamuxSession) GoAway() error                { return g.s.GoAway() }
func (g *goyamuxSession) Close() error {
	err := g.s.Close()
	<-g.done
	return err
}
func (g *goyamuxSession) CloseChan() <-chan struct{} { return g.s.CloseChan() }
func (g *goyamuxSession) IsClosed() bool             { return g.s.IsClosed() }
func (g *goyamuxSession) Err() error                 { return nil }

// callCtx runs a blocking call that takes no context, giving up when ctx ends.
// A result that arrives after that is disposed of with drop.
func callCtx[T any](ctx context.Context, f func() (T, error), drop func(T)) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := f()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil && drop != nil {
				drop(r.v)
			}
		}()
		var zero T
		return zero, ctx.Err()
	}
}
