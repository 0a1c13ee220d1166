package libp2p

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	gohost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	gopeer "github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	goping "github.com/libp2p/go-libp2p/p2p/protocol/ping"
	gonoise "github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/p2pmux"
)

// The tests in this file put our muxer inside go-libp2p (the p2pmux
// adapter) and run that host against the js-libp2p node: the go-libp2p and
// js-libp2p stacks around it are both someone else's, so only the Yamux
// layer is ours.

const p2pmuxAgent = "go-libp2p-p2pmux-interop/0.52.0"

// newP2pmuxHost returns a go-libp2p v0.52.0 host with TCP + Noise, our
// muxer as its only muxer under /yamux/1.0.0, and a real resource manager
// with go-libp2p's default limits (closed with the host). It serves the
// echo protocol and listens on loopback when listen is set.
func newP2pmuxHost(t testing.TB, listen bool) gohost.Host {
	t.Helper()
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(rcmgr.DefaultLimits.AutoScale()))
	if err != nil {
		t.Fatal(err)
	}
	opts := []golibp2p.Option{
		golibp2p.UserAgent(p2pmuxAgent),
		golibp2p.DisableRelay(),
		golibp2p.ResourceManager(rm),
		golibp2p.Transport(tcp.NewTCPTransport),
		golibp2p.Security(gonoise.ID, gonoise.New),
		golibp2p.Muxer("/yamux/1.0.0", p2pmux.DefaultTransport),
	}
	if listen {
		opts = append(opts, golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, golibp2p.NoListenAddrs)
	}
	h, err := golibp2p.New(opts...)
	if err != nil {
		rm.Close()
		t.Fatal(err)
	}
	h.SetStreamHandler(echoID, func(s network.Stream) {
		defer s.Close()
		if _, err := io.Copy(s, s); err != nil {
			s.Reset()
			return
		}
		s.CloseWrite()
	})
	t.Cleanup(func() { h.Close() })
	return h
}

// checkOurMuxerNegotiated asserts that gh has exactly one connection to p,
// secured by Noise, and that the /yamux/1.0.0 it negotiated runs our
// Session (not go-yamux, which go-libp2p would use under the same id),
// which it returns.
func checkOurMuxerNegotiated(t *testing.T, gh gohost.Host, p gopeer.ID) *yamux.Session {
	t.Helper()
	conns := gh.Network().ConnsToPeer(p)
	if len(conns) != 1 {
		t.Fatalf("go-libp2p has %d conns to the js node, want 1", len(conns))
	}
	c := conns[0]
	st := c.ConnState()
	if st.Security != gonoise.ID || st.StreamMultiplexer != "/yamux/1.0.0" {
		t.Fatalf("go's ConnState = %+v, want noise and /yamux/1.0.0", st)
	}
	var sess *yamux.Session
	if !c.As(&sess) || sess == nil {
		t.Fatal("the go-libp2p connection's muxer does not expose a *yamux.Session: not ours")
	}
	t.Logf("go's ConnState with js-libp2p: %+v", st)
	return sess
}

// checkP2pmuxWithJS runs identify, ping and echo both ways between the
// go-libp2p host gh (our muxer) and the js node n, once connected.
func checkP2pmuxWithJS(t *testing.T, ctx context.Context, n *jsNode, gh gohost.Host, idDone <-chan error) {
	t.Helper()
	jsID, err := gopeer.Decode(n.peerID)
	if err != nil {
		t.Fatal(err)
	}
	// Identify, go's view of js.
	if err := <-idDone; err != nil {
		t.Fatalf("go's identify of js: %v", err)
	}
	sess := checkOurMuxerNegotiated(t, gh, jsID)
	agent, err := gh.Peerstore().Get(jsID, "AgentVersion")
	if s, _ := agent.(string); err != nil || len(s) < len(jsAgent) || s[:len(jsAgent)] != jsAgent {
		t.Errorf("go sees js's agent as %v (%v), want prefix %q", agent, err, jsAgent)
	}
	protos, _ := gh.Peerstore().GetProtocols(jsID)
	for _, p := range []string{echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !slices.ContainsFunc(protos, func(q protocolID) bool { return string(q) == p }) {
			t.Errorf("go sees js's protocols as %v, without %s", protos, p)
		}
	}
	// Identify, js's view of go.
	var id jsIdentify
	if err := n.call(ctx, &id, "identified", map[string]any{"peer": gh.ID().String()}); err != nil {
		t.Fatalf("js identify of go: %v", err)
	}
	if id.AgentVersion != p2pmuxAgent {
		t.Errorf("js sees go's agent as %q, want %q", id.AgentVersion, p2pmuxAgent)
	}
	for _, p := range []string{echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !contains(id.Protocols, p) {
			t.Errorf("js sees go's protocols as %q, without %s", id.Protocols, p)
		}
	}
	// Ping both ways.
	for range 3 {
		res := <-goping.Ping(ctx, gh, jsID)
		if res.Error != nil || res.RTT <= 0 {
			t.Fatalf("go's ping of js: %v, %v", res.RTT, res.Error)
		}
		var pr struct{ RTT float64 }
		if err := n.call(ctx, &pr, "ping", map[string]any{"peer": gh.ID().String()}); err != nil {
			t.Fatalf("js's ping of go: %v", err)
		}
	}
	// Echo, go opens: echoCount concurrent streams, SHA-256 checked here.
	start := time.Now()
	goEcho(t, ctx, gh, jsID, "js")
	t.Logf("go-libp2p (our muxer) echoed %d x %d KiB through js in %v", echoCount, echoSize>>10, time.Since(start).Round(time.Millisecond))
	// Echo, js opens: js checks each stream's SHA-256 and fails the command
	// on a mismatch.
	var er struct{ Bytes int }
	start = time.Now()
	if err := n.call(ctx, &er, "echo", map[string]any{"peer": gh.ID().String(), "streams": echoCount, "size": echoSize}); err != nil {
		t.Fatalf("js's echo through go: %v", err)
	}
	if er.Bytes != echoCount*echoSize {
		t.Fatalf("js echoed %d bytes, want %d", er.Bytes, echoCount*echoSize)
	}
	t.Logf("js-libp2p echoed %d x %d KiB through go-libp2p (our muxer) in %v", echoCount, echoSize>>10, time.Since(start).Round(time.Millisecond))
	// Everything ran over the one connection, through our session: it
	// carried both echo directions' payload each way.
	if checkOurMuxerNegotiated(t, gh, jsID) != sess {
		t.Error("the connection to js changed during the test")
	}
	want := uint64(2 * echoCount * echoSize)
	if st := sess.Stats(); st.BytesSent < want || st.BytesReceived < want || st.StreamsOpened < echoCount || st.StreamsAccepted < echoCount {
		t.Errorf("our session's counters %+v: want at least %d bytes each way and %d streams opened and accepted", st, want, echoCount)
	}
}

// TestP2pmuxJSLibp2p: a go-libp2p host whose muxer is ours talks to a
// js-libp2p node (chainsafe yamux), each side dialing once.
func TestP2pmuxJSLibp2p(t *testing.T) {
	t.Run("go-dials", func(t *testing.T) {
		n := startJSNode(t)
		ctx := ctxTimeout(t, 120*time.Second)
		gh := newP2pmuxHost(t, false)
		ai, err := gopeer.AddrInfoFromP2pAddr(ma.StringCast(n.addrs[0]))
		if err != nil {
			t.Fatal(err)
		}
		idDone := identified(t, gh, ai.ID)
		if err := gh.Connect(ctx, *ai); err != nil {
			t.Fatal(err)
		}
		checkP2pmuxWithJS(t, ctx, n, gh, idDone)
	})
	t.Run("js-dials", func(t *testing.T) {
		n := startJSNode(t)
		ctx := ctxTimeout(t, 120*time.Second)
		gh := newP2pmuxHost(t, true)
		jsID, err := gopeer.Decode(n.peerID)
		if err != nil {
			t.Fatal(err)
		}
		idDone := identified(t, gh, jsID)
		var dr struct {
			RemotePeer  string `json:"remotePeer"`
			Encryption  string `json:"encryption"`
			Multiplexer string `json:"multiplexer"`
		}
		if err := n.call(ctx, &dr, "dial", map[string]any{"addr": goAddr(t, gh).String()}); err != nil {
			t.Fatal(err)
		}
		if dr.RemotePeer != gh.ID().String() || dr.Encryption != "/noise" || dr.Multiplexer != "/yamux/1.0.0" {
			t.Fatalf("js's connection: %+v", dr)
		}
		checkP2pmuxWithJS(t, ctx, n, gh, idDone)
	})
}
