package perf

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrBadRequest: the stream ended before the 8-byte download size.
	ErrBadRequest = errors.New("perf: request shorter than its 8-byte size header")
	// ErrShortDownload: the server closed its side before sending all the
	// bytes asked for.
	ErrShortDownload = errors.New("perf: server sent fewer bytes than requested")
	// ErrLongDownload: the server sent more bytes than asked for.
	ErrLongDownload = errors.New("perf: server sent more bytes than requested")
	// ErrCorrupt: a byte differs from the pattern this package sends.
	ErrCorrupt = errors.New("perf: data differs from the expected pattern")
)

// CorruptError says where verified data first differed from the pattern. It
// matches ErrCorrupt.
type CorruptError struct {
	// Direction is "upload" (seen by the server) or "download" (seen by the
	// client).
	Direction string
	// Offset is the position of the first wrong byte in that direction's data.
	Offset uint64
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("perf: %s data differs from the expected pattern at byte %d", e.Direction, e.Offset)
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
