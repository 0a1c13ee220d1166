package p2pmux

import (
	"fmt"
	"net"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/yamuxgo/yamux"
)

// ID is the multistream-select protocol id of Yamux.
const ID = "/yamux/1.0.0"

// unlimitedIncomingStreams stands in for "no limit" in
// Config.MaxIncomingStreams, which has no such value (0 means the default
// of 1000). In a go-libp2p host the resource manager limits streams per
// peer, protocol and service, as it does for the stock transport, so our
// own limit must never be the one that bites. The value stays well below
// MaxInt32 so that the core's rapid-reset arithmetic (a multiple of the
// limit) cannot overflow an int on 32-bit platforms.
const unlimitedIncomingStreams = 1 << 28

// DefaultConfig returns the configuration DefaultTransport uses: the
// core's defaults with the changes go-libp2p's stock transport makes to
// go-yamux's: a 16 MiB maximum stream window and no incoming-stream limit
// of our own. Logging stays off unless Logger is set; the core only ever
// logs to that *slog.Logger.
func DefaultConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.MaxStreamWindowSize = 16 << 20
	c.MaxIncomingStreams = unlimitedIncomingStreams
	c.Logger = nil
	return c
}

// Transport is a network.Multiplexer that runs Yamux sessions of
// github.com/yamuxgo/yamux. Its zero value is not usable; use
// DefaultTransport or NewTransport.
type Transport struct {
	config yamux.Config
}

var _ network.Multiplexer = (*Transport)(nil)

// DefaultTransport is a Transport with DefaultConfig. Pass it to
// libp2p.Muxer(ID, DefaultTransport).
var DefaultTransport = &Transport{config: *DefaultConfig()}

// NewTransport returns a Transport whose sessions use a copy of config
// (nil: DefaultConfig). Fields left zero take the core's defaults, not
// DefaultConfig's: start from DefaultConfig to keep go-libp2p parity.
func NewTransport(config *yamux.Config) (*Transport, error) {
	if config == nil {
		config = DefaultConfig()
	}
	if err := yamux.VerifyConfig(config); err != nil {
		return nil, fmt.Errorf("p2pmux: %w", err)
	}
	return &Transport{config: *config}, nil
}

// Config returns a copy of the transport's configuration.
func (t *Transport) Config() *yamux.Config {
	c := t.config
	return &c
}

// NewConn starts a session over nc: the server side when isServer is
// true (it opens even stream ids), the client side otherwise.
//
// The scope is go-libp2p's peer scope of the connection. When it is not
// nil, every stream opens a span of it (scope.BeginSpan) as its
// yamux.MemoryManager, as the stock transport does: the initial window is
// reserved at priority 255 (a refusal fails OpenStream, or resets an
// inbound stream), window growth at priority 128 (a refusal keeps the
// window as it is), and the span is done when the stream ends. The
// resource manager then bounds the receive windows instead of the
// session's own budget; it limits the number of streams above the muxer
// as usual.
func (t *Transport) NewConn(nc net.Conn, isServer bool, scope network.PeerScope) (network.MuxedConn, error) {
	config := t.config
	if scope != nil {
		config.MemoryManager = func() (yamux.MemoryManager, error) {
			span, err := scope.BeginSpan()
			if err != nil {
				return nil, err
			}
			return span, nil
		}
	}
	var (
		sess *yamux.Session
		err  error
	)
	if isServer {
		sess, err = yamux.Server(nc, &config)
	} else {
		sess, err = yamux.Client(nc, &config)
	}
	if err != nil {
		return nil, fmt.Errorf("p2pmux: %w", err)
	}
	return &conn{sess: sess, nc: nc}, nil
}
