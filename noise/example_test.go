package noise_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

func Example() {
	// Two identities and an in-memory connection stand in for two hosts and
	// a TCP connection on which multistream-select agreed on noise.ID.
	dialerKey, _ := peer.GenerateEd25519Key(nil)
	listenerKey, _ := peer.GenerateEd25519Key(nil)
	dialerSide, listenerSide := net.Pipe()

	accepted := make(chan *noise.Conn)
	go func() {
		c, err := noise.SecureInbound(context.Background(), listenerSide,
			noise.Config{Identity: listenerKey, Muxers: []string{"/yamux/1.0.0"}})
		if err != nil {
			panic(err)
		}
		accepted <- c
	}()
	// The dialer names the peer it means to reach.
	c, err := noise.SecureOutbound(context.Background(), dialerSide,
		noise.Config{Identity: dialerKey, Muxers: []string{"/yamux/1.0.0"}}, listenerKey.ID())
	if err != nil {
		panic(err)
	}
	l := <-accepted
	defer c.Close()
	defer l.Close()

	fmt.Println(c.RemotePeer() == listenerKey.ID(), l.RemotePeer() == dialerKey.ID())
	// The muxer was agreed inside the handshake: no multistream-select round
	// trip for it. "" would mean negotiating it with multistream-select.
	fmt.Println(c.Muxer())

	go c.Write([]byte("hello"))
	buf := make([]byte, 5)
	io.ReadFull(l, buf)
	fmt.Println(string(buf))
	// Output:
	// true true
	// /yamux/1.0.0
	// hello
}
