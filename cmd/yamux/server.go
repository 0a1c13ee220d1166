package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/peer"
	"github.com/yamuxgo/yamux/perf"
)

// echoID is the echo protocol serve answers.
const echoID = "/echo/1.0.0"

// agentVersion is what we announce in identify.
func agentVersion() string { return "yamuxgo-cli/" + versionWord() }

// server is serve's node (and the in-process perf run's server): a host
// that answers perf and echo besides the host's own identify and ping,
// logs its connections, and drains gracefully on shutdown.
type server struct {
	h        *host.Host
	insecure bool
	log      *slog.Logger

	// ctx ends the perf and echo handlers once the drain is over.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	active int           // perf and echo handlers running; guarded by mu
	idle   chan struct{} // closed when active drops to 0; guarded by mu
}

// newServer builds the server's host. m, if set, feeds metrics from the
// host's connection and stream events and counts the TCP bytes.
func newServer(key *peer.PrivateKey, insecure bool, log *slog.Logger, perfSrv *perfServer, m *metrics) (*server, error) {
	s := &server{insecure: insecure, log: log}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	opts := &host.Options{
		AgentVersion: agentVersion(),
		Insecure:     insecure,
		Notify:       s.notify(m),
	}
	if m != nil {
		opts.WrapConn = m.wrapConn
	}
	h, err := host.New(key, opts)
	if err != nil {
		return nil, err
	}
	s.h = h
	h.SetStreamHandler(perf.ProtocolID, s.counted(func(st *host.Stream) { perfSrv.handle(s.ctx, st) }))
	h.SetStreamHandler(echoID, s.counted(func(st *host.Stream) { serveEcho(s.ctx, st, log) }))
	return s, nil
}

// notify logs the host's events and passes them on to m.
func (s *server) notify(m *metrics) host.Notify {
	n := host.Notify{
		Connected: func(c *host.Conn) {
			s.connLog(c).Info("connection up")
			if m != nil {
				m.connected(c)
			}
		},
		Disconnected: func(c *host.Conn) {
			if m != nil {
				m.disconnected(c)
			}
			s.connLog(c).Info("connection closed", "err", c.Err())
		},
		UpgradeFailed: func(remote net.Addr, err error) {
			s.log.Info("connection setup failed", "remote", remote.String(), "err", err)
		},
		InboundStream: func(st *host.Stream) {
			s.connLog(st.Conn()).Debug("stream", "protocol", st.Protocol(), "stream", st.StreamID())
			if m != nil {
				m.stream(st.Protocol())
			}
		},
		InboundStreamFailed: func(c *host.Conn, err error) {
			s.connLog(c).Debug("stream negotiation failed", "err", err)
			if m != nil {
				m.streamFailed()
			}
		},
	}
	return n
}

func (s *server) connLog(c *host.Conn) *slog.Logger {
	log := s.log.With("remote", c.RemoteMultiaddr().String())
	if id := c.RemotePeer(); !id.IsZero() {
		log = log.With("peer", id.String())
	}
	return log
}

// counted makes the drain wait for f's streams.
func (s *server) counted(f host.StreamHandler) host.StreamHandler {
	return func(st *host.Stream) {
		s.mu.Lock()
		s.active++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			if s.active--; s.active == 0 && s.idle != nil {
				close(s.idle)
				s.idle = nil
			}
			s.mu.Unlock()
		}()
		f(st)
	}
}

// listen starts accepting on addr (a /ip4|ip6/HOST/tcp/PORT multiaddr).
func (s *server) listen(addr string) error {
	t, err := parseTarget(addr)
	if err != nil {
		return err
	}
	if !t.id.IsZero() {
		return fmt.Errorf("listen address %s: /p2p/ is set by the key, not the address", addr)
	}
	if err := s.h.Listen(t.addr); err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return nil
}

// addr is the full multiaddr to dial, with /p2p/<id> when secured (when
// insecure nothing proves the ID, so it is left out).
func (s *server) addr() string {
	addrs := s.h.Addrs()
	if len(addrs) == 0 {
		return ""
	}
	if s.insecure {
		return addrs[0].String()
	}
	p2p, err := ma.NewComponent("p2p", s.h.ID().String())
	if err != nil {
		return addrs[0].String()
	}
	return addrs[0].Encapsulate(p2p).String()
}

// shutdown sends GO_AWAY on every connection (the host stops listening),
// waits up to drain for the perf and echo streams in flight (or until
// force is closed), then closes everything and waits for every goroutine.
// It reports how many of those streams were still running when the drain
// ended.
func (s *server) shutdown(drain time.Duration, force <-chan struct{}) int {
	if err := s.h.GoAway(); err != nil {
		s.log.Debug("GO_AWAY failed", "err", err)
	}
	s.mu.Lock()
	var idle chan struct{}
	if s.active > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle = s.idle
	}
	s.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(drain)
		select {
		case <-idle:
		case <-t.C:
		case <-force:
		}
		t.Stop()
	}
	s.mu.Lock()
	left := s.active
	s.mu.Unlock()
	s.cancel()
	s.h.Close()
	return left
}

func serveEcho(ctx context.Context, st *host.Stream, log *slog.Logger) {
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	defer st.Close()
	// The stream has no ReadFrom or WriteTo, so this is a plain loop of
	// 32 KiB reads and writes.
	n, err := io.Copy(st, st)
	if err != nil {
		log.Debug("echo failed", "err", err, "bytes", n)
		st.Reset()
		return
	}
	st.CloseWrite()
	log.Debug("echo done", "bytes", n)
}
