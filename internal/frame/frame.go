// Package frame is the Yamux wire codec: the 12-byte header (spec.md §2), its
// types and flags, and a reader that validates a header before anything
// touches its payload. It knows nothing of sessions or streams and starts no
// goroutines, so it can be tested and fuzzed on its own.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// HeaderSize is the size of every Yamux frame header in bytes.
const HeaderSize = 12

// Version is the only protocol version defined by the spec.
const Version = 0

// Type is the frame type (spec.md §2).
type Type uint8

// The four frame types.
const (
	TypeData         Type = 0
	TypeWindowUpdate Type = 1
	TypePing         Type = 2
	TypeGoAway       Type = 3
)

var typeNames = [...]string{"DATA", "WINDOW_UPDATE", "PING", "GO_AWAY"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("TYPE(%d)", uint8(t))
}

// Flags is the flag bit field (spec.md §2). Unknown bits are carried but
// never interpreted.
type Flags uint16

// The defined flag bits.
const (
	FlagSYN Flags = 1 << 0
	FlagACK Flags = 1 << 1
	FlagFIN Flags = 1 << 2
	FlagRST Flags = 1 << 3
)

// Has reports whether every bit of f2 is set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range []struct {
		f    Flags
		name string
	}{{FlagSYN, "SYN"}, {FlagACK, "ACK"}, {FlagFIN, "FIN"}, {FlagRST, "RST"}} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint16(f)))
	}
	return strings.Join(parts, "|")
}

// ErrInvalidHeader is matched (errors.Is) by every error the codec returns
// for a header that violates the wire format, so a caller can tell "the
// peer broke the protocol" from a failing reader without enumerating the
// cases. Each such error is a protocol error for the session.
var ErrInvalidHeader = errors.New("yamux: invalid frame header")

// The specific header violations; each matches ErrInvalidHeader.
var (
	ErrInvalidVersion error = &headerError{"yamux: invalid protocol version"}
	ErrInvalidType    error = &headerError{"yamux: invalid message type"}
	ErrFrameTooLarge  error = &headerError{"yamux: frame length exceeds limit"}
)

// headerError is a specific header violation that matches ErrInvalidHeader.
type headerError struct{ msg string }

func (e *headerError) Error() string { return e.msg }
func (e *headerError) Unwrap() error { return ErrInvalidHeader }

// Header is one encoded frame header. It is a value type: copying it copies
// the bytes, so queues of headers need no allocation.
type Header [HeaderSize]byte

// New encodes a header.
func New(t Type, f Flags, streamID, length uint32) Header {
	var h Header
	h[0] = Version
	h[1] = byte(t)
	binary.BigEndian.PutUint16(h[2:4], uint16(f))
	binary.BigEndian.PutUint32(h[4:8], streamID)
	binary.BigEndian.PutUint32(h[8:12], length)
	return h
}

// Version returns the version byte.
func (h Header) Version() uint8 { return h[0] }

// Type returns the frame type.
func (h Header) Type() Type { return Type(h[1]) }

// Flags returns the flag bits.
func (h Header) Flags() Flags { return Flags(binary.BigEndian.Uint16(h[2:4])) }

// StreamID returns the stream the frame belongs to (0 for the session).
func (h Header) StreamID() uint32 { return binary.BigEndian.Uint32(h[4:8]) }

// Length returns the length field: payload size for DATA, window delta for
// WINDOW_UPDATE, opaque value for PING, error code for GO_AWAY.
func (h Header) Length() uint32 { return binary.BigEndian.Uint32(h[8:12]) }

func (h Header) String() string {
	return fmt.Sprintf("%s[%s] stream=%d len=%d", h.Type(), h.Flags(), h.StreamID(), h.Length())
}

// Validate checks the version and type. It does not judge flags or stream
// ids: those depend on session state.
func (h Header) Validate() error {
	if h.Version() != Version {
		return fmt.Errorf("%w %d", ErrInvalidVersion, h.Version())
	}
	if h.Type() > TypeGoAway {
		return fmt.Errorf("%w %d", ErrInvalidType, uint8(h.Type()))
	}
	return nil
}

// Parse decodes and validates a header from the first HeaderSize bytes of b.
func Parse(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, io.ErrUnexpectedEOF
	}
	copy(h[:], b)
	return h, h.Validate()
}

// Reader reads validated headers from a byte stream. The caller reads each
// DATA payload itself from Payload, so the reader never allocates a body
// buffer sized by a peer-controlled length.
type Reader struct {
	r          io.Reader
	maxPayload uint32
	hdr        Header
}

// NewReader returns a Reader over r that rejects DATA frames announcing more
// than maxPayload bytes, from the header alone (spec.md §7).
func NewReader(r io.Reader, maxPayload uint32) *Reader {
	return &Reader{r: r, maxPayload: maxPayload}
}

// ReadHeader reads and validates the next header. An io.EOF before the
// first byte is returned as is; a header cut short is io.ErrUnexpectedEOF.
func (fr *Reader) ReadHeader() (Header, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return Header{}, err
	}
	return Decode(fr.hdr[:], fr.maxPayload)
}

// Decode decodes and validates the header in the first HeaderSize bytes of
// b, rejecting DATA frames that announce more than maxPayload bytes from
// the header alone (spec.md §7).
func Decode(b []byte, maxPayload uint32) (Header, error) {
	h, err := Parse(b)
	if err != nil {
		return h, err
	}
	if h.Type() == TypeData && h.Length() > maxPayload {
		return h, fmt.Errorf("%w: DATA length %d > %d", ErrFrameTooLarge, h.Length(), maxPayload)
	}
	return h, nil
}
