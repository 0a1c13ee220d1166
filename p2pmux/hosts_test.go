package p2pmux

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	stockyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	goyamux "github.com/libp2p/go-yamux/v5"
	"github.com/yamuxgo/yamux"
)

const echoProtocol protocol.ID = "/yamuxgo/echo/1.0.0"

// muxerKind names the muxer a test host runs.
type muxerKind string

const (
	ours  muxerKind = "ours"
	stock muxerKind = "stock"
)

func (k muxerKind) transport() network.Multiplexer {
	if k == ours {
		return DefaultTransport
	}
	return stockyamux.DefaultTransport
}

// newHost starts a go-libp2p host that differs from the stock
// configuration only where tests need it: loopback TCP as the only
// transport, Noise as the only security protocol, the given Yamux
// implementation as the only muxer, and a real resource manager with
// go-libp2p's default limits. It serves the echo protocol.
func newHost(t testing.TB, kind muxerKind) host.Host {
	t.Helper()
	h, _ := newHostLimits(t, kind, rcmgr.DefaultLimits.AutoScale())
	return h
}

// newHostLimits is newHost with the resource manager's limits given; it
// also returns the resource manager.
func newHostLimits(t testing.TB, kind muxerKind, limits rcmgr.ConcreteLimitConfig) (host.Host, network.ResourceManager) {
	t.Helper()
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(ID, kind.transport()),
		libp2p.ResourceManager(rm),
		libp2p.UserAgent("yamuxgo-test/"+string(kind)),
		libp2p.DisableRelay(),
	)
	if err != nil {
		rm.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() }) // also closes the resource manager
	h.SetStreamHandler(echoProtocol, func(s network.Stream) {
		if _, err := io.Copy(s, s); err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	return h, rm
}

// connect dials b from a and waits until identify has completed on both
// sides, returning what each side learnt of the other.
func connect(t *testing.T, a, b host.Host) (aLearnt, bLearnt event.EvtPeerIdentificationCompleted) {
	t.Helper()
	subA, err := a.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	subB, err := b.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	wait := func(sub event.Subscription, want peer.ID) event.EvtPeerIdentificationCompleted {
		for {
			select {
			case e := <-sub.Out():
				if ev := e.(event.EvtPeerIdentificationCompleted); ev.Peer == want {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("identify with %s did not complete", want)
			}
		}
	}
	return wait(subA, b.ID()), wait(subB, a.ID())
}

// checkMuxer asserts that every connection of h to p runs the muxer kind.
func checkMuxer(t *testing.T, h host.Host, p peer.ID, kind muxerKind) {
	t.Helper()
	conns := h.Network().ConnsToPeer(p)
	if len(conns) == 0 {
		t.Fatalf("%s has no connection to %s", h.ID(), p)
	}
	for _, c := range conns {
		if got := c.ConnState().StreamMultiplexer; got != ID {
			t.Fatalf("negotiated muxer %q, want %q", got, ID)
		}
		var o *yamux.Session
		var s *goyamux.Session
		isOurs, isStock := c.As(&o), c.As(&s)
		if (kind == ours) != isOurs || (kind == stock) != isStock {
			t.Fatalf("connection runs ours=%v stock=%v, want %s", isOurs, isStock, kind)
		}
	}
}

func checkIdentified(t *testing.T, ev event.EvtPeerIdentificationCompleted, kind muxerKind) {
	t.Helper()
	if want := "yamuxgo-test/" + string(kind); ev.AgentVersion != want {
		t.Errorf("identified agent %q, want %q", ev.AgentVersion, want)
	}
	for _, want := range []protocol.ID{echoProtocol, ping.ID, "/ipfs/id/1.0.0"} {
		found := false
		for _, p := range ev.Protocols {
			found = found || p == want
		}
		if !found {
			t.Errorf("identify did not list %s: %v", want, ev.Protocols)
		}
	}
	if len(ev.ListenAddrs) == 0 {
		t.Error("identify carried no listen addresses")
	}
}

func checkPing(t *testing.T, from host.Host, to peer.ID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := ping.Ping(ctx, from, to)
	for range 3 {
		r := <-results
		if r.Error != nil {
			t.Fatalf("ping %s: %v", to, r.Error)
		}
		if r.RTT <= 0 {
			t.Fatalf("ping %s: RTT %v", to, r.RTT)
		}
	}
}

// echoStreams opens n echo streams from one host to another at once, sends
// size pseudo-random bytes on each while reading the echo concurrently,
// and compares the SHA-256 of what came back with what was sent.
func echoStreams(t *testing.T, from host.Host, to peer.ID, n, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := echoOne(ctx, from, to, uint64(i), size); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func echoOne(ctx context.Context, from host.Host, to peer.ID, seed uint64, size int) error {
	s, err := from.NewStream(ctx, to, echoProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	payload := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	rng.Read(payload)
	sent := sha256.Sum256(payload)
	writeErr := make(chan error, 1)
	go func() {
		// Uneven write sizes, so frames do not line up with writes.
		rest := payload
		for len(rest) > 0 {
			n := min(len(rest), 1+int(binary.LittleEndian.Uint16(rest)))
			if _, err := s.Write(rest[:n]); err != nil {
				writeErr <- err
				return
			}
			rest = rest[n:]
		}
		writeErr <- s.CloseWrite()
	}()
	h := sha256.New()
	got, err := io.Copy(h, s)
	if werr := <-writeErr; werr != nil {
		return fmt.Errorf("write: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("read after %d bytes: %w", got, err)
	}
	if got != int64(size) {
		return fmt.Errorf("echoed %d bytes, want %d", got, size)
	}
	if sum := h.Sum(nil); !bytes.Equal(sum, sent[:]) {
		return errors.New("echo checksum mismatch")
	}
	return nil
}

// TestHostsInterop runs two go-libp2p hosts against each other, ours
// against stock go-yamux with ours on either end of the connection, and
// ours against ours: identify, ping and 64 concurrent echo streams of
// 1 MiB in both directions over one connection.
func TestHostsInterop(t *testing.T) {
	for _, pair := range [][2]muxerKind{{ours, stock}, {stock, ours}, {ours, ours}} {
		dialer, listener := pair[0], pair[1]
		t.Run(fmt.Sprintf("%s-dials-%s", dialer, listener), func(t *testing.T) {
			a, b := newHost(t, dialer), newHost(t, listener)
			aLearnt, bLearnt := connect(t, a, b)
			checkMuxer(t, a, b.ID(), dialer)
			checkMuxer(t, b, a.ID(), listener)
			t.Run("identify", func(t *testing.T) {
				checkIdentified(t, aLearnt, listener)
				checkIdentified(t, bLearnt, dialer)
			})
			t.Run("ping", func(t *testing.T) {
				checkPing(t, a, b.ID())
				checkPing(t, b, a.ID())
			})
			t.Run("echo-dialer-opens", func(t *testing.T) { echoStreams(t, a, b.ID(), 64, 1<<20) })
			t.Run("echo-listener-opens", func(t *testing.T) { echoStreams(t, b, a.ID(), 64, 1<<20) })
			if n := len(a.Network().ConnsToPeer(b.ID())); n != 1 {
				t.Errorf("%d connections between the hosts, want 1 (all streams on one muxer)", n)
			}
		})
	}
}
