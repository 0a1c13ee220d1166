package libp2p

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/peer"
)

const (
	echoID    = "/echo/1.0.0"
	ourAgent  = "yamuxgo-interop/0.1.0"
	echoCount = 32
	echoSize  = 1 << 20
)

// newOurHost returns one of our hosts with an echo handler, closed at
// cleanup; conns receives every connection it gets.
func newOurHost(t testing.TB, opts *host.Options) (*host.Host, <-chan *host.Conn) {
	t.Helper()
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	var o host.Options
	if opts != nil {
		o = *opts
	}
	o.AgentVersion = ourAgent
	conns := make(chan *host.Conn, 16)
	o.ConnHandler = func(c *host.Conn) { conns <- c }
	h, err := host.New(k, &o)
	if err != nil {
		t.Fatal(err)
	}
	h.SetStreamHandler(echoID, func(s *host.Stream) {
		defer s.Close()
		if _, err := io.Copy(s, s); err != nil {
			s.Reset()
			return
		}
		s.CloseWrite()
	})
	t.Cleanup(func() { h.Close() })
	return h, conns
}

// ourListen makes h listen on loopback and returns its address with /p2p.
func ourListen(t testing.TB, h *host.Host) ma.Multiaddr {
	t.Helper()
	if err := h.Listen(ma.StringCast("/ip4/127.0.0.1/tcp/0")); err != nil {
		t.Fatal(err)
	}
	return withPeer(t, h.Addrs()[0], h.ID().String())
}

func withPeer(t testing.TB, a ma.Multiaddr, id string) ma.Multiaddr {
	t.Helper()
	c, err := ma.NewComponent("p2p", id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Encapsulate(c)
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitConn(t testing.TB, ch <-chan *host.Conn) *host.Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no connection reached our host")
		return nil
	}
}

// echoStream checks one echo exchange of n random bytes over rw, which
// the caller opened: write all, half-close, read back, compare SHA-256.
func echoStream(rw io.ReadWriter, closeWrite func() error, n int) error {
	data := make([]byte, n)
	rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := rw.Write(data)
		if err == nil {
			err = closeWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	got, rerr := io.Copy(h, rw)
	if err := errors.Join(rerr, <-werr); err != nil {
		return err
	}
	if got != int64(n) || [32]byte(h.Sum(nil)) != sha256.Sum256(data) {
		return fmt.Errorf("echo mismatch: %d of %d bytes back, checksum differs", got, n)
	}
	return nil
}

// ourEcho runs echoCount concurrent echo streams of echoSize bytes from
// our side of c.
func ourEcho(t testing.TB, ctx context.Context, c *host.Conn) {
	t.Helper()
	errs := make(chan error, echoCount)
	start := time.Now()
	for range echoCount {
		go func() {
			s, err := c.NewStream(ctx, echoID)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if !s.Lazy() {
				// Identify has listed the protocol: go-libp2p's lazy path.
				errs <- errors.New("NewStream after identify did not negotiate lazily")
				return
			}
			if d, ok := ctx.Deadline(); ok {
				s.SetDeadline(d)
			}
			errs <- echoStream(s, s.CloseWrite, echoSize)
		}()
	}
	for range echoCount {
		if err := <-errs; err != nil {
			t.Fatalf("our echo stream: %v", err)
		}
	}
	t.Logf("we echoed %d x %d KiB in %v", echoCount, echoSize>>10, time.Since(start).Round(time.Millisecond))
}

// checkOurIdentify checks what identify told our side about the peer.
func checkOurIdentify(t testing.TB, ctx context.Context, c *host.Conn, agentPrefix string) {
	t.Helper()
	rec, err := c.Identify(ctx)
	if err != nil {
		t.Fatalf("our identify: %v", err)
	}
	if len(rec.AgentVersion) < len(agentPrefix) || rec.AgentVersion[:len(agentPrefix)] != agentPrefix {
		t.Errorf("peer's agent = %q, want prefix %q", rec.AgentVersion, agentPrefix)
	}
	for _, p := range []string{echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !rec.HasProtocol(p) {
			t.Errorf("peer's protocols %q lack %s", rec.Protocols, p)
		}
	}
	if rec.PublicKey == nil || !rec.PublicKey.Equal(c.RemotePublicKey()) {
		t.Errorf("identify public key does not match the Noise identity")
	}
	t.Logf("identify from the peer: agent %q, %d protocols, listen %v, observed us at %v", rec.AgentVersion, len(rec.Protocols), rec.ListenAddrs, rec.ObservedAddr)
}

func ourPing(t testing.TB, ctx context.Context, c *host.Conn) {
	t.Helper()
	for range 3 {
		rtt, err := c.Ping(ctx)
		if err != nil || rtt <= 0 {
			t.Fatalf("our ping: %v, %v", rtt, err)
		}
	}
}
