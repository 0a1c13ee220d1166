package libp2p

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	gohost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	gopeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	goyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	goping "github.com/libp2p/go-libp2p/p2p/protocol/ping"
	gonoise "github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	mss "github.com/multiformats/go-multistream"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

const goAgent = "go-libp2p-interop/0.52.0"

// newGoHost returns a go-libp2p v0.52.0 host restricted to TCP + Noise +
// Yamux (restricted) or with go-libp2p's defaults (TLS offered before
// Noise, several transports), listening on loopback when listen is set.
func newGoHost(t testing.TB, restricted, listen bool) gohost.Host {
	t.Helper()
	opts := []golibp2p.Option{
		golibp2p.UserAgent(goAgent),
		golibp2p.DisableRelay(),
		golibp2p.ResourceManager(&network.NullResourceManager{}),
	}
	if restricted {
		opts = append(opts,
			golibp2p.Transport(tcp.NewTCPTransport),
			golibp2p.Security(gonoise.ID, gonoise.New),
			golibp2p.Muxer(goyamux.ID, goyamux.DefaultTransport))
	}
	if listen {
		opts = append(opts, golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, golibp2p.NoListenAddrs)
	}
	h, err := golibp2p.New(opts...)
	if err != nil {
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

func goID(t testing.TB, id peer.ID) gopeer.ID {
	t.Helper()
	g, err := gopeer.IDFromBytes(id.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// identified returns a channel that delivers once go's identify of p has
// completed (subscribe before connecting).
func identified(t testing.TB, h gohost.Host, p gopeer.ID) <-chan error {
	t.Helper()
	sub, err := h.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerIdentificationFailed)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		defer sub.Close()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case e := <-sub.Out():
				switch e := e.(type) {
				case event.EvtPeerIdentificationCompleted:
					if e.Peer == p {
						done <- nil
						return
					}
				case event.EvtPeerIdentificationFailed:
					if e.Peer == p {
						done <- e.Reason
						return
					}
				}
			case <-timeout:
				done <- errors.New("go-libp2p never finished identifying us")
				return
			}
		}
	}()
	return done
}

// checkGoSide checks what the go-libp2p host sees of us, and drives ping
// and echo from its side.
func checkGoSide(t *testing.T, ctx context.Context, gh gohost.Host, ours gopeer.ID, idDone <-chan error, wantEarly bool) {
	t.Helper()
	conns := gh.Network().ConnsToPeer(ours)
	if len(conns) != 1 {
		t.Fatalf("go-libp2p has %d conns to us", len(conns))
	}
	st := conns[0].ConnState()
	if st.Security != gonoise.ID || st.StreamMultiplexer != goyamux.ID || st.UsedEarlyMuxerNegotiation != wantEarly {
		t.Errorf("go's ConnState = %+v, want noise, yamux, early muxer negotiation %v", st, wantEarly)
	}
	if err := <-idDone; err != nil {
		t.Fatalf("go's identify of us: %v", err)
	}
	agent, err := gh.Peerstore().Get(ours, "AgentVersion")
	if err != nil || agent != ourAgent {
		t.Errorf("go sees our agent as %v (%v), want %q", agent, err, ourAgent)
	}
	protos, _ := gh.Peerstore().GetProtocols(ours)
	for _, p := range []string{echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !slices.ContainsFunc(protos, func(q protocolID) bool { return string(q) == p }) {
			t.Errorf("go sees our protocols as %v, without %s", protos, p)
		}
	}
	for range 3 {
		res := <-goping.Ping(ctx, gh, ours)
		if res.Error != nil || res.RTT <= 0 {
			t.Fatalf("go's ping of us: %v, %v", res.RTT, res.Error)
		}
	}
	start := time.Now()
	goEcho(t, ctx, gh, ours, "us")
	t.Logf("go-libp2p echoed %d x %d KiB through us in %v", echoCount, echoSize>>10, time.Since(start).Round(time.Millisecond))
}

func goAddr(t testing.TB, gh gohost.Host) ma.Multiaddr {
	t.Helper()
	return withPeer(t, gh.Addrs()[0], gh.ID().String())
}

func TestGoLibp2p(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noEarly bool
	}{{"early-muxer", false}, {"no-muxer-list", true}} {
		t.Run(tc.name+"/we-dial", func(t *testing.T) {
			ctx := ctxTimeout(t, 90*time.Second)
			gh := newGoHost(t, true, true)
			oh, _ := newOurHost(t, &host.Options{NoEarlyMuxerNegotiation: tc.noEarly})
			idDone := identified(t, gh, goID(t, oh.ID()))
			c, err := oh.Dial(ctx, goAddr(t, gh))
			if err != nil {
				t.Fatal(err)
			}
			if got := goID(t, c.RemotePeer()); got != gh.ID() {
				t.Fatalf("RemotePeer = %s, want %s", got, gh.ID())
			}
			if st := c.ConnState(); st.UsedEarlyMuxerNegotiation == tc.noEarly || st.StreamMultiplexer != host.YamuxID {
				t.Errorf("our ConnState = %+v", st)
			}
			checkOurIdentify(t, ctx, c, goAgent)
			ourPing(t, ctx, c)
			ourEcho(t, ctx, c)
			checkGoSide(t, ctx, gh, goID(t, oh.ID()), idDone, !tc.noEarly)
		})
		t.Run(tc.name+"/they-dial", func(t *testing.T) {
			ctx := ctxTimeout(t, 90*time.Second)
			gh := newGoHost(t, true, false)
			oh, conns := newOurHost(t, &host.Options{NoEarlyMuxerNegotiation: tc.noEarly})
			addr := ourListen(t, oh)
			idDone := identified(t, gh, goID(t, oh.ID()))
			if err := gh.Connect(ctx, gopeer.AddrInfo{ID: goID(t, oh.ID()), Addrs: []ma.Multiaddr{addr}}); err != nil {
				t.Fatal(err)
			}
			c := waitConn(t, conns)
			if got := goID(t, c.RemotePeer()); got != gh.ID() {
				t.Fatalf("RemotePeer = %s, want %s", got, gh.ID())
			}
			if st := c.ConnState(); st.UsedEarlyMuxerNegotiation == tc.noEarly {
				t.Errorf("our ConnState = %+v", st)
			}
			checkOurIdentify(t, ctx, c, goAgent)
			ourPing(t, ctx, c)
			ourEcho(t, ctx, c)
			checkGoSide(t, ctx, gh, goID(t, oh.ID()), idDone, !tc.noEarly)
		})
	}
}

// A go-libp2p dialer with its default security list offers /tls/1.0.0
// first; we answer na and it continues with /noise.
func TestGoLibp2pDefaultDialerTLSFirst(t *testing.T) {
	ctx := ctxTimeout(t, 60*time.Second)
	gh := newGoHost(t, false, false)
	oh, conns := newOurHost(t, nil)
	addr := ourListen(t, oh)
	// The connection goes through a tap, to see the proposals on the wire.
	port, _ := addr.ValueForProtocol(ma.P_TCP)
	tap := newTapProxy(t, "127.0.0.1:"+port)
	tapAddr := ma.StringCast("/ip4/127.0.0.1/tcp/" + portString(tap.ln.Addr()))
	if err := gh.Connect(ctx, gopeer.AddrInfo{ID: goID(t, oh.ID()), Addrs: []ma.Multiaddr{tapAddr}}); err != nil {
		t.Fatal(err)
	}
	c := waitConn(t, conns)
	st := gh.Network().ConnsToPeer(goID(t, oh.ID()))[0].ConnState()
	if st.Security != gonoise.ID || st.StreamMultiplexer != goyamux.ID {
		t.Errorf("go's ConnState = %+v, want noise and yamux", st)
	}
	t.Logf("default go-libp2p dialer: %+v", st)
	dialer, listener := tap.seen()
	wantDialer := []byte("\x13/multistream/1.0.0\n\x0b/tls/1.0.0\n")
	wantListener := []byte("\x13/multistream/1.0.0\n\x03na\n\x07/noise\n")
	if !bytes.HasPrefix(dialer, wantDialer) || !bytes.Contains(dialer, []byte("\x07/noise\n")) {
		t.Errorf("go's first bytes %q, want %q and then /noise", dialer, wantDialer)
	}
	if !bytes.HasPrefix(listener, wantListener) {
		t.Errorf("our first bytes %q, want %q", listener, wantListener)
	}
	res := <-goping.Ping(ctx, gh, goID(t, oh.ID()))
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	ourPing(t, ctx, c)
	// A protocol we have no handler for: our na reaches go's NewStream as
	// go-multistream's typed error, and the connection stays usable.
	_, err := gh.NewStream(ctx, goID(t, oh.ID()), "/nope/1.0.0")
	var ns mss.ErrNotSupported[protocolID]
	if !errors.As(err, &ns) {
		t.Fatalf("go's NewStream(/nope) = %v, want multistream ErrNotSupported", err)
	}
	ourPing(t, ctx, c)
}

func portString(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }

func TestGoLibp2pWrongPeerID(t *testing.T) {
	other, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("we-dial", func(t *testing.T) {
		ctx := ctxTimeout(t, 30*time.Second)
		gh := newGoHost(t, true, true)
		oh, _ := newOurHost(t, nil)
		_, err := oh.Dial(ctx, withPeer(t, gh.Addrs()[0], other.ID().String()))
		var mm *noise.PeerIDMismatchError
		if !errors.Is(err, host.ErrUpgrade) || !errors.As(err, &mm) || goID(t, mm.Actual) != gh.ID() {
			t.Fatalf("Dial = %v, want ErrUpgrade with a PeerIDMismatchError naming the go peer", err)
		}
		if len(oh.Conns()) != 0 || len(gh.Network().ConnsToPeer(goID(t, oh.ID()))) != 0 {
			t.Fatal("a connection exists after the failed dial")
		}
	})
	t.Run("they-dial", func(t *testing.T) {
		ctx := ctxTimeout(t, 30*time.Second)
		gh := newGoHost(t, true, false)
		oh, _ := newOurHost(t, nil)
		addr := ourListen(t, oh)
		tcpPart, _ := ma.SplitLast(addr)
		err := gh.Connect(ctx, gopeer.AddrInfo{ID: goID(t, other.ID()), Addrs: []ma.Multiaddr{tcpPart}})
		var mm sec.ErrPeerIDMismatch
		if !errors.As(err, &mm) || mm.Actual != goID(t, oh.ID()) {
			t.Fatalf("go's Connect = %v, want a sec.ErrPeerIDMismatch naming us", err)
		}
		if len(gh.Network().ConnsToPeer(goID(t, other.ID()))) != 0 {
			t.Fatal("go has a connection after the failed dial")
		}
	})
}

// goEcho runs echoCount concurrent echo streams of echoSize bytes from the
// go-libp2p host gh to peer to (named in failures as who).
func goEcho(t testing.TB, ctx context.Context, gh gohost.Host, to gopeer.ID, who string) {
	t.Helper()
	errs := make(chan error, echoCount)
	for range echoCount {
		go func() {
			s, err := gh.NewStream(ctx, to, echoID)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if d, ok := ctx.Deadline(); ok {
				s.SetDeadline(d)
			}
			errs <- echoStream(s, s.CloseWrite, echoSize)
		}()
	}
	for range echoCount {
		if err := <-errs; err != nil {
			t.Fatalf("go's echo stream to %s: %v", who, err)
		}
	}
}
