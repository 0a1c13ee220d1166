package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/peer"
)

// target is a parsed dial address: /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT
// with an optional /p2p/<peer ID>.
type target struct {
	addr     ma.Multiaddr
	hostport string
	id       peer.ID // zero without /p2p
}

func parseTarget(s string) (target, error) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		// The library repeats the address; say it once.
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("failed to parse multiaddr %q: ", s))
		return target{}, fmt.Errorf("bad multiaddr %q: %s", s, msg)
	}
	t := target{addr: m}
	var host, port string
	for i, c := range m {
		switch code := c.Code(); {
		case i == 0 && (code == ma.P_IP4 || code == ma.P_IP6 || code == ma.P_DNS || code == ma.P_DNS4 || code == ma.P_DNS6):
			host = c.Value()
		case i == 1 && code == ma.P_TCP:
			port = c.Value()
		case i == 2 && code == ma.P_P2P:
			id, err := peer.Decode(c.Value())
			if err != nil {
				return target{}, fmt.Errorf("bad peer ID in %q: %w", s, err)
			}
			t.id = id
		default:
			return target{}, fmt.Errorf("unsupported multiaddr %q: want /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/p2p/PEER_ID]", s)
		}
	}
	if port == "" {
		return target{}, fmt.Errorf("unsupported multiaddr %q: want /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/p2p/PEER_ID]", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return target{}, fmt.Errorf("bad TCP port in %q", s)
	}
	t.hostport = net.JoinHostPort(host, port)
	return t, nil
}
