package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// Dial connects to addr, a /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<id>
// multiaddr, and returns the connection once it is secured and
// multiplexed; identify towards the peer then runs in the background
// (Conn.Identify waits for it). A peer that proves another identity than
// <id> fails the dial with an error matching ErrUpgrade and
// noise.ErrPeerIDMismatch, before any stream exists. ctx bounds the TCP
// connect and the upgrade. With Options.Insecure the /p2p/<id> is optional
// and, when present, unchecked: nothing could prove it.
func (h *Host) Dial(ctx context.Context, addr ma.Multiaddr) (*Conn, error) {
	tcpAddr, id, err := splitPeer(addr)
	if err != nil {
		if !h.opts.Insecure || !errors.Is(err, ErrNoPeerID) {
			return nil, err
		}
		tcpAddr = addr
	}
	network, hostport, err := tcpArgs(tcpAddr)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var d net.Dialer
	t0 := time.Now()
	c, err := d.DialContext(ctx, network, hostport)
	if err != nil {
		return nil, fmt.Errorf("host: dialing %s: %w", addr, err)
	}
	conn, err := h.upgrade(ctx, c, true, id, time.Since(t0))
	if err != nil {
		return nil, err
	}
	if !h.started(conn) {
		return nil, ErrClosed
	}
	return conn, nil
}
