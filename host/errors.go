package host

import "errors"

// Sentinel errors. Match them with errors.Is; the layers' own errors
// (noise, multistream, yamux, identify) are wrapped alongside.
var (
	// ErrUpgrade is matched by every failure to turn a TCP connection into
	// a libp2p connection: security or muxer negotiation, the Noise
	// handshake, a peer ID mismatch, a handshake timeout.
	ErrUpgrade = errors.New("host: connection upgrade failed")
	// ErrNoPeerID: Dial was given a multiaddr without a trailing /p2p/<id>.
	ErrNoPeerID = errors.New("host: multiaddr has no /p2p/<peer ID>")
	// ErrUnsupportedAddr: a multiaddr that is not
	// /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<id>].
	ErrUnsupportedAddr = errors.New("host: unsupported multiaddr")
	// ErrClosed: the host has been closed.
	ErrClosed = errors.New("host: closed")
	// ErrNoProtocols: NewStream was called without a protocol.
	ErrNoProtocols = errors.New("host: no protocols given")
	// ErrIdentify: identify towards the peer failed, or the peer's record
	// carries a public key that is not the one Noise authenticated.
	ErrIdentify = errors.New("host: identify failed")
)
