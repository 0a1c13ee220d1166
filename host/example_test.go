package host_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/peer"
)

// Two hosts on loopback: one serves /echo/1.0.0, the other dials it by
// multiaddr and peer ID, pings it and uses the protocol.
func Example() {
	serverKey, _ := peer.GenerateEd25519Key(nil)
	server, _ := host.New(serverKey, nil)
	defer server.Close()
	server.SetStreamHandler("/echo/1.0.0", func(s *host.Stream) {
		defer s.Close()
		io.Copy(s, s) // until the dialer half-closes
	})
	if err := server.Listen(ma.StringCast("/ip4/127.0.0.1/tcp/0")); err != nil {
		log.Fatal(err)
	}
	p2p, _ := ma.NewComponent("p2p", server.ID().String())
	addr := server.Addrs()[0].Encapsulate(p2p) // /ip4/127.0.0.1/tcp/<port>/p2p/12D3KooW…

	clientKey, _ := peer.GenerateEd25519Key(nil)
	client, _ := host.New(clientKey, &host.Options{AgentVersion: "example/1.0"})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, addr) // TCP, /noise, Noise XX (peer ID checked), yamux
	if err != nil {
		log.Fatal(err)
	}
	rec, _ := conn.Identify(ctx)
	fmt.Println("server speaks echo:", rec.HasProtocol("/echo/1.0.0"))
	if _, err := conn.Ping(ctx); err != nil {
		log.Fatal(err)
	}
	s, err := conn.NewStream(ctx, "/echo/1.0.0")
	if err != nil {
		log.Fatal(err)
	}
	s.Write([]byte("hello over libp2p"))
	s.CloseWrite()
	reply, _ := io.ReadAll(s)
	fmt.Printf("%s (early muxer negotiation: %v)\n", reply, conn.ConnState().UsedEarlyMuxerNegotiation)
	// Output:
	// server speaks echo: true
	// hello over libp2p (early muxer negotiation: true)
}
