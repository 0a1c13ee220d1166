package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// client is a host with one connection, dialed by perf or ping. The host
// answers the peer's identify and ping on it, as libp2p nodes expect of
// any peer.
type client struct {
	h    *host.Host
	conn *host.Conn
}

// close ends the connection and every goroutine of the host.
func (c *client) close() error { return c.h.Close() }

// dialClient connects to addr (parsed by parseTarget already, so a bad one
// is a usage error before this). key is our identity.
func dialClient(ctx context.Context, key *peer.PrivateKey, addr string, insecure bool, timeout time.Duration) (*client, error) {
	t, err := parseTarget(addr)
	if err != nil {
		return nil, err
	}
	if !insecure && t.id.IsZero() {
		return nil, fmt.Errorf("%s has no /p2p/<peer ID>: it is needed to authenticate the peer (or use --insecure)", t.addr)
	}
	h, err := host.New(key, &host.Options{AgentVersion: agentVersion(), Insecure: insecure, HandshakeTimeout: timeout})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := h.Dial(ctx, t.addr)
	if err != nil {
		h.Close()
		return nil, dialError(ctx, t.hostport, err, timeout)
	}
	c := &client{h: h, conn: conn}
	if insecure {
		// Nothing was negotiated, so a peer that expects Noise only shows
		// itself now: it closes the connection on our first frame.
		if _, err := conn.Session().PingContext(ctx); err != nil {
			c.close()
			if isTimeout(ctx, err) {
				return nil, fmt.Errorf("no Yamux session with %s: timed out after %v", t.hostport, timeout)
			}
			return nil, fmt.Errorf("no Yamux session with %s (is the peer running with --insecure?): %w", t.hostport, err)
		}
	}
	return c, nil
}

// dialError says which layer of the dial to hostport failed, in the
// user's words, and names a timeout as one whichever layer hit it.
func dialError(ctx context.Context, hostport string, err error, timeout time.Duration) error {
	var mismatch *noise.PeerIDMismatchError
	if errors.As(err, &mismatch) {
		return fmt.Errorf("wrong peer at %s: it proved to be %s, not %s", hostport, mismatch.Actual, mismatch.Expected)
	}
	what, cause := "connecting to "+hostport, err
	var ue *host.UpgradeError
	if errors.As(err, &ue) {
		cause = ue.Err
		switch ue.Stage {
		case host.StageSecurityNegotiation:
			what = "negotiating Noise with " + hostport + " (a peer running with --insecure needs --insecure here too)"
		case host.StageNoiseHandshake:
			what = "Noise handshake with " + hostport
		case host.StageMuxerNegotiation:
			what = "negotiating Yamux with " + hostport
		default:
			what = "starting Yamux with " + hostport
		}
	} else if oe := (*net.OpError)(nil); errors.As(err, &oe) {
		cause = oe.Err // the host's message repeats the address
	}
	if isTimeout(ctx, err) {
		return fmt.Errorf("%s: timed out after %v", what, timeout)
	}
	return fmt.Errorf("%s: %w", what, cause)
}

func isTimeout(ctx context.Context, err error) bool {
	var ne net.Error
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// openProtocol opens a stream for protocol under ctx and a bound of its
// own.
func (c *client) openProtocol(ctx context.Context, protocol string) (*host.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := c.conn.NewStream(ctx, protocol)
	if err != nil {
		var ns *multistream.NotSupportedError
		if errors.As(err, &ns) {
			return nil, fmt.Errorf("the peer does not speak %s", protocol)
		}
		return nil, fmt.Errorf("negotiating %s: %w", protocol, err)
	}
	return st, nil
}
