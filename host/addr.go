package host

import (
	"fmt"
	"net"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/yamuxgo/yamux/peer"
)

// splitPeer splits /…/p2p/<id> into the transport address and the peer ID.
func splitPeer(addr ma.Multiaddr) (ma.Multiaddr, peer.ID, error) {
	rest, last := ma.SplitLast(addr)
	if last == nil || last.Code() != ma.P_P2P {
		return nil, peer.ID{}, fmt.Errorf("%w: %s", ErrNoPeerID, addr)
	}
	id, err := peer.IDFromBytes(last.RawValue())
	if err != nil {
		return nil, peer.ID{}, fmt.Errorf("host: peer ID in %s: %w", addr, err)
	}
	return rest, id, nil
}

// tcpArgs checks that addr is a TCP address we support and returns what
// net.Dial and net.Listen take.
func tcpArgs(addr ma.Multiaddr) (network, hostport string, err error) {
	comps := ma.Split(addr)
	if len(comps) != 2 || comps[1].Code() != ma.P_TCP {
		return "", "", fmt.Errorf("%w: %s", ErrUnsupportedAddr, addr)
	}
	switch comps[0].Code() {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		return "", "", fmt.Errorf("%w: %s", ErrUnsupportedAddr, addr)
	}
	network, hostport, err = manet.DialArgs(addr)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %w", ErrUnsupportedAddr, addr, err)
	}
	return network, hostport, nil
}

// toMultiaddr converts a TCP net.Addr (nil on failure, which only a
// non-IP address can cause).
func toMultiaddr(a net.Addr) ma.Multiaddr {
	m, err := manet.FromNetAddr(a)
	if err != nil {
		return nil
	}
	return m
}
