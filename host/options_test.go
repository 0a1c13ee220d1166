package host_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/peer"
)

// Two insecure hosts: raw yamux over TCP, an address without /p2p,
// multistream-select per stream, identify and ping still served, and no
// peer identity anywhere.
func TestInsecure(t *testing.T) {
	opts := &host.Options{Insecure: true}
	p := newPair(t, opts, opts)
	ctx := ctxTimeout(t, 10*time.Second)
	for _, c := range []*host.Conn{p.ca, p.cb} {
		st := c.ConnState()
		if st.Security != "" || st.StreamMultiplexer != host.YamuxID || st.UsedEarlyMuxerNegotiation {
			t.Errorf("insecure ConnState %+v", st)
		}
		if !c.RemotePeer().IsZero() || c.RemotePublicKey() != nil || c.NoiseConn() != nil {
			t.Errorf("insecure conn has a peer identity: %v", c.RemotePeer())
		}
		if tm := c.Timings(); tm.Security != 0 || tm.Muxer <= 0 {
			t.Errorf("insecure timings %+v, want no security and a muxer time", tm)
		}
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := echo(t, ctx, c, 256<<10); err != nil {
			t.Fatalf("echo: %v", err)
		}
	}
	rec, err := p.ca.Identify(ctx)
	if err != nil || !rec.HasProtocol(echoID) || !rec.PublicKey.Equal(mustPublic(t, p.b)) {
		t.Fatalf("identify over an insecure conn: %+v, %v", rec, err)
	}
	// An address without /p2p dials; one with /p2p too (unchecked).
	tcpPart, _ := ma.SplitLast(p.addrB)
	c, err := p.a.Dial(ctx, tcpPart)
	if err != nil {
		t.Fatalf("insecure dial without /p2p: %v", err)
	}
	if err := echo(t, ctx, c, 1024); err != nil {
		t.Fatal(err)
	}
}

func mustPublic(t *testing.T, h *host.Host) *peer.PublicKey {
	t.Helper()
	pk, err := h.ID().ExtractPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// A secured dialer reaching an insecure listener fails in the security
// negotiation, as a typed UpgradeError; an insecure dialer reaching a
// secured listener gets a session that ends at once with an error, and the
// listener reports its failed upgrade. Neither side panics or hangs.
func TestInsecureMismatch(t *testing.T) {
	ctx := ctxTimeout(t, 10*time.Second)
	insecure := newHost(t, &host.Options{Insecure: true})
	insecureAddr := listen(t, insecure)
	secured := newHost(t, nil)
	_, err := secured.Dial(ctx, insecureAddr)
	var ue *host.UpgradeError
	if !errors.Is(err, host.ErrUpgrade) || !errors.As(err, &ue) || ue.Stage != host.StageSecurityNegotiation {
		t.Fatalf("secured dial of an insecure host = %v, want an UpgradeError in %q", err, host.StageSecurityNegotiation)
	}

	failed := make(chan error, 1)
	listener := newHost(t, &host.Options{Notify: host.Notify{UpgradeFailed: func(remote net.Addr, err error) {
		if remote == nil {
			err = errors.New("no remote address")
		}
		failed <- err
	}}})
	addr := listen(t, listener)
	dialer := newHost(t, &host.Options{Insecure: true})
	c, err := dialer.Dial(ctx, addr)
	if err == nil {
		// Nothing is negotiated, so the dial itself succeeds; the session
		// dies on the listener's multistream bytes.
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("insecure session with a secured listener still running")
		}
		if !errors.Is(c.Err(), yamux.ErrSessionShutdown) {
			t.Errorf("session error %v, want ErrSessionShutdown", c.Err())
		}
	}
	select {
	case err := <-failed:
		if !errors.Is(err, host.ErrUpgrade) {
			t.Errorf("UpgradeFailed(%v), want ErrUpgrade", err)
		}
	case <-ctx.Done():
		t.Fatal("no UpgradeFailed on the listener")
	}
}

// Timings split the setup by layer: the dialer has all three, the
// listener no TCP connect; both muxer paths are timed.
func TestTimings(t *testing.T) {
	for _, noEarly := range []bool{false, true} {
		p := newPair(t, &host.Options{NoEarlyMuxerNegotiation: noEarly}, nil)
		if tm := p.ca.Timings(); tm.TCP <= 0 || tm.Security <= 0 || tm.Muxer <= 0 {
			t.Errorf("noEarly=%v: dialer timings %+v, want every layer", noEarly, tm)
		}
		if tm := p.cb.Timings(); tm.TCP != 0 || tm.Security <= 0 || tm.Muxer <= 0 {
			t.Errorf("noEarly=%v: listener timings %+v, want security and muxer only", noEarly, tm)
		}
		if got := p.ca.ConnState().UsedEarlyMuxerNegotiation; got == noEarly {
			t.Errorf("noEarly=%v: early muxer %v", noEarly, got)
		}
	}
}

// countConn counts the bytes a conn reads and writes.
type countConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(int64(n))
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(int64(n))
	return n, err
}

// events records what a Notify reports.
type events struct {
	mu           sync.Mutex
	connected    []*host.Conn
	disconnected []*host.Conn
	streams      []string
	failed       []error
	gone         chan *host.Conn
	failedCh     chan error
}

func (e *events) notify() host.Notify {
	e.gone = make(chan *host.Conn, 4)
	e.failedCh = make(chan error, 4)
	return host.Notify{
		Connected: func(c *host.Conn) { e.mu.Lock(); e.connected = append(e.connected, c); e.mu.Unlock() },
		Disconnected: func(c *host.Conn) {
			e.mu.Lock()
			e.disconnected = append(e.disconnected, c)
			e.mu.Unlock()
			e.gone <- c
		},
		InboundStream: func(s *host.Stream) { e.mu.Lock(); e.streams = append(e.streams, s.Protocol()); e.mu.Unlock() },
		InboundStreamFailed: func(_ *host.Conn, err error) {
			e.mu.Lock()
			e.failed = append(e.failed, err)
			e.mu.Unlock()
			e.failedCh <- err
		},
	}
}

// WrapConn sees every byte of the TCP connection, Noise framing
// included; Notify reports the connection's life and its inbound streams,
// with the session's final Stats readable on Disconnected.
func TestWrapConnAndNotify(t *testing.T) {
	var inB, outB atomic.Int64
	var ev events
	optsB := &host.Options{
		WrapConn: func(c net.Conn) net.Conn { return &countConn{Conn: c, in: &inB, out: &outB} },
		Notify:   ev.notify(),
	}
	p := newPair(t, nil, optsB)
	ctx := ctxTimeout(t, 10*time.Second)
	const n = 1 << 20
	if err := echo(t, ctx, p.ca, n); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ca.NewStream(ctx, "/nope/1.0.0"); err == nil {
		t.Fatal("NewStream(/nope) succeeded")
	}
	// The listener's side of the refused stream ends once the dialer has
	// reset it, which may be after NewStream returned.
	select {
	case <-ev.failedCh:
	case <-ctx.Done():
		t.Fatal("no InboundStreamFailed")
	}
	p.ca.Close()
	var c *host.Conn
	select {
	case c = <-ev.gone:
	case <-ctx.Done():
		t.Fatal("no Disconnected")
	}
	if c != p.cb {
		t.Fatalf("Disconnected(%p), want the inbound conn %p", c, p.cb)
	}
	for _, h := range p.b.Conns() {
		if h == c {
			t.Error("Disconnected before the host forgot the conn")
		}
	}
	st := c.Session().Stats()
	if inB.Load() <= n || outB.Load() <= n || st.BytesReceived <= n || uint64(inB.Load()) <= st.BytesReceived {
		t.Errorf("wrapped conn in %d out %d, yamux received %d: want payload < yamux < TCP", inB.Load(), outB.Load(), st.BytesReceived)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.connected) != 1 || ev.connected[0] != p.cb || len(ev.disconnected) != 1 {
		t.Errorf("connected %d, disconnected %d, want 1 each", len(ev.connected), len(ev.disconnected))
	}
	echoes := 0
	for _, s := range ev.streams {
		if s == echoID {
			echoes++
		}
	}
	if echoes != 1 || len(ev.failed) != 1 {
		t.Errorf("inbound streams %v, failures %v; want one echo and one failure", ev.streams, ev.failed)
	}
}

// GoAway stops the listener and tells every peer to open no new streams,
// while a stream in flight finishes.
func TestGoAway(t *testing.T) {
	p := newPair(t, nil, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	inFlight, err := p.ca.NewStream(ctx, echoID, "/other/1.0.0") // negotiated before GO_AWAY
	if err != nil {
		t.Fatal(err)
	}
	if err := p.b.GoAway(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.a.Dial(ctx, p.addrB); err == nil {
		t.Error("dial after GoAway succeeded: the listener is still open")
	}
	// The GO_AWAY reaches the dialer in order with the echo below, so a
	// stream opened after the echo's bytes came back must be refused.
	if _, err := inFlight.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	inFlight.CloseWrite()
	got, err := io.ReadAll(inFlight)
	if err != nil || string(got) != "still here" {
		t.Fatalf("stream in flight after GoAway: %q, %v", got, err)
	}
	if _, err := p.ca.NewStream(ctx, echoID); !errors.Is(err, yamux.ErrRemoteGoAway) {
		t.Fatalf("NewStream after the peer's GoAway = %v, want ErrRemoteGoAway", err)
	}
}
