package p2pmux

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

const holdProtocol protocol.ID = "/yamuxgo/hold/1.0.0"

// peerMemory is what the resource manager has reserved in the scope of
// peer p, in bytes.
func peerMemory(t *testing.T, rm network.ResourceManager, p peer.ID) int64 {
	t.Helper()
	var mem int64
	if err := rm.ViewPeer(p, func(s network.PeerScope) error {
		mem = s.Stat().Memory
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return mem
}

// serveHold makes h answer holdProtocol streams: read one byte, echo it,
// then wait for the opener's FIN, Close, and report on done (after Close
// returned, when the stream's span is done).
func serveHold(h host.Host, done chan<- struct{}) {
	h.SetStreamHandler(holdProtocol, func(s network.Stream) {
		b := make([]byte, 1)
		if _, err := io.ReadFull(s, b); err == nil {
			s.Write(b)
			io.Copy(io.Discard, s)
		}
		s.Close()
		done <- struct{}{}
	})
}

// TestStreamMemoryInResourceManager: with our muxer on both hosts, every
// stream's receive window is reserved in the real resource manager's peer
// scope (256 KiB per stream on each side while the streams are open, more
// once windows grow) and all of it is given back when the streams end.
func TestStreamMemoryInResourceManager(t *testing.T) {
	limits := rcmgr.DefaultLimits.AutoScale()
	a, rmA := newHostLimits(t, ours, limits)
	b, rmB := newHostLimits(t, ours, limits)
	handled := make(chan struct{}, 64)
	serveHold(b, handled)
	connect(t, a, b)
	baseA, baseB := peerMemory(t, rmA, b.ID()), peerMemory(t, rmB, a.ID())

	const n = 16
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	streams := make([]network.Stream, 0, n)
	for range n {
		s, err := a.NewStream(ctx, b.ID(), holdProtocol)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		// The echo proves the handler, so the accepted stream, exists.
		if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	const window = 256 << 10
	openA, openB := peerMemory(t, rmA, b.ID()), peerMemory(t, rmB, a.ID())
	for _, s := range streams {
		s.CloseWrite()
	}
	for range n {
		<-handled // the acceptor's Close has returned
	}
	for _, s := range streams {
		// Read to the acceptor's FIN, then Close: the stream is fully
		// closed and its span done when Close returns.
		io.Copy(io.Discard, s)
		s.Close()
	}
	endA, endB := peerMemory(t, rmA, b.ID()), peerMemory(t, rmB, a.ID())
	t.Logf("peer-scope memory: opener %d -> %d -> %d, acceptor %d -> %d -> %d (idle, %d streams open, ended)",
		baseA, openA, endA, baseB, openB, endB, n)
	// The baselines may include the tail of identify's streams, so the
	// comparisons are against the end state and at most the baseline.
	if openA-endA < n*window || openB-endB < n*window {
		t.Errorf("%d open streams reserved %d (opener) and %d (acceptor) bytes, want at least %d each",
			n, openA-endA, openB-endB, n*window)
	}
	if endA > baseA || endB > baseB {
		t.Errorf("peer scopes hold %d and %d bytes after the streams ended, more than idle (%d, %d)", endA, endB, baseA, baseB)
	}
	// Megabytes through 64 streams both ways grow windows and give them
	// back: the opener's scope is back to where it was.
	echoStreams(t, a, b.ID(), 64, 1<<20)
	if got := peerMemory(t, rmA, b.ID()); got > endA {
		t.Errorf("opener's peer scope holds %d bytes after 64 echo streams, want %d", got, endA)
	}
}

// TestResourceManagerRefusesStreamMemory: a host of ours whose resource
// manager allows a peer less memory than one stream's initial window
// refuses that peer's streams with a reset and fails its own OpenStream
// with the resource manager's error, and the connection stays up. The
// peer is a stock go-yamux host and one of ours.
func TestResourceManagerRefusesStreamMemory(t *testing.T) {
	small := rcmgr.PartialLimitConfig{
		PeerDefault: rcmgr.ResourceLimits{Memory: 128 << 10},
	}.Build(rcmgr.DefaultLimits.AutoScale())
	for _, peerKind := range []muxerKind{stock, ours} {
		t.Run(string(peerKind), func(t *testing.T) {
			tight, _ := newHostLimits(t, ours, small)
			other := newHost(t, peerKind)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Connect returns once the dialer has the connection; the
			// listener adds it to its swarm a moment later, so wait for the
			// tight host to say it is connected (identify, which connect
			// waits for, cannot run on a host that affords no stream).
			sub, err := tight.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if err := other.Connect(ctx, peer.AddrInfo{ID: tight.ID(), Addrs: tight.Addrs()}); err != nil {
				t.Fatal(err)
			}
			for tight.Network().Connectedness(other.ID()) != network.Connected {
				select {
				case <-sub.Out():
				case <-ctx.Done():
					t.Fatalf("the tight host never saw the connection from %s", other.ID())
				}
			}
			checkMuxer(t, tight, other.ID(), ours)

			// Inbound: the peer's stream is reset before any protocol
			// negotiation can finish.
			_, err = other.NewStream(ctx, tight.ID(), echoProtocol)
			if err == nil {
				t.Fatal("the peer opened a stream the tight host cannot afford")
			}
			if !errors.Is(err, network.ErrReset) {
				t.Fatalf("peer's NewStream: %v, want a reset", err)
			}
			// Outbound: our own OpenStream is refused by the resource manager.
			_, err = tight.NewStream(ctx, other.ID(), echoProtocol)
			if !errors.Is(err, network.ErrResourceLimitExceeded) {
				t.Fatalf("tight host's NewStream: %v, want network.ErrResourceLimitExceeded", err)
			}
			for _, c := range tight.Network().ConnsToPeer(other.ID()) {
				if c.IsClosed() {
					t.Fatal("a refused stream closed the connection")
				}
			}
			if tight.Network().Connectedness(other.ID()) != network.Connected {
				t.Fatal("the hosts are no longer connected")
			}
		})
	}
}
