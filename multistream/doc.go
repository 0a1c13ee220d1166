// Package multistream implements multistream-select 1.0, the protocol
// negotiation libp2p runs on a fresh connection (to pick the security
// protocol), inside the secured connection (to pick the muxer, when Noise
// did not already agree on one) and on every new stream (to pick the
// application protocol).
//
// # Model
//
// Every message is uvarint(len(msg)+1) || msg || '\n', at most
// MaxMessageSize bytes including the newline. Both sides first send the
// header "/multistream/1.0.0". The dialer then proposes a protocol; the
// listener echoes it to accept or answers "na", after which the dialer may
// propose the next one.
//
// Both sides write before they read, possibly at the same moment, so the
// header is always written by a goroutine of its own while the caller
// reads the peer's header: over an unbuffered transport such as net.Pipe
// neither side can block the other. That goroutine is owned by the call
// that started it and has ended when the call returns.
//
// SelectOneOf is the dialer and Negotiate the listener. NewLazy is the
// optimistic dialer: it sends the header, its single proposal and the first
// application bytes in one write without waiting for the listener, and
// reports a refusal on the first Read (docs/libp2p-decisions.md says when we
// use it).
//
// Nothing here sets deadlines on its own: a silent peer blocks a
// negotiation until the caller's deadline or context ends it (the host
// package bounds every negotiation). The only exception is Lazy.Close,
// which bounds the flush of a header never sent by CloseTimeout.
//
// Errors match the sentinels below with errors.Is; a refused selection is a
// *NotSupportedError listing the protocols tried.
package multistream
