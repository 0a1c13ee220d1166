// Package p2pmux makes github.com/yamuxgo/yamux a stream multiplexer for
// go-libp2p hosts: a drop-in replacement for go-libp2p's stock Yamux
// transport (p2p/muxer/yamux, built on go-yamux), negotiated under the same
// protocol id, /yamux/1.0.0, and wire-compatible with every Yamux peer.
//
// # Switching a host
//
// One option replaces the stock muxer:
//
//	h, err := libp2p.New(libp2p.Muxer(p2pmux.ID, p2pmux.DefaultTransport))
//
// The package is a separate Go module, so the yamux module itself never
// depends on go-libp2p.
//
// # Model
//
// Transport implements network.Multiplexer: each secured connection
// becomes one *yamux.Session (the server side for the listener of the
// connection), each network.MuxedStream one *yamux.Stream. The adapter
// holds no state of its own and starts no goroutines; the core's two
// goroutines per session end when the connection closes.
//
// DefaultConfig mirrors the changes go-libp2p makes to go-yamux's
// defaults: stream windows auto-tune up to 16 MiB, and there is no
// incoming-stream limit of our own because go-libp2p's resource manager
// limits streams. The package logs nothing unless Config.Logger is set.
//
// # Resource manager
//
// Each stream's receive window is accounted in the connection's
// go-libp2p peer scope, as with the stock transport: a stream opens a span
// of the scope (yamux.Config.MemoryManager), reserves its 256 KiB initial
// window at priority 255 when it is opened or accepted, and each window
// growth at priority 128; the span is done when the stream closes, is
// reset or the connection ends. A refused initial window fails OpenStream
// with the resource manager's error (network.ErrResourceLimitExceeded) or
// resets the peer's stream; a refused growth keeps the window as it is.
// The connection lives on either way.
//
// # Errors
//
// Errors are translated the way go-libp2p code expects them: a reset
// stream returns a *network.StreamError (ErrorCode is the code of the
// RST, Remote says who sent it), an ended connection a *network.ConnError
// (ErrorCode is the GO_AWAY code); both match network.ErrReset with
// errors.Is and keep our error as TransportError. Stream ResetWithError
// sends its code in the RST, conn CloseWithError sends its code in
// GO_AWAY. Close returns once the session and the underlying connection
// are closed.
//
// MuxedConn.As exposes the *yamux.Session behind a connection, for
// statistics such as RTT or NumStreams.
package p2pmux
