package p2pmux

import (
	"errors"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/yamuxgo/yamux"
)

// translateError is the one place where our errors become go-libp2p's.
// go-libp2p code classifies muxer errors with errors.Is(err,
// network.ErrReset) and errors.As into *network.StreamError or
// *network.ConnError, so:
//
//   - a reset stream (*yamux.StreamError, either side) becomes a
//     *network.StreamError carrying the RST's code and who sent it;
//   - an ended session (*yamux.SessionError: GO_AWAY sent or received,
//     connection lost, keepalive timeout, protocol error) becomes a
//     *network.ConnError with the GO_AWAY code, as go-yamux reports every
//     session end as a GoAwayError;
//   - the peer's GO_AWAY(normal), which refuses new streams while the
//     session drains, is a remote ConnError with code 0.
//
// The original error stays reachable as TransportError, so errors.Is with
// our sentinels (yamux.ErrStreamReset, yamux.ErrSessionShutdown, …) and
// net.Error timeouts still work. Everything else (deadlines,
// yamux.ErrStreamClosed, context errors, io.EOF) passes through unchanged.
func translateError(err error) error {
	if err == nil {
		return nil
	}
	var se *yamux.StreamError
	if errors.As(err, &se) {
		return &network.StreamError{
			ErrorCode:      network.StreamErrorCode(se.Code),
			Remote:         se.Remote,
			TransportError: err,
		}
	}
	var sess *yamux.SessionError
	if errors.As(err, &sess) {
		return &network.ConnError{
			Remote:         sess.Remote,
			ErrorCode:      network.ConnErrorCode(sess.Code),
			TransportError: err,
		}
	}
	if errors.Is(err, yamux.ErrRemoteGoAway) {
		return &network.ConnError{Remote: true, ErrorCode: network.ConnNoError, TransportError: err}
	}
	return err
}
