package main

import (
	"errors"
	"net"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/noise"
)

// startSession starts the Yamux side of conn (client when we dialed).
//
// It holds the session's reads back until yamux.Client or yamux.Server has
// returned: they start the receive loop before they register the first
// ping, and a session that the peer's first bytes end in between (a
// protocol error at once, say a Noise or multistream peer reached with
// --insecure) panics on a nil map in startKeepalive. That is the core's
// bug to fix (startKeepalive must check that the session has not closed);
// until then no peer can crash serve this way.
//
// The wrappers embed the concrete conn types, so that net.Buffers still
// finds the TCP conn's writev and the session its CloseWrite.
func startSession(conn net.Conn, client bool) (*yamux.Session, error) {
	open := make(chan struct{})
	defer close(open)
	var rw net.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		rw = &gatedTCPConn{TCPConn: c, open: open}
	case *noise.Conn:
		rw = &gatedNoiseConn{Conn: c, open: open}
	default:
		rw = &gatedConn{Conn: c, open: open}
	}
	if client {
		return yamux.Client(rw, nil)
	}
	return yamux.Server(rw, nil)
}

type gatedTCPConn struct {
	*net.TCPConn
	open <-chan struct{}
}

func (c *gatedTCPConn) Read(b []byte) (int, error) {
	<-c.open
	return c.TCPConn.Read(b)
}

type gatedNoiseConn struct {
	*noise.Conn
	open <-chan struct{}
}

func (c *gatedNoiseConn) Read(b []byte) (int, error) {
	<-c.open
	return c.Conn.Read(b)
}

// gatedConn is the gate for any other conn (the metrics' countingConn).
type gatedConn struct {
	net.Conn
	open <-chan struct{}
}

func (c *gatedConn) Read(b []byte) (int, error) {
	<-c.open
	return c.Conn.Read(b)
}

// CloseWrite passes a half-close through, for the session's lingering
// close.
func (c *gatedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
