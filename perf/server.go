package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ServeOptions tunes the server side.
type ServeOptions struct {
	// Verify checks every uploaded byte against the pattern this package's
	// client sends. Leave it off when clients may be other implementations.
	Verify bool
	// Counters, if not nil, is updated as bytes move.
	Counters *Counters
}

// ServeResult is what one server exchange saw.
type ServeResult struct {
	// Requested is the download size the client asked for (Unbounded for a
	// client that will reset the stream when it has had enough).
	Requested uint64
	// Uploaded is what the client sent, Downloaded what was sent back.
	Uploaded, Downloaded uint64
	// Verified is the number of uploaded bytes whose content was checked.
	Verified uint64
}

// Serve answers one client exchange on s, an accepted stream that has
// negotiated ProtocolID: it reads the download size and the upload to its
// end, sends the bytes asked for and closes its write side. Closing s is
// the caller's business. A client that asked for Unbounded bytes ends the
// exchange with a reset, so then a write error is the normal end; the
// caller tells it apart by ServeResult.Requested. When ctx ends, s is
// aborted.
func Serve(ctx context.Context, s Stream, opts ServeOptions) (res ServeResult, err error) {
	stop := context.AfterFunc(ctx, func() { abort(s) })
	defer stop()

	var hdr [8]byte
	if _, err := io.ReadFull(s, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return res, ErrBadRequest
		}
		return res, fmt.Errorf("perf: reading the request: %w", err)
	}
	res.Requested = binary.BigEndian.Uint64(hdr[:])

	buf := make([]byte, BlockSize)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if opts.Verify {
				if ok, at := matchesPattern(buf[:n], res.Uploaded); !ok {
					return res, &CorruptError{Direction: "upload", Offset: at}
				}
				res.Verified += uint64(n)
			}
			res.Uploaded += uint64(n)
			opts.Counters.addUp(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("perf: reading the upload after %d bytes: %w", res.Uploaded, err)
		}
	}

	for res.Downloaded < res.Requested {
		n := int(min(res.Requested-res.Downloaded, BlockSize))
		w, err := s.Write(patternAt(res.Downloaded, n))
		res.Downloaded += uint64(w)
		opts.Counters.addDown(w)
		if err != nil {
			return res, fmt.Errorf("perf: sending after %d bytes: %w", res.Downloaded, err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		return res, fmt.Errorf("perf: closing the download: %w", err)
	}
	return res, nil
}
