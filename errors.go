package yamux

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/yamuxgo/yamux/internal/frame"
)

// ErrorCode is the code carried by a GO_AWAY frame (spec.md §6). Any uint32
// is accepted from the peer; libp2p uses codes such as 0x1005.
type ErrorCode uint32

// The GO_AWAY codes defined by the Yamux spec.
const (
	CodeNormal        ErrorCode = 0
	CodeProtocolError ErrorCode = 1
	CodeInternalError ErrorCode = 2
)

func (c ErrorCode) String() string {
	switch c {
	case CodeNormal:
		return "normal"
	case CodeProtocolError:
		return "protocol error"
	case CodeInternalError:
		return "internal error"
	}
	return fmt.Sprintf("code 0x%x", uint32(c))
}

// Sentinel errors. Match them with errors.Is, never by text.
var (
	// ErrSessionShutdown is the one "session unavailable" error: every call
	// on a session that was closed, by either side or by a failure, returns
	// an error matching it.
	ErrSessionShutdown = errors.New("yamux: session shutdown")
	// ErrStreamClosed is returned by Write after CloseWrite or Close, and by
	// Read after CloseRead or Close.
	ErrStreamClosed = errors.New("yamux: stream closed")
	// ErrStreamReset is matched by every StreamError: the stream was reset
	// by either side.
	ErrStreamReset = errors.New("yamux: stream reset")
	// ErrRemoteGoAway is returned when the peer has sent GO_AWAY and so
	// refuses new streams.
	ErrRemoteGoAway = errors.New("yamux: remote end is not accepting connections")
	// ErrTimeout is returned when a deadline passes. It is a net.Error whose
	// Timeout method reports true and it wraps os.ErrDeadlineExceeded.
	ErrTimeout error = timeoutError{}
	// ErrKeepAliveTimeout ends a session whose keepalive ping went
	// unanswered. It is a net.Error whose Timeout method reports true.
	ErrKeepAliveTimeout error = &sessionTimeoutError{msg: "yamux: keepalive timeout"}
	// ErrConnectionWriteTimeout ends a session when writing one batch of
	// frames took longer than Config.ConnectionWriteTimeout.
	ErrConnectionWriteTimeout error = &sessionTimeoutError{msg: "yamux: connection write timeout"}
	// ErrStreamsExhausted is returned by OpenStream when the 32-bit stream
	// id space is used up; open a new session.
	ErrStreamsExhausted = errors.New("yamux: streams exhausted")
	// ErrBacklogFull is reported when an inbound stream is refused because
	// the accept backlog or MaxIncomingStreams is full.
	ErrBacklogFull = errors.New("yamux: backlog full")
	// ErrProtocol is matched by every session error caused by a peer that
	// violated the protocol (spec.md §7).
	ErrProtocol = errors.New("yamux: protocol error")
	// ErrInvalidVersion is a protocol error: a header with a version other than 0.
	ErrInvalidVersion = frame.ErrInvalidVersion
	// ErrInvalidMsgType is a protocol error: a header with an unknown type.
	ErrInvalidMsgType = frame.ErrInvalidType
	// ErrRecvWindowExceeded is a protocol error: the peer sent more DATA
	// than the window we granted.
	ErrRecvWindowExceeded = errors.New("yamux: receive window exceeded")
)

// timeoutError is the deadline error, shaped after the net.Conn contract.
type timeoutError struct{}

func (timeoutError) Error() string   { return "yamux: i/o deadline reached" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Unwrap() error   { return os.ErrDeadlineExceeded }

// sessionTimeoutError marks session-ending timeouts as net.Error timeouts,
// as hashicorp/yamux does, so net-aware callers can classify them.
type sessionTimeoutError struct{ msg string }

func (e *sessionTimeoutError) Error() string   { return e.msg }
func (e *sessionTimeoutError) Timeout() bool   { return true }
func (e *sessionTimeoutError) Temporary() bool { return false }

var (
	_ net.Error = timeoutError{}
	_ net.Error = (*sessionTimeoutError)(nil)
)

// SessionError says why a session ended. It matches ErrSessionShutdown and
// net.ErrClosed with errors.Is, and unwraps to its Cause.
type SessionError struct {
	// Code is the GO_AWAY code sent (Remote false) or received (Remote true).
	Code ErrorCode
	// Remote is true when the peer ended the session (GO_AWAY or closing the
	// connection).
	Remote bool
	// Cause is the underlying reason: nil for a plain local Close, a protocol
	// error, a read or write error, ErrKeepAliveTimeout, ErrRemoteGoAway, ….
	Cause error
}

func (e *SessionError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	if e.Cause == nil {
		return fmt.Sprintf("yamux: session shutdown (%s, %s)", who, e.Code)
	}
	return fmt.Sprintf("yamux: session shutdown (%s, %s): %v", who, e.Code, e.Cause)
}

// Is makes errors.Is(err, ErrSessionShutdown) hold.
func (e *SessionError) Is(target error) bool { return target == ErrSessionShutdown }

// Unwrap exposes net.ErrClosed, so net-style callers recognise a closed
// connection, and the cause.
func (e *SessionError) Unwrap() []error {
	if e.Cause == nil {
		return []error{net.ErrClosed}
	}
	return []error{net.ErrClosed, e.Cause}
}

// Timeout reports whether the session ended because of a timeout
// (keepalive or write), making a SessionError a net.Error.
func (e *SessionError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Cause, &ne) && ne.Timeout()
}

// Temporary is false: a session does not come back.
func (e *SessionError) Temporary() bool { return false }

var _ net.Error = (*SessionError)(nil)

// StreamError reports a reset stream. It matches ErrStreamReset.
type StreamError struct {
	StreamID uint32
	// Code is the libp2p error code carried in the RST's Length (0: none).
	Code uint32
	// Remote is true when the peer sent the RST.
	Remote bool
}

func (e *StreamError) Error() string {
	who := "locally"
	if e.Remote {
		who = "by peer"
	}
	if e.Code != 0 {
		return fmt.Sprintf("yamux: stream %d reset %s (code 0x%x)", e.StreamID, who, e.Code)
	}
	return fmt.Sprintf("yamux: stream %d reset %s", e.StreamID, who)
}

// Is makes errors.Is(err, ErrStreamReset) hold.
func (e *StreamError) Is(target error) bool { return target == ErrStreamReset }

// protocolError wraps a violation so it matches ErrProtocol and keeps its
// specific cause.
func protocolError(cause error) error {
	return &protoErr{cause: cause}
}

type protoErr struct{ cause error }

func (e *protoErr) Error() string   { return "yamux: protocol error: " + e.cause.Error() }
func (e *protoErr) Unwrap() []error { return []error{ErrProtocol, e.cause} }
