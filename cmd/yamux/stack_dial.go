package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// Protocol IDs of the connection layers.
const (
	noiseID = "/noise"
	yamuxID = "/yamux/1.0.0"
	echoID  = "/echo/1.0.0"
)

// stackConn is a client connection whose setup was timed layer by layer:
// TCP, then (unless insecure) multistream-select "/noise" and the Noise
// handshake, then the muxer, agreed inside Noise or with multistream-select.
// With insecure, Yamux runs straight on TCP.
type stackConn struct {
	session *yamux.Session
	remote  peer.ID // zero when insecure
	setup   setupTimes
	// earlyMuxer is true when Noise agreed on the muxer.
	earlyMuxer bool
}

// dialStack connects to t. key is our identity (unused when insecure).
func dialStack(ctx context.Context, key *peer.PrivateKey, t target, insecure bool, timeout time.Duration) (*stackConn, error) {
	if !insecure && t.id.IsZero() {
		return nil, fmt.Errorf("%s has no /p2p/<peer ID>: it is needed to authenticate the peer (or use --insecure)", t.addr)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var sc stackConn
	t0 := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, t.network, t.hostport)
	if err != nil {
		return nil, dialError(ctx, fmt.Sprintf("connecting to %s", t.hostport), err, timeout)
	}
	sc.setup.TCP = time.Since(t0)
	setTCPOptions(c)

	if insecure {
		t1 := time.Now()
		if sc.session, err = startSession(c, true); err != nil {
			c.Close()
			return nil, fmt.Errorf("starting Yamux: %w", err)
		}
		sc.setup.Muxer = time.Since(t1)
		// Nothing was negotiated, so a peer that expects Noise only shows
		// itself now: it closes the connection on our first frame.
		if _, err := sc.session.PingContext(ctx); err != nil {
			sc.session.Close()
			return nil, fmt.Errorf("no Yamux session with %s (is the peer running with --insecure?): %w", t.hostport, err)
		}
		return &sc, nil
	}

	// The negotiations block on the peer; the context's deadline, or its
	// cancellation, ends them.
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(what string, err error) (*stackConn, error) {
		c.Close()
		return nil, dialError(ctx, what, err, timeout)
	}

	t1 := time.Now()
	if _, err := multistream.SelectOneOf([]string{noiseID}, c); err != nil {
		return fail("negotiating Noise with "+t.hostport+" (a peer running with --insecure needs --insecure here too)", err)
	}
	nc, err := noise.SecureOutbound(ctx, c, noise.Config{Identity: key, Muxers: []string{yamuxID}}, t.id)
	var mismatch *noise.PeerIDMismatchError
	if errors.As(err, &mismatch) {
		c.Close()
		return nil, fmt.Errorf("wrong peer at %s: it proved to be %s, not %s", t.hostport, mismatch.Actual, mismatch.Expected)
	}
	if err != nil {
		return fail("Noise handshake with "+t.hostport, err)
	}
	sc.setup.Security = time.Since(t1)
	sc.remote = nc.RemotePeer()

	t2 := time.Now()
	sc.earlyMuxer = nc.Muxer() == yamuxID
	if !sc.earlyMuxer {
		if _, err := multistream.SelectOneOf([]string{yamuxID}, nc); err != nil {
			return fail("negotiating Yamux with "+t.hostport, err)
		}
	}
	if !stop() {
		return fail("negotiating Yamux with "+t.hostport, context.Cause(ctx))
	}
	c.SetDeadline(time.Time{})
	if sc.session, err = startSession(nc, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("starting Yamux: %w", err)
	}
	sc.setup.Muxer = time.Since(t2)
	return &sc, nil
}

// dialError names a timeout as one, whichever layer hit it.
func dialError(ctx context.Context, what string, err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s: timed out after %v", what, timeout)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// setTCPOptions turns Nagle off: Yamux batches its own writes.
func setTCPOptions(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
}

// openProtocol opens a stream and selects protocol on it with
// multistream-select, under ctx and a bound of its own.
func openProtocol(ctx context.Context, s *yamux.Session, protocol string) (*yamux.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := s.OpenStreamContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a stream: %w", err)
	}
	deadline, _ := ctx.Deadline()
	st.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	_, err = multistream.SelectOneOf([]string{protocol}, st)
	stopped := stop()
	if err == nil && !stopped {
		err = context.Cause(ctx)
	}
	if err != nil {
		st.Reset()
		var ns *multistream.NotSupportedError
		if errors.As(err, &ns) {
			return nil, fmt.Errorf("the peer does not speak %s", protocol)
		}
		return nil, fmt.Errorf("negotiating %s: %w", protocol, err)
	}
	st.SetDeadline(time.Time{})
	return st, nil
}
