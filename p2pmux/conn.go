package p2pmux

import (
	"context"
	"net"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/yamuxgo/yamux"
)

// conn is a network.MuxedConn over one *yamux.Session.
type conn struct {
	sess *yamux.Session
	// nc is the connection the session runs over. The session closes it
	// itself when it ends; conn closes it again after Session.Close so that
	// "Close has closed the underlying net.Conn" holds by construction, not
	// by a detail of the core's shutdown path.
	nc net.Conn
}

var _ network.MuxedConn = (*conn)(nil)

// Close flushes what is queued, sends GO_AWAY(normal) and closes the
// session and the underlying connection; both are closed when it returns.
func (c *conn) Close() error {
	return c.CloseWithError(network.ConnNoError)
}

// CloseWithError is Close sending code in the GO_AWAY frame; a go-libp2p
// peer sees it as ConnError.ErrorCode.
func (c *conn) CloseWithError(code network.ConnErrorCode) error {
	err := c.sess.CloseWithError(yamux.ErrorCode(code))
	// Already closed by the session in every path we know of; the second
	// Close only reports "use of closed network connection", which is not
	// the caller's concern.
	_ = c.nc.Close()
	return translateError(err)
}

// IsClosed reports whether the session has ended.
func (c *conn) IsClosed() bool { return c.sess.IsClosed() }

// OpenStream opens a stream without waiting for the peer's ACK; ctx bounds
// only the wait for room in the ACK backlog (256 unacknowledged streams).
func (c *conn) OpenStream(ctx context.Context) (network.MuxedStream, error) {
	s, err := c.sess.OpenStreamContext(ctx)
	if err != nil {
		return nil, translateError(err)
	}
	return &stream{s: s}, nil
}

// AcceptStream waits for the peer's next stream.
func (c *conn) AcceptStream() (network.MuxedStream, error) {
	s, err := c.sess.AcceptStream()
	if err != nil {
		return nil, translateError(err)
	}
	return &stream{s: s}, nil
}

// As sets *target to the session when target is a **yamux.Session.
func (c *conn) As(target any) bool {
	if t, ok := target.(**yamux.Session); ok {
		*t = c.sess
		return true
	}
	return false
}
