package host

import (
	"net"
)

// Notify is a set of callbacks, in the spirit of go-libp2p's
// network.NotifyBundle, through which a host tells about its connections
// and inbound streams (to keep metrics or logs). Nil fields are skipped.
// The callbacks run synchronously on the host's goroutines, so they must
// be quick and must not call back into the host in a way that waits for
// those goroutines (Host.Close).
type Notify struct {
	// Connected is called once a connection is up and registered, before
	// any of its inbound streams is served and before Disconnected.
	Connected func(*Conn)
	// Disconnected is called once a connection's session has ended (Conn.Err
	// says why) and the host has forgotten it; its Session().Stats() are
	// final by then.
	Disconnected func(*Conn)
	// UpgradeFailed is called when an accepted TCP connection could not be
	// upgraded (err matches ErrUpgrade); the dialer sees its own error.
	UpgradeFailed func(remote net.Addr, err error)
	// InboundStream is called when an inbound stream has negotiated a
	// protocol we handle, just before its handler runs.
	InboundStream func(*Stream)
	// InboundStreamFailed is called when an inbound stream is reset
	// because multistream-select failed or no handler serves the protocol
	// the peer asked for.
	InboundStreamFailed func(c *Conn, err error)
}
