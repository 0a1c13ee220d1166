package identify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Write sends r as one varint-length-delimited message in one write.
func Write(w io.Writer, r *Record) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	out := binary.AppendUvarint(make([]byte, 0, len(b)+3), uint64(len(b)))
	if _, err := w.Write(append(out, b...)); err != nil {
		return fmt.Errorf("identify: writing our record: %w", err)
	}
	return nil
}

// Read reads the peer's record: delimited messages until EOF, at most
// MaxMessages of them, merged into one Record. An EOF before any message
// is io.ErrUnexpectedEOF.
func Read(rd io.Reader) (*Record, error) {
	r := new(Record)
	br := &byteReader{r: rd}
	for i := 0; ; i++ {
		size, err := binary.ReadUvarint(br)
		if errors.Is(err, io.EOF) && br.n == 0 {
			if i == 0 {
				return nil, fmt.Errorf("identify: reading the record: %w", io.ErrUnexpectedEOF)
			}
			return r, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("identify: reading a length prefix: %w", err)
		}
		if i == MaxMessages {
			return nil, fmt.Errorf("%w: more than %d messages", ErrTooLarge, MaxMessages)
		}
		if size > MaxMessageSize {
			return nil, fmt.Errorf("%w: %d bytes announced, at most %d", ErrTooLarge, size, MaxMessageSize)
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(rd, msg); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("identify: reading a message: %w", err)
		}
		if err := r.merge(msg); err != nil {
			return nil, err
		}
		br.n = 0
	}
}

// byteReader reads one byte at a time, so that nothing past the length
// prefix is consumed, and counts the bytes of the current prefix.
type byteReader struct {
	r   io.Reader
	n   int
	one [1]byte
}

func (b *byteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(b.r, b.one[:]); err != nil {
		return 0, err
	}
	b.n++
	return b.one[0], nil
}
