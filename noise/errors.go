package noise

import (
	"errors"
	"fmt"

	"github.com/yamuxgo/yamux/peer"
)

// Sentinel errors. Errors are wrapped with context; test with errors.Is.
//
// Handshake failures all match ErrHandshake, and also the specific cause
// (ErrPeerIDMismatch, ErrInvalidPayload, ErrInvalidSignature,
// ErrMessageTooLarge, a peer.Err… for a bad key, os.ErrDeadlineExceeded or a
// context error for a timeout, the conn's error).
//
// Transport failures (ErrDecrypt, ErrTruncated, ErrShortMessage,
// ErrNonceExhausted) poison their direction of the Conn: no plaintext is
// delivered after them and every later Read (or Write) returns the same
// error.
var (
	// ErrHandshake: the Noise handshake failed; the conn has been closed.
	ErrHandshake = errors.New("noise: handshake failed")
	// ErrPeerIDMismatch: the responder is not the peer the dialer meant to
	// reach. The error is a *PeerIDMismatchError.
	ErrPeerIDMismatch = errors.New("noise: remote peer ID mismatch")
	// ErrInvalidPayload: the NoiseHandshakePayload is malformed or lacks the
	// identity key or signature.
	ErrInvalidPayload = errors.New("noise: invalid handshake payload")
	// ErrInvalidSignature: identity_sig does not sign the remote static
	// Noise key with the identity key. It also matches peer.ErrInvalidSignature.
	ErrInvalidSignature = fmt.Errorf("noise: invalid identity signature: %w", peer.ErrInvalidSignature)
	// ErrMessageTooLarge: a handshake message is longer than
	// MaxHandshakeMessageSize.
	ErrMessageTooLarge = errors.New("noise: message too large")
	// ErrDecrypt: a transport message failed authentication.
	ErrDecrypt = errors.New("noise: decryption failed")
	// ErrTruncated: the stream ended inside a message. It also matches
	// io.ErrUnexpectedEOF.
	ErrTruncated = errors.New("noise: truncated message")
	// ErrShortMessage: a transport message's length prefix is too short to
	// hold the 16-byte authentication tag (zero included).
	ErrShortMessage = errors.New("noise: message shorter than its tag")
	// ErrNonceExhausted: 2^64-1 messages went one way; libp2p Noise has no
	// rekeying, so the connection must end (Noise spec §5.1).
	ErrNonceExhausted = errors.New("noise: nonce space exhausted")
)

// PeerIDMismatchError reports that the responder proved an identity other
// than the expected one. It matches ErrPeerIDMismatch and ErrHandshake.
type PeerIDMismatchError struct {
	Expected, Actual peer.ID
}

// Error implements error.
func (e *PeerIDMismatchError) Error() string {
	return fmt.Sprintf("noise: handshake failed: remote peer ID mismatch: expected %s, got %s", e.Expected, e.Actual)
}

// Is reports whether target is ErrPeerIDMismatch or ErrHandshake.
func (e *PeerIDMismatchError) Is(target error) bool {
	return target == ErrPeerIDMismatch || target == ErrHandshake
}
