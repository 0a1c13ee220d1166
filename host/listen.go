package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

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

// Accept failures other than the listener's close (the process out of
// file descriptors, the kernel out of memory) are waited out, from
// acceptRetryMin doubling up to acceptRetryMax: a loop that returned on
// them left the listener open, the kernel completing handshakes into its
// backlog, and nothing accepting them ever again. The ceiling is short so
// that Close, which waits for this loop, is not held up.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = 100 * time.Millisecond
)

// acceptLoop accepts connections on l and upgrades each in a goroutine of
// its own, holding one of the host's upgrade slots (MaxInboundUpgrades)
// from before the Accept to the upgrade's end. Waiting for a slot needs no
// wake-up at Close: Close ends the upgrades holding them, and the Accept
// that follows finds the listener closed.
func (h *Host) acceptLoop(l net.Listener) {
	var retry time.Duration
	for {
		h.upgradeSlots <- struct{}{}
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			<-h.upgradeSlots
			return // closed by Host.Close or GoAway
		}
		if err != nil {
			<-h.upgradeSlots
			retry = min(max(2*retry, acceptRetryMin), acceptRetryMax)
			time.Sleep(retry)
			continue
		}
		retry = 0
		if !h.goTracked(func() {
			defer func() { <-h.upgradeSlots }()
			h.upgradeInbound(c)
		}) {
			<-h.upgradeSlots
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
