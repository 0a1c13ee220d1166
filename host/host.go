package host

import (
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/identify"
	"github.com/yamuxgo/yamux/peer"
	"github.com/yamuxgo/yamux/ping"
)

// Protocol IDs of the layers under the application protocols.
const (
	// NoiseID is the security protocol we speak.
	NoiseID = "/noise"
	// YamuxID is the stream multiplexer we speak.
	YamuxID = "/yamux/1.0.0"
)

// Defaults for the zero fields of Options (docs/libp2p-decisions.md).
const (
	DefaultHandshakeTimeout   = 15 * time.Second
	DefaultNegotiationTimeout = 10 * time.Second
	DefaultIdentifyTimeout    = 10 * time.Second
	DefaultMaxInboundUpgrades = 64
	DefaultAgentVersion       = "yamuxgo/0.1.0"
	DefaultProtocolVersion    = "ipfs/0.1.0"
)

// Options configures a Host. The zero value is usable.
type Options struct {
	// AgentVersion and ProtocolVersion are announced in identify.
	AgentVersion, ProtocolVersion string
	// Yamux configures every session; nil means yamux.DefaultConfig().
	Yamux *yamux.Config
	// HandshakeTimeout bounds a connection's whole upgrade, from the first
	// multistream byte to the agreed muxer.
	HandshakeTimeout time.Duration
	// MaxInboundUpgrades bounds the accepted connections being upgraded at
	// once, over all listeners. While that many are, the listeners accept
	// no more: new connections wait in the kernel's listen backlog until
	// an upgrade ends, so a peer that opens connections and never speaks
	// holds at most this many goroutines and descriptors of ours, each for
	// at most HandshakeTimeout (go-libp2p's upgrader stops accepting in
	// the same way).
	MaxInboundUpgrades int
	// NegotiationTimeout bounds multistream-select on one stream: the
	// peer's proposal on an inbound stream, the peer's answer on an
	// outbound one (together with NewStream's context).
	NegotiationTimeout time.Duration
	// IdentifyTimeout bounds identify towards a new peer.
	IdentifyTimeout time.Duration
	// NoEarlyMuxerNegotiation sends no stream_muxers list in the Noise
	// handshake, so the muxer is always negotiated with multistream-select
	// (for peers, and tests, that need that path).
	NoEarlyMuxerNegotiation bool
	// ConnHandler, if set, is called in a goroutine of its own for every
	// new connection, inbound or outbound, once its session is up.
	ConnHandler func(*Conn)
	// Insecure runs Yamux straight on TCP, with no security layer and no
	// muxer negotiation: nothing authenticates either peer, a dialed
	// /p2p/<id> is not checked, and Conn.RemotePeer is the zero ID. Streams
	// still negotiate their protocol with multistream-select. This is NOT
	// libp2p's /plaintext/2.0.0 (which exchanges public keys): only our
	// own endpoints speak it, to measure Yamux without encryption.
	Insecure bool
	// WrapConn, if set, wraps every raw TCP connection, dialed or
	// accepted, before any byte is exchanged (to count bytes, say). The
	// wrapper must pass Close and deadlines through; one without
	// CloseWrite makes the session's close skip its half-close, and one
	// without yamux.InterruptibleReader makes a stream's Read leave the
	// connection to the session's receive loop (spec.md §4.4: a hand-off
	// per message) even over Noise.
	WrapConn func(net.Conn) net.Conn
	// Notify hears about connections and inbound streams.
	Notify Notify
}

// StreamHandler serves one inbound stream whose protocol was negotiated.
// The stream belongs to the handler; it should close or reset it, and must
// return once the stream fails.
type StreamHandler func(*Stream)

// Host is a libp2p node: an identity, listeners, connections and stream
// handlers. All methods are safe for concurrent use.
type Host struct {
	// Immutable after New.
	key  *peer.PrivateKey
	id   peer.ID
	opts Options

	// wg counts every goroutine the host owns.
	wg sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	goingAway bool // GoAway was called: new connections get GO_AWAY at once
	listeners []net.Listener
	conns     map[*Conn]struct{}
	pending   map[net.Conn]struct{} // TCP conns being upgraded
	// upgradeSlots holds a token per inbound upgrade in progress
	// (MaxInboundUpgrades).
	upgradeSlots chan struct{}
	handlers     map[string]StreamHandler
}

// New returns a host with identity key. It serves identify and ping; it
// neither listens nor dials until told to.
func New(key *peer.PrivateKey, opts *Options) (*Host, error) {
	h := &Host{key: key, id: key.ID(), conns: make(map[*Conn]struct{}), pending: make(map[net.Conn]struct{}), handlers: make(map[string]StreamHandler)}
	if opts != nil {
		h.opts = *opts
	}
	o := &h.opts
	setDefault(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&o.NegotiationTimeout, DefaultNegotiationTimeout)
	setDefault(&o.IdentifyTimeout, DefaultIdentifyTimeout)
	setDefault(&o.MaxInboundUpgrades, DefaultMaxInboundUpgrades)
	setDefault(&o.AgentVersion, DefaultAgentVersion)
	setDefault(&o.ProtocolVersion, DefaultProtocolVersion)
	if o.Yamux == nil {
		o.Yamux = yamux.DefaultConfig()
	}
	h.upgradeSlots = make(chan struct{}, o.MaxInboundUpgrades)
	h.handlers[identify.ID] = h.serveIdentify
	h.handlers[ping.ID] = servePing
	return h, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// ID returns our peer ID.
func (h *Host) ID() peer.ID { return h.id }

// SetStreamHandler registers handler for inbound streams of protocol,
// replacing any previous one. Identify and ping are registered by New.
func (h *Host) SetStreamHandler(protocol string, handler StreamHandler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers[protocol] = handler
}

// RemoveStreamHandler removes the handler of protocol: such streams are
// then answered "na".
func (h *Host) RemoveStreamHandler(protocol string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.handlers, protocol)
}

// Protocols returns the protocols we have handlers for, sorted.
func (h *Host) Protocols() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := make([]string, 0, len(h.handlers))
	for p := range h.handlers {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (h *Host) handler(protocol string) StreamHandler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handlers[protocol]
}

// Addrs returns the addresses we listen on, with the ports the system
// chose.
func (h *Host) Addrs() []ma.Multiaddr {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ma.Multiaddr
	for _, l := range h.listeners {
		if m := toMultiaddr(l.Addr()); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Conns returns the open connections.
func (h *Host) Conns() []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// Close stops the listeners, closes every connection and waits until
// every goroutine of the host has ended.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	ls := h.listeners
	h.listeners = nil
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	// Upgrades in progress end at once instead of at their timeout.
	for c := range h.pending {
		c.Close()
	}
	h.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	h.wg.Wait()
	return nil
}

// GoAway begins a graceful shutdown: it stops the listeners and sends
// GO_AWAY on every connection, and on every connection whose upgrade
// finishes later, so that peers open no new streams while the streams in
// flight carry on. Close ends those.
func (h *Host) GoAway() error {
	h.mu.Lock()
	h.goingAway = true
	ls := h.listeners
	h.listeners = nil
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range conns {
		if err := c.sess.GoAway(); err != nil && !errors.Is(err, yamux.ErrSessionShutdown) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addConn registers c; false if the host is closed. goAway is true once
// GoAway has been called.
func (h *Host) addConn(c *Conn) (ok, goAway bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, false
	}
	h.conns[c] = struct{}{}
	return true, h.goingAway
}

// trackPending registers a TCP conn under upgrade; false (and c closed) if
// the host is closed. The returned func unregisters it.
func (h *Host) trackPending(c net.Conn) (func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.Close()
		return nil, false
	}
	h.pending[c] = struct{}{}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.pending, c)
	}, true
}

func (h *Host) removeConn(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

// goTracked runs f in a goroutine the host owns; false if the host is
// closed (f does not run).
func (h *Host) goTracked(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
	return true
}
