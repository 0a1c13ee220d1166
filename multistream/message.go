package multistream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// ProtocolID is the multistream-select header both sides send first.
	ProtocolID = "/multistream/1.0.0"
	// MaxMessageSize bounds one message, its trailing newline included
	// (go-multistream's limit): longer ones are refused before any of their
	// bytes are buffered.
	MaxMessageSize = 1024
	// NA is the listener's answer to a protocol it does not speak.
	NA = "na"
	// MaxProposals bounds how many protocols one dialer may propose to
	// Negotiate before the negotiation fails (docs/libp2p-decisions.md).
	MaxProposals = 64
)

// AppendMessage appends msg framed as one multistream-select message. It
// returns ErrTooLarge or ErrMalformed for a message that cannot be sent.
func AppendMessage(b []byte, msg string) ([]byte, error) {
	if err := checkMessage(msg); err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(msg)+1))
	b = append(b, msg...)
	return append(b, '\n'), nil
}

func checkMessage(msg string) error {
	switch {
	case len(msg)+1 > MaxMessageSize:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(msg)+1, MaxMessageSize)
	case msg == "":
		return fmt.Errorf("%w: empty protocol name", ErrMalformed)
	case strings.IndexByte(msg, '\n') >= 0:
		return fmt.Errorf("%w: newline in %q", ErrMalformed, msg)
	}
	return nil
}

// WriteMessage writes msg as one message in one Write call.
func WriteMessage(w io.Writer, msg string) error {
	b, err := AppendMessage(nil, msg)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadMessage reads exactly one message from r and returns it without its
// newline. It never reads past the message, so application bytes that
// follow it stay in r. A length over MaxMessageSize is ErrTooLarge; a
// message not ending in '\n' is ErrMalformed. An EOF before the first byte
// is io.EOF, an EOF inside a message io.ErrUnexpectedEOF.
func ReadMessage(r io.Reader) (string, error) {
	var one [1]byte
	var length uint64
	// A length up to MaxMessageSize needs two varint bytes; a third byte
	// (or a non-minimal encoding) can only announce more.
	for i := 0; ; i++ {
		if _, err := io.ReadFull(r, one[:]); err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		length |= uint64(one[0]&0x7f) << (7 * i)
		if one[0] < 0x80 {
			if i > 0 && one[0] == 0 {
				return "", fmt.Errorf("%w: non-minimal length prefix", ErrMalformed)
			}
			break
		}
		if i == 1 {
			return "", fmt.Errorf("%w: length prefix over %d", ErrTooLarge, MaxMessageSize)
		}
	}
	if length > MaxMessageSize {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, length, MaxMessageSize)
	}
	if length == 0 {
		return "", fmt.Errorf("%w: zero-length message", ErrMalformed)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if buf[length-1] != '\n' {
		return "", fmt.Errorf("%w: no trailing newline", ErrMalformed)
	}
	return string(buf[:length-1]), nil
}

// readHeader reads the peer's header.
func readHeader(r io.Reader) error {
	msg, err := ReadMessage(r)
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) {
		// Whatever the peer speaks, it is not multistream-select 1.0.
		return fmt.Errorf("%w: reading the peer's header: %w", ErrIncorrectVersion, err)
	}
	if err != nil {
		return fmt.Errorf("multistream: reading the peer's header: %w", err)
	}
	if msg != ProtocolID {
		return fmt.Errorf("%w: the peer sent %q instead of %q", ErrIncorrectVersion, truncate(msg), ProtocolID)
	}
	return nil
}

// truncate keeps error messages short whatever the peer sent.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
