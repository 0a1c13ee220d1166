package p2pmux_test

import (
	"context"
	"fmt"
	"log"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/p2pmux"
)

// Two go-libp2p hosts on loopback that use our Yamux instead of the stock
// go-yamux: the only change to a host's options is the libp2p.Muxer line.
func Example() {
	newHost := func() host.Host {
		h, err := libp2p.New(
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
			libp2p.Muxer("/yamux/1.0.0", p2pmux.DefaultTransport),
		)
		if err != nil {
			log.Fatal(err)
		}
		return h
	}
	a, b := newHost(), newHost()
	defer a.Close()
	defer b.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the ping loop
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		log.Fatal(err)
	}
	if r := <-ping.Ping(ctx, a, b.ID()); r.Error != nil {
		log.Fatal(r.Error)
	}
	conn := a.Network().ConnsToPeer(b.ID())[0]
	var session *yamux.Session
	fmt.Println("muxer:", conn.ConnState().StreamMultiplexer, "ours:", conn.As(&session))
	// Output: muxer: /yamux/1.0.0 ours: true
}
