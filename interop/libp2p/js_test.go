package libp2p

import (
	"errors"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

const jsAgent = "js-libp2p-interop/"

type jsIdentify struct {
	PeerID       string   `json:"peerId"`
	AgentVersion string   `json:"agentVersion"`
	Protocols    []string `json:"protocols"`
}

// checkJSSide checks what the js node learned about us and drives ping and
// echo from its side.
func checkJSSide(t *testing.T, n *jsNode, oh *host.Host) {
	t.Helper()
	ctx := ctxTimeout(t, 90*time.Second)
	var id jsIdentify
	if err := n.call(ctx, &id, "identified", map[string]any{"peer": oh.ID().String()}); err != nil {
		t.Fatalf("js identify of us: %v", err)
	}
	if id.AgentVersion != ourAgent {
		t.Errorf("js sees our agent as %q, want %q", id.AgentVersion, ourAgent)
	}
	for _, p := range []string{echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !contains(id.Protocols, p) {
			t.Errorf("js sees our protocols as %q, without %s", id.Protocols, p)
		}
	}
	var pr struct{ RTT float64 }
	for range 3 {
		if err := n.call(ctx, &pr, "ping", map[string]any{"peer": oh.ID().String()}); err != nil {
			t.Fatalf("js ping of us: %v", err)
		}
	}
	var er struct{ Bytes int }
	start := time.Now()
	if err := n.call(ctx, &er, "echo", map[string]any{"peer": oh.ID().String(), "streams": echoCount, "size": echoSize}); err != nil {
		t.Fatalf("js echo through us: %v", err)
	}
	if er.Bytes != echoCount*echoSize {
		t.Fatalf("js echoed %d bytes, want %d", er.Bytes, echoCount*echoSize)
	}
	t.Logf("js-libp2p echoed %d x %d KiB through us in %v", echoCount, echoSize>>10, time.Since(start).Round(time.Millisecond))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestJSLibp2p(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noEarly bool
	}{{"early-muxer", false}, {"no-muxer-list", true}} {
		t.Run(tc.name+"/we-dial", func(t *testing.T) {
			n := startJSNode(t)
			ctx := ctxTimeout(t, 90*time.Second)
			oh, _ := newOurHost(t, &host.Options{NoEarlyMuxerNegotiation: tc.noEarly})
			c, err := oh.Dial(ctx, ma.StringCast(n.addrs[0]))
			if err != nil {
				t.Fatal(err)
			}
			if c.RemotePeer().String() != n.peerID {
				t.Fatalf("RemotePeer = %s, want %s", c.RemotePeer(), n.peerID)
			}
			t.Logf("our ConnState with js-libp2p: %+v", c.ConnState())
			if tc.noEarly && c.ConnState().UsedEarlyMuxerNegotiation {
				t.Error("early muxer negotiation used although we sent no list")
			}
			checkOurIdentify(t, ctx, c, jsAgent)
			ourPing(t, ctx, c)
			ourEcho(t, ctx, c)
			checkJSSide(t, n, oh)
		})
		t.Run(tc.name+"/they-dial", func(t *testing.T) {
			n := startJSNode(t)
			ctx := ctxTimeout(t, 90*time.Second)
			oh, conns := newOurHost(t, &host.Options{NoEarlyMuxerNegotiation: tc.noEarly})
			addr := ourListen(t, oh)
			var dr struct {
				RemotePeer  string `json:"remotePeer"`
				Encryption  string `json:"encryption"`
				Multiplexer string `json:"multiplexer"`
			}
			if err := n.call(ctx, &dr, "dial", map[string]any{"addr": addr.String()}); err != nil {
				t.Fatal(err)
			}
			if dr.RemotePeer != oh.ID().String() || dr.Encryption != host.NoiseID || dr.Multiplexer != host.YamuxID {
				t.Fatalf("js's connection: %+v", dr)
			}
			c := waitConn(t, conns)
			if c.RemotePeer().String() != n.peerID {
				t.Fatalf("RemotePeer = %s, want %s", c.RemotePeer(), n.peerID)
			}
			t.Logf("our ConnState with js-libp2p: %+v", c.ConnState())
			checkOurIdentify(t, ctx, c, jsAgent)
			ourPing(t, ctx, c)
			ourEcho(t, ctx, c)
			checkJSSide(t, n, oh)
		})
	}
}

func TestJSLibp2pWrongPeerID(t *testing.T) {
	n := startJSNode(t)
	other, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("we-dial", func(t *testing.T) {
		ctx := ctxTimeout(t, 30*time.Second)
		oh, _ := newOurHost(t, nil)
		tcpPart, _ := ma.SplitLast(ma.StringCast(n.addrs[0]))
		_, err := oh.Dial(ctx, withPeer(t, tcpPart, other.ID().String()))
		var mm *noise.PeerIDMismatchError
		if !errors.Is(err, host.ErrUpgrade) || !errors.As(err, &mm) || mm.Actual.String() != n.peerID {
			t.Fatalf("Dial = %v, want ErrUpgrade with a PeerIDMismatchError naming the js peer", err)
		}
		var cr struct{ N int }
		if err := n.call(ctx, &cr, "conns", map[string]any{"peer": oh.ID().String()}); err != nil || cr.N != 0 {
			t.Fatalf("js has %d conns to us (%v)", cr.N, err)
		}
	})
	t.Run("they-dial", func(t *testing.T) {
		ctx := ctxTimeout(t, 30*time.Second)
		oh, _ := newOurHost(t, nil)
		addr := ourListen(t, oh)
		tcpPart, _ := ma.SplitLast(addr)
		err := n.call(ctx, nil, "dial", map[string]any{"addr": withPeer(t, tcpPart, other.ID().String()).String()})
		// Errors cross the process boundary as text: the class name, and
		// the message naming the identity we actually proved.
		var je *jsError
		if !errors.As(err, &je) || je.Name != "EncryptionFailedError" || !strings.Contains(je.Msg, oh.ID().String()) {
			t.Fatalf("js dial with the wrong peer ID = %v, want an EncryptionFailedError naming our ID", err)
		}
		t.Logf("js's error: %v", err)
		if len(oh.Conns()) != 0 {
			t.Fatal("our host kept a connection")
		}
	})
}
