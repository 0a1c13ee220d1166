package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/identify"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

var errorsAs = errors.As

// Conn is one libp2p connection: a yamux session over a Noise-secured TCP
// connection to an authenticated peer (or, with Options.Insecure, over the
// TCP connection itself).
type Conn struct {
	// Immutable after newConn.
	host     *Host
	nc       *noise.Conn // nil when insecure
	sess     *yamux.Session
	state    ConnState
	timings  Timings
	outbound bool
	local    ma.Multiaddr
	remote   ma.Multiaddr

	// identified is closed when identify towards the peer has finished;
	// record and idErr are written before.
	identified chan struct{}
	record     *identify.Record
	idErr      error
}

// newConn builds a Conn; raw is the TCP conn (as WrapConn left it), nc the
// Noise conn over it or nil.
func newConn(h *Host, raw net.Conn, nc *noise.Conn, sess *yamux.Session, state ConnState, timings Timings, outbound bool) *Conn {
	return &Conn{
		host: h, nc: nc, sess: sess, state: state, timings: timings, outbound: outbound,
		local: toMultiaddr(raw.LocalAddr()), remote: toMultiaddr(raw.RemoteAddr()),
		identified: make(chan struct{}),
	}
}

// started registers c with its host and starts its goroutines: the stream
// accept loop and identify towards the peer. False (and c closed) if the
// host is closed.
func (h *Host) started(c *Conn) bool {
	ok, goAway := h.addConn(c)
	if !ok {
		c.sess.Close()
		return false
	}
	if goAway {
		c.sess.GoAway()
	}
	if f := h.opts.Notify.Connected; f != nil {
		f(c)
	}
	if !h.goTracked(c.acceptLoop) {
		c.sess.Close()
		h.removeConn(c)
		if f := h.opts.Notify.Disconnected; f != nil {
			<-c.sess.CloseChan()
			f(c)
		}
		return false
	}
	h.goTracked(c.runIdentify)
	if f := h.opts.ConnHandler; f != nil {
		h.goTracked(func() { f(c) })
	}
	return true
}

// acceptLoop hands every inbound stream to a goroutine of its own until
// the session ends, then unregisters the conn.
func (c *Conn) acceptLoop() {
	defer func() {
		// AcceptStream also fails after a GO_AWAY while the session still
		// runs; the conn is only gone once the session has ended.
		<-c.sess.CloseChan()
		c.host.removeConn(c)
		if f := c.host.opts.Notify.Disconnected; f != nil {
			f(c)
		}
	}()
	for {
		st, err := c.sess.AcceptStream()
		if err != nil {
			return
		}
		if !c.host.goTracked(func() { c.serveStream(st) }) {
			st.Reset()
		}
	}
}

// serveStream negotiates the protocol of an inbound stream and runs its
// handler; unknown protocols get "na", and a stream that fails to
// negotiate within NegotiationTimeout is reset.
func (c *Conn) serveStream(st *yamux.Stream) {
	st.SetDeadline(time.Now().Add(c.host.opts.NegotiationTimeout))
	var handler StreamHandler
	proto, err := multistream.NegotiateFunc(st, func(p string) bool {
		handler = c.host.handler(p)
		return handler != nil
	})
	if err != nil {
		st.Reset()
		if f := c.host.opts.Notify.InboundStreamFailed; f != nil {
			f(c, err)
		}
		return
	}
	st.SetDeadline(time.Time{})
	s := &Stream{Stream: st, conn: c, protocol: proto}
	if f := c.host.opts.Notify.InboundStream; f != nil {
		f(s)
	}
	handler(s)
}

// runIdentify asks the peer for its identify record.
func (c *Conn) runIdentify() {
	defer close(c.identified)
	ctx, cancel := context.WithTimeout(context.Background(), c.host.opts.IdentifyTimeout)
	defer cancel()
	rec, err := c.identify(ctx)
	if err != nil {
		c.idErr = fmt.Errorf("%w: %w", ErrIdentify, err)
		return
	}
	c.record = rec
}

func (c *Conn) identify(ctx context.Context) (*identify.Record, error) {
	s, err := c.NewStream(ctx, identify.ID)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetReadDeadline(d)
	}
	s.CloseWrite()
	rec, err := identify.Read(s)
	if err != nil {
		s.Reset()
		return nil, err
	}
	// Without security nothing proved the peer's identity to check the
	// record's key against.
	if rec.PublicKey != nil && c.nc != nil && !c.RemotePeer().MatchesPublicKey(rec.PublicKey) {
		return nil, fmt.Errorf("the record's public key is not %s's", c.RemotePeer())
	}
	return rec, nil
}

// serveIdentify is the identify handler: our record, then close.
func (h *Host) serveIdentify(s *Stream) {
	defer s.Close()
	s.SetWriteDeadline(time.Now().Add(h.opts.IdentifyTimeout))
	rec := &identify.Record{
		ProtocolVersion: h.opts.ProtocolVersion,
		AgentVersion:    h.opts.AgentVersion,
		PublicKey:       h.key.Public(),
		ListenAddrs:     h.Addrs(),
		ObservedAddr:    s.conn.remote,
		Protocols:       h.Protocols(),
	}
	if err := identify.Write(s, rec); err != nil {
		s.Reset()
	}
}

// Identify waits for identify towards the peer to finish and returns the
// peer's record.
func (c *Conn) Identify(ctx context.Context) (*identify.Record, error) {
	select {
	case <-c.identified:
		return c.record, c.idErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// identifiedRecord returns the record if identify has already succeeded.
func (c *Conn) identifiedRecord() *identify.Record {
	select {
	case <-c.identified:
		return c.record
	default:
		return nil
	}
}

// RemotePeer returns the peer ID Noise authenticated; the zero ID on an
// insecure connection.
func (c *Conn) RemotePeer() peer.ID {
	if c.nc == nil {
		return peer.ID{}
	}
	return c.nc.RemotePeer()
}

// RemotePublicKey returns the peer's identity key; nil on an insecure
// connection.
func (c *Conn) RemotePublicKey() *peer.PublicKey {
	if c.nc == nil {
		return nil
	}
	return c.nc.RemotePublicKey()
}

// LocalPeer returns our peer ID.
func (c *Conn) LocalPeer() peer.ID { return c.host.id }

// RemoteMultiaddr returns the peer's TCP address.
func (c *Conn) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// LocalMultiaddr returns our end's TCP address.
func (c *Conn) LocalMultiaddr() ma.Multiaddr { return c.local }

// Outbound reports whether we dialed this connection.
func (c *Conn) Outbound() bool { return c.outbound }

// ConnState says how the connection was negotiated.
func (c *Conn) ConnState() ConnState { return c.state }

// Timings says how long each layer of the connection's setup took.
func (c *Conn) Timings() Timings { return c.timings }

// Session returns the connection's yamux session: its Stats, RTT and
// NumStreams are the connection's counters.
func (c *Conn) Session() *yamux.Session { return c.sess }

// NoiseConn returns the secured connection under the session; nil on an
// insecure connection.
func (c *Conn) NoiseConn() *noise.Conn { return c.nc }

// Close closes the session, which closes the Noise and TCP connections.
func (c *Conn) Close() error { return c.sess.Close() }

// Done is closed when the session has ended.
func (c *Conn) Done() <-chan struct{} { return c.sess.CloseChan() }

// Err says why the session ended (nil while it runs). It matches
// yamux.ErrSessionShutdown and wraps the cause: a closed or failed TCP
// connection, a Noise error such as noise.ErrDecrypt, a protocol error.
func (c *Conn) Err() error { return c.sess.Err() }
