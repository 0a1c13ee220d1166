package multistream

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrTooLarge: a message (or a protocol to send) longer than
	// MaxMessageSize, or a length prefix announcing one.
	ErrTooLarge = errors.New("multistream: message too large")
	// ErrMalformed: a message without its trailing newline, an empty one,
	// a protocol name containing a newline, or an unreadable length.
	ErrMalformed = errors.New("multistream: malformed message")
	// ErrIncorrectVersion: the peer's first message was not the
	// multistream-select 1.0 header (for example a peer speaking another
	// protocol, or garbage).
	ErrIncorrectVersion = errors.New("multistream: incorrect version")
	// ErrNotSupported is matched by every *NotSupportedError: the peer
	// refused every protocol we proposed.
	ErrNotSupported = errors.New("multistream: protocol not supported")
	// ErrUnexpectedReply: the listener answered a proposal with something
	// that is neither the proposal's echo nor "na".
	ErrUnexpectedReply = errors.New("multistream: unexpected reply")
	// ErrNoProtocols: SelectOneOf was given no protocol to propose.
	ErrNoProtocols = errors.New("multistream: no protocols to select")
	// ErrTooManyProposals: a dialer proposed more than MaxProposals
	// protocols on one negotiation without an accepted one.
	ErrTooManyProposals = errors.New("multistream: too many proposals")
)

// NotSupportedError reports that the peer answered "na" to every protocol
// in Protocols, in the order they were proposed.
type NotSupportedError struct {
	Protocols []string
}

func (e *NotSupportedError) Error() string {
	return fmt.Sprintf("multistream: protocol not supported by the peer (tried %s)", strings.Join(e.Protocols, ", "))
}

// Is makes errors.Is(err, ErrNotSupported) true.
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }
