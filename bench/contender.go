package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// The harness measures contenders built from layers, so that a stack (TCP +
// security + multiplexer) can be added without touching any scenario:
//
//	transport (AF_UNIX socketpair or loopback TCP)
//	  → optional security layer (e.g. Noise), applied to every connection
//	  → optional multiplexer; without one, every stream is its own connection
//
// Scenarios only see a Link: a source of stream pairs between a client and a
// server end. For a multiplexer a Link is one session over one connection;
// without one ("raw") each Open is a fresh connection, which is what an
// application without a multiplexer would do.

// Stream is what the scenarios need from a stream or connection.
type Stream = io.ReadWriteCloser

// Session is one multiplexed session end.
type Session interface {
	Open() (Stream, error)
	Accept() (Stream, error)
	Close() error
}

// Muxer builds a session end over an established connection.
type Muxer struct {
	// Name and Version identify the library in the report.
	Name, Version string
	// New starts a client or server session end over conn.
	New func(conn net.Conn, client bool) (Session, error)
}

// Secure wraps a freshly established connection (both ends run it
// concurrently), e.g. with a Noise handshake.
type Secure func(conn net.Conn, client bool) (net.Conn, error)

// Contender is one column of the report.
type Contender struct {
	Name string
	// Note says what the contender is (library, version, settings).
	Note   string
	Secure Secure // nil: plaintext
	Mux    *Muxer // nil: one connection per stream
	// Only lists the scenarios the contender runs; empty: all.
	Only []string
	// Base is the contender its ratios are read against in the report:
	// "" (raw) for plain contenders, "noise" for the stack.
	Base string
	// Build, when set, makes the whole link itself (a go-libp2p host pair)
	// instead of the layers above.
	Build func(tr Transport) (Link, error)
}

// runs reports whether the contender takes part in a scenario.
func (c Contender) runs(scenario string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, s := range c.Only {
		if s == scenario {
			return true
		}
	}
	return false
}

// IsRaw reports whether streams are bare connections.
func (c Contender) IsRaw() bool { return c.Mux == nil && c.Build == nil }

// Link is a source of streams between a client end (Open) and a server end
// (Accept). Close ends every stream and connection the link made.
type Link interface {
	Open() (Stream, error)
	Accept() (Stream, error)
	// CloseStream closes one stream of the link for good.
	CloseStream(s Stream) error
	Close() error
}

// errLinkClosed is returned by Open and Accept after Close.
var errLinkClosed = errors.New("muxbench: link closed")

// Connect builds a link of the contender over the given transport.
func (c Contender) Connect(tr Transport) (Link, error) {
	if c.Build != nil {
		return c.Build(tr)
	}
	if c.Mux == nil {
		return newRawLink(tr, c.Secure)
	}
	cc, sc, err := tr.pair()
	if err != nil {
		return nil, err
	}
	if c.Secure != nil {
		if cc, sc, err = secureBoth(c.Secure, cc, sc); err != nil {
			return nil, err
		}
	}
	type res struct {
		s   Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.Mux.New(sc, false)
		ch <- res{s, err}
	}()
	client, cerr := c.Mux.New(cc, true)
	r := <-ch
	if cerr != nil || r.err != nil {
		cc.Close()
		sc.Close()
		return nil, fmt.Errorf("muxbench: %s session: %w", c.Name, errors.Join(cerr, r.err))
	}
	return &muxLink{client: client, server: r.s, conns: [2]net.Conn{cc, sc}}, nil
}

// secureBoth runs the security handshake on both ends at once.
func secureBoth(sec Secure, cc, sc net.Conn) (net.Conn, net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := sec(sc, false)
		ch <- res{c, err}
	}()
	c, err := sec(cc, true)
	r := <-ch
	if err != nil || r.err != nil {
		cc.Close()
		sc.Close()
		return nil, nil, fmt.Errorf("muxbench: handshake: %w", errors.Join(err, r.err))
	}
	return c, r.c, nil
}

type muxLink struct {
	client, server Session
	conns          [2]net.Conn
	once           sync.Once
	err            error
}

func (l *muxLink) Open() (Stream, error)   { return l.client.Open() }
func (l *muxLink) Accept() (Stream, error) { return l.server.Accept() }

func (l *muxLink) CloseStream(s Stream) error { return s.Close() }

// Close is idempotent: the watchdog and the scenario may both call it.
func (l *muxLink) Close() error {
	l.once.Do(func() {
		l.err = errors.Join(l.client.Close(), l.server.Close())
		// Sessions close their connection; closing again makes sure a
		// library that does not still releases the descriptors.
		l.conns[0].Close()
		l.conns[1].Close()
	})
	return l.err
}
