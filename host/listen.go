package host

import (
	"context"
	"fmt"
	"net"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/peer"
)

// Listen starts accepting connections on addr, a
// /ip4|ip6/<address>/tcp/<port> multiaddr (port 0 picks one; Addrs tells
// which). Each accepted connection is upgraded in its own goroutine.
func (h *Host) Listen(addr ma.Multiaddr) error {
	network, hostport, err := tcpArgs(addr)
	if err != nil {
		return err
	}
	l, err := net.Listen(network, hostport)
	if err != nil {
		return fmt.Errorf("host: listening on %s: %w", addr, err)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	h.listeners = append(h.listeners, l)
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		h.acceptLoop(l)
	}()
	return nil
}

func (h *Host) acceptLoop(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed by Host.Close
		}
		if !h.goTracked(func() { h.upgradeInbound(c) }) {
			c.Close()
			return
		}
	}
}

func (h *Host) upgradeInbound(c net.Conn) {
	// An inbound upgrade has no caller to report to: a failure just closes
	// the connection (the dialer sees its own error).
	remote := c.RemoteAddr()
	conn, err := h.upgrade(context.Background(), c, false, peer.ID{}, 0)
	if err != nil {
		if f := h.opts.Notify.UpgradeFailed; f != nil {
			f(remote, err)
		}
		return
	}
	h.started(conn)
}
