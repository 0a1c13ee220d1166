package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// handler serves one inbound stream whose protocol was negotiated. It owns
// the stream and must return once the stream or ctx ends.
type handler func(ctx context.Context, st *yamux.Stream, c *serverConn)

// serverConn is one accepted connection.
type serverConn struct {
	session    *yamux.Session
	remote     peer.ID // zero when insecure
	remoteAddr net.Addr
}

// stackServer accepts connections (TCP, then Noise and Yamux, or Yamux
// alone when insecure) and dispatches their streams to handlers by
// protocol. It owns every goroutine it starts; shutdown ends them all.
type stackServer struct {
	key      *peer.PrivateKey
	insecure bool
	log      *slog.Logger
	handlers map[string]handler
	// events, if set, hears about connections and streams (metrics).
	events serverEvents

	ln     net.Listener
	ctx    context.Context // ended by shutdown once the drain is over
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*serverConn]struct{} // guarded by mu
	draining bool                     // guarded by mu: no new connections
	active   int                      // handlers running; guarded by mu
	idle     chan struct{}            // closed when active drops to 0; guarded by mu
}

// serverEvents are the hooks a metrics collector sets. Nil funcs are skipped.
type serverEvents struct {
	// wrapConn wraps each accepted TCP connection (to count its bytes).
	wrapConn   func(net.Conn) net.Conn
	connOpened func(*serverConn)
	connClosed func(*serverConn, error)
	// retire is called with the function that forgets a closed
	// connection, so that a collector can move its final counts aside in
	// the same step.
	retire     func(sc *serverConn, remove func())
	stream     func(protocol string)
	streamFail func()
}

func newStackServer(key *peer.PrivateKey, insecure bool, log *slog.Logger, handlers map[string]handler) *stackServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &stackServer{key: key, insecure: insecure, log: log, handlers: handlers, ctx: ctx, cancel: cancel,
		conns: map[*serverConn]struct{}{}}
}

// listen starts accepting on addr (a /ip4|ip6/HOST/tcp/PORT multiaddr).
func (s *stackServer) listen(addr string) error {
	t, err := parseTarget(addr)
	if err != nil {
		return err
	}
	if !t.id.IsZero() {
		return fmt.Errorf("listen address %s: /p2p/ is set by the key, not the address", addr)
	}
	ln, err := net.Listen(t.network, t.hostport)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.ln = ln
	s.wg.Go(s.acceptLoop)
	return nil
}

// id is our peer ID, zero when insecure (nothing proves it then).
func (s *stackServer) id() peer.ID {
	if s.insecure {
		return peer.ID{}
	}
	return s.key.ID()
}

// addr is the full multiaddr to dial, with /p2p/<id> when secured.
func (s *stackServer) addr() string { return tcpMultiaddr(s.ln.Addr(), s.id()) }

// protocols lists the handled protocol IDs, sorted.
func (s *stackServer) protocols() []string {
	ps := make([]string, 0, len(s.handlers))
	for p := range s.handlers {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// sessions returns the sessions of the connections open now.
func (s *stackServer) sessions() []*yamux.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*yamux.Session, 0, len(s.conns))
	for sc := range s.conns {
		out = append(out, sc.session)
	}
	return out
}

func (s *stackServer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.upgrade(c) })
	}
}

// upgradeTimeout bounds an inbound connection's setup.
const upgradeTimeout = 15 * time.Second

func (s *stackServer) upgrade(c net.Conn) {
	setTCPOptions(c)
	if f := s.events.wrapConn; f != nil {
		c = f(c)
	}
	sc := &serverConn{remoteAddr: c.RemoteAddr()}
	log := s.log.With("remote", c.RemoteAddr().String())
	var err error
	if s.insecure {
		sc.session, err = startSession(c, false)
	} else {
		sc.session, sc.remote, err = s.secure(c)
	}
	if err != nil {
		c.Close()
		log.Info("connection setup failed", "err", err)
		return
	}
	if sc.remote != (peer.ID{}) {
		log = log.With("peer", sc.remote.String())
	}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		sc.session.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	if f := s.events.connOpened; f != nil {
		f(sc)
	}
	log.Info("connection up")
	s.streamLoop(sc, log)
	sc.session.Close()
	remove := func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}
	if f := s.events.retire; f != nil {
		f(sc, remove)
	} else {
		remove()
	}
	err = sc.session.Err()
	if f := s.events.connClosed; f != nil {
		f(sc, err)
	}
	log.Info("connection closed", "err", err)
}

// secure runs the listener's side of multistream-select "/noise", Noise and
// the muxer negotiation.
func (s *stackServer) secure(c net.Conn) (*yamux.Session, peer.ID, error) {
	ctx, cancel := context.WithTimeout(s.ctx, upgradeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if _, err := multistream.Negotiate(c, []string{noiseID}); err != nil {
		return nil, peer.ID{}, fmt.Errorf("security negotiation: %w", err)
	}
	nc, err := noise.SecureInbound(ctx, c, noise.Config{Identity: s.key, Muxers: []string{yamuxID}})
	if err != nil {
		return nil, peer.ID{}, fmt.Errorf("noise handshake: %w", err)
	}
	if nc.Muxer() != yamuxID {
		if _, err := multistream.Negotiate(nc, []string{yamuxID}); err != nil {
			return nil, peer.ID{}, fmt.Errorf("muxer negotiation: %w", err)
		}
	}
	c.SetDeadline(time.Time{})
	sess, err := startSession(nc, false)
	return sess, nc.RemotePeer(), err
}

// negotiationTimeout bounds multistream-select on one inbound stream.
const negotiationTimeout = 10 * time.Second

func (s *stackServer) streamLoop(sc *serverConn, log *slog.Logger) {
	for {
		st, err := sc.session.AcceptStream()
		if err != nil {
			return
		}
		if !s.begin() {
			st.Reset()
			continue
		}
		s.wg.Go(func() {
			defer s.end()
			st.SetDeadline(time.Now().Add(negotiationTimeout))
			proto, err := multistream.NegotiateFunc(st, func(p string) bool { return s.handlers[p] != nil })
			if err != nil {
				log.Debug("stream negotiation failed", "err", err)
				if f := s.events.streamFail; f != nil {
					f()
				}
				st.Reset()
				return
			}
			st.SetDeadline(time.Time{})
			if f := s.events.stream; f != nil {
				f(proto)
			}
			log.Debug("stream", "protocol", proto, "stream", st.StreamID())
			s.handlers[proto](s.ctx, st, sc)
		})
	}
}

// begin counts a handler in; false once the server has shut down.
func (s *stackServer) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.active++
	return true
}

func (s *stackServer) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active--; s.active == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// shutdown stops accepting, sends GO_AWAY on every connection, waits up to
// drain for the handlers in flight (or until force is closed), then closes
// everything and waits for every goroutine. It reports how many handlers
// were still running when the drain ended.
func (s *stackServer) shutdown(drain time.Duration, force <-chan struct{}) int {
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Lock()
	s.draining = true
	for sc := range s.conns {
		if err := sc.session.GoAway(); err != nil && !errors.Is(err, yamux.ErrSessionShutdown) {
			s.log.Debug("GO_AWAY failed", "err", err)
		}
	}
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
	s.mu.Lock()
	for sc := range s.conns {
		sc.session.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return left
}
