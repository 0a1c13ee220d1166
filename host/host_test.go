package host_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// pair is a dialing host a, a listening host b, and both ends of one
// connection between them.
type pair struct {
	a, b   *host.Host
	ca, cb *host.Conn
	addrB  ma.Multiaddr
}

// newPair builds two hosts (options may be nil) and connects a to b.
func newPair(t *testing.T, optsA, optsB *host.Options) *pair {
	t.Helper()
	var ob host.Options
	if optsB != nil {
		ob = *optsB
	}
	inbound := make(chan *host.Conn, 8)
	ob.ConnHandler = func(c *host.Conn) { inbound <- c }
	p := &pair{a: newHost(t, optsA), b: newHost(t, &ob)}
	p.addrB = listen(t, p.b)
	ca, err := p.a.Dial(ctxTimeout(t, 10*time.Second), p.addrB)
	if err != nil {
		t.Fatal(err)
	}
	p.ca = ca
	select {
	case p.cb = <-inbound:
	case <-time.After(10 * time.Second):
		t.Fatal("no inbound connection")
	}
	return p
}

func TestDialIdentifyPingEcho(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noEarlyA     bool
		noEarlyB     bool
		wantEarlyMux bool
	}{
		{"early-muxer", false, false, true},
		{"dialer-sends-no-muxers", true, false, false},
		{"listener-sends-no-muxers", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, &host.Options{NoEarlyMuxerNegotiation: tc.noEarlyA, AgentVersion: "agent-a"},
				&host.Options{NoEarlyMuxerNegotiation: tc.noEarlyB, AgentVersion: "agent-b"})
			ctx := ctxTimeout(t, 20*time.Second)
			if p.ca.RemotePeer() != p.b.ID() || p.cb.RemotePeer() != p.a.ID() {
				t.Fatalf("peer IDs: dialer sees %s (want %s), listener sees %s (want %s)", p.ca.RemotePeer(), p.b.ID(), p.cb.RemotePeer(), p.a.ID())
			}
			for _, c := range []*host.Conn{p.ca, p.cb} {
				st := c.ConnState()
				if st.Security != host.NoiseID || st.StreamMultiplexer != host.YamuxID || st.UsedEarlyMuxerNegotiation != tc.wantEarlyMux {
					t.Errorf("ConnState = %+v, want early muxer %v", st, tc.wantEarlyMux)
				}
			}
			// Identify both ways.
			for _, side := range []struct {
				c     *host.Conn
				agent string
			}{{p.ca, "agent-b"}, {p.cb, "agent-a"}} {
				rec, err := side.c.Identify(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if rec.AgentVersion != side.agent || !rec.HasProtocol(echoID) || !rec.HasProtocol("/ipfs/ping/1.0.0") || !rec.HasProtocol("/ipfs/id/1.0.0") {
					t.Errorf("identify record %+v", rec)
				}
				if !rec.PublicKey.Equal(side.c.RemotePublicKey()) || rec.ObservedAddr == nil {
					t.Errorf("identify key or observed address missing: %+v", rec)
				}
			}
			if rec, _ := p.ca.Identify(ctx); len(rec.ListenAddrs) != 1 || !rec.ListenAddrs[0].Equal(p.b.Addrs()[0]) {
				t.Errorf("listener's listen addrs = %v, want %v", rec.ListenAddrs, p.b.Addrs())
			}
			for _, c := range []*host.Conn{p.ca, p.cb} {
				if rtt, err := c.Ping(ctx); err != nil || rtt <= 0 {
					t.Fatalf("ping: %v, %v", rtt, err)
				}
				errs := make(chan error, 8)
				for range 8 {
					go func() { errs <- echo(t, ctx, c, 256<<10) }()
				}
				for range 8 {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// After identify, a single known protocol is negotiated lazily; several
// protocols, or one identify did not list, are negotiated up front.
func TestNewStreamNegotiation(t *testing.T) {
	p := newPair(t, nil, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := p.ca.Identify(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := p.ca.NewStream(ctx, echoID)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Lazy() {
		t.Error("NewStream of a protocol identify listed was not lazy")
	}
	s.Close()
	if err := echo(t, ctx, p.ca, 1<<20); err != nil {
		t.Fatalf("lazy echo: %v", err)
	}

	// An unknown protocol gets na: a typed error naming it.
	_, err = p.ca.NewStream(ctx, "/nope/1.0.0")
	var ns *multistream.NotSupportedError
	if !errors.As(err, &ns) || !slices.Equal(ns.Protocols, []string{"/nope/1.0.0"}) {
		t.Fatalf("NewStream(/nope) = %v, want a NotSupportedError", err)
	}
	// The first supported one of several wins.
	s, err = p.ca.NewStream(ctx, "/nope/1.0.0", echoID)
	if err != nil || s.Protocol() != echoID || s.Lazy() {
		t.Fatalf("NewStream(/nope, echo) = %v, %v", s, err)
	}
	s.Close()
	if _, err := p.ca.NewStream(ctx); !errors.Is(err, host.ErrNoProtocols) {
		t.Fatalf("NewStream() = %v", err)
	}
}

// A lazy proposal the peer no longer supports fails on the first Read with
// a NotSupportedError, and the stream is reset.
func TestLazyRefusedAfterHandlerRemoved(t *testing.T) {
	p := newPair(t, nil, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := p.ca.Identify(ctx); err != nil {
		t.Fatal(err)
	}
	p.b.RemoveStreamHandler(echoID)
	s, err := p.ca.NewStream(ctx, echoID)
	if err != nil || !s.Lazy() {
		t.Fatalf("NewStream = %v, lazy %v", err, s != nil && s.Lazy())
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(make([]byte, 8))
	if !errors.Is(err, multistream.ErrNotSupported) {
		t.Fatalf("first Read = %v, want ErrNotSupported", err)
	}
	if _, err := s.Write([]byte("more")); err == nil {
		t.Fatal("Write after the refusal succeeded")
	}
}

// Dialing the wrong peer ID fails with a typed error before any stream
// exists; neither host keeps a connection.
func TestDialWrongPeerID(t *testing.T) {
	a, b := newHost(t, nil), newHost(t, nil)
	addr := listen(t, b)
	other, _ := peer.GenerateEd25519Key(nil)
	tcpPart, _ := ma.SplitLast(addr)
	_, err := a.Dial(ctxTimeout(t, 10*time.Second), withPeer(t, tcpPart, other.ID()))
	var mm *noise.PeerIDMismatchError
	if !errors.Is(err, host.ErrUpgrade) || !errors.As(err, &mm) || mm.Expected != other.ID() || mm.Actual != b.ID() {
		t.Fatalf("Dial = %v, want ErrUpgrade with a PeerIDMismatchError", err)
	}
	if n := len(a.Conns()); n != 0 {
		t.Fatalf("dialer has %d conns", n)
	}
}

func TestDialAddressErrors(t *testing.T) {
	a := newHost(t, nil)
	ctx := ctxTimeout(t, 5*time.Second)
	id := a.ID().String()
	for addr, want := range map[string]error{
		"/ip4/127.0.0.1/tcp/1":                   host.ErrNoPeerID,
		"/ip4/127.0.0.1/udp/1/p2p/" + id:         host.ErrUnsupportedAddr,
		"/ip4/127.0.0.1/tcp/1/ws/p2p/" + id:      host.ErrUnsupportedAddr,
		"/ip4/127.0.0.1/udp/1/quic-v1/p2p/" + id: host.ErrUnsupportedAddr,
	} {
		if _, err := a.Dial(ctx, ma.StringCast(addr)); !errors.Is(err, want) {
			t.Errorf("Dial(%s) = %v, want %v", addr, err, want)
		}
	}
	if err := a.Listen(ma.StringCast("/ip4/127.0.0.1/udp/0")); !errors.Is(err, host.ErrUnsupportedAddr) {
		t.Errorf("Listen(udp) = %v", err)
	}
}

// /dns4 and /ip6 addresses dial like /ip4 ones.
func TestDialDNSAndIPv6(t *testing.T) {
	a, b := newHost(t, nil), newHost(t, nil)
	addr := listen(t, b)
	port, _ := addr.ValueForProtocol(ma.P_TCP)
	ctx := ctxTimeout(t, 10*time.Second)
	c, err := a.Dial(ctx, withPeer(t, ma.StringCast("/dns4/localhost/tcp/"+port), b.ID()))
	if err != nil {
		t.Fatalf("dns4: %v", err)
	}
	c.Close()
	if err := b.Listen(ma.StringCast("/ip6/::1/tcp/0")); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	c, err = a.Dial(ctx, withPeer(t, b.Addrs()[1], b.ID()))
	if err != nil {
		t.Fatalf("ip6: %v", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestHostCloseEndsEverything(t *testing.T) {
	p := newPair(t, nil, nil)
	s, err := p.ca.NewStream(ctxTimeout(t, 5*time.Second), echoID)
	if err != nil {
		t.Fatal(err)
	}
	p.a.Close()
	<-p.ca.Done()
	<-p.cb.Done()
	if _, err := s.Write([]byte("x")); err == nil {
		t.Fatal("Write after Host.Close succeeded")
	}
	if _, err := p.a.Dial(context.Background(), p.addrB); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("Dial after Close = %v", err)
	}
}
