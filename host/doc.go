// Package host is a small libp2p host: it dials and accepts libp2p
// connections over TCP and runs application protocols on their streams, in
// the shape go-libp2p users know (a host with an identity, stream
// handlers keyed by protocol ID, NewStream with a list of protocols) but
// with a much smaller surface.
//
// # Model
//
// A connection is built in layers, each negotiated or proved before the
// next starts (docs/libp2p-decisions.md has every choice):
//
//	TCP
//	 └ multistream-select "/noise" (a dialer offering "/tls/1.0.0" first gets "na")
//	    └ Noise XX (package noise): both identities proved; the dialer checks
//	       that the peer is the one its multiaddr's /p2p/<id> names
//	       └ "/yamux/1.0.0", agreed inside the Noise handshake (early muxer
//	          negotiation) or else with multistream-select in the secured conn
//	          └ a yamux.Session (we are the client when we dialed)
//	             └ per stream: multistream-select of the application protocol
//
// The whole upgrade runs under Options.HandshakeTimeout; a failure at any
// layer closes the TCP connection and returns an *UpgradeError naming the
// stage, which matches ErrUpgrade and wraps the layer's own error (noise.ErrPeerIDMismatch, multistream errors,
// a timeout). At most Options.MaxInboundUpgrades accepted connections are
// in their upgrade at once; while they are, the listeners accept no more,
// so connections that never speak cost a bounded number of goroutines.
//
// Conn.Timings splits the setup into the TCP connect, the security layer
// and the muxer, for benchmarks. Options.Insecure skips security and muxer
// negotiation altogether and runs yamux straight on TCP (streams still
// negotiate their protocol): it is not libp2p's /plaintext, only our own
// endpoints speak it. Options.WrapConn wraps the raw TCP connection (to
// count its bytes), and Options.Notify hears about connections, failed
// inbound upgrades and inbound streams; each connection's yamux counters
// are Conn.Session().Stats(). Host.GoAway starts a graceful shutdown.
//
// Once a connection is up, each side runs identify (/ipfs/id/1.0.0)
// towards the other and serves its own record; Conn.Identify returns the
// peer's. Ping (/ipfs/ping/1.0.0) is served too. Streams for protocols
// without a handler are answered "na" and reset.
//
// # Ownership and lifecycle
//
// The host owns one goroutine per listener, one per connection (its
// stream-accept loop), one per connection for identify, and one per inbound
// stream while its handler runs. Host.Close closes the listeners and every
// connection and waits for all of them, so handlers must return once their
// stream fails. Closing a Conn closes its yamux session, which closes the
// Noise conn and the TCP conn; a TCP conn that dies or a Noise record that
// fails to authenticate ends the session with an error wrapping the cause
// (Conn.Err), and every blocked call on it returns an error matching
// yamux.ErrSessionShutdown.
package host
