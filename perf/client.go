package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Request describes one client exchange. Each direction is bounded either
// by a byte count or by a time.
type Request struct {
	// Upload is the number of bytes to send. Ignored when UploadFor > 0.
	Upload uint64
	// UploadFor, if positive, uploads for this long instead of Upload bytes.
	UploadFor time.Duration
	// Download is the number of bytes to ask for. Ignored when
	// DownloadFor > 0.
	Download uint64
	// DownloadFor, if positive, asks for Unbounded bytes, downloads for this
	// long from the server's first byte on, then resets the stream.
	DownloadFor time.Duration
	// Verify checks every downloaded byte against the pattern this
	// package's server sends. Leave it off against other implementations.
	Verify bool
	// Counters, if not nil, is updated as bytes move.
	Counters *Counters
}

// Result is what one client exchange measured.
type Result struct {
	// Uploaded and Downloaded are the bytes sent and received.
	Uploaded, Downloaded uint64
	// Verified is the number of downloaded bytes whose content was checked.
	Verified uint64
	// Start is when the request was written, Responded when the server's
	// first byte (or its EOF, for an empty download) arrived, which it only
	// sends once it has read the whole upload, and End when the download
	// ended.
	Start, Responded, End time.Time
	// Cut reports that the download was ended by DownloadFor's reset.
	Cut bool
}

// UploadTime is how long the upload took, up to the server's reply: the
// server answers only after reading the upload to its end.
func (r Result) UploadTime() time.Duration { return r.Responded.Sub(r.Start) }

// DownloadTime is how long the download took after the server's first byte.
func (r Result) DownloadTime() time.Duration { return r.End.Sub(r.Responded) }

// Run performs one client exchange on s, a freshly opened stream that has
// negotiated ProtocolID. It leaves s half-closed on return (both sides have
// sent EOF, or s was reset); closing it is the caller's business. When ctx
// ends, s is aborted and Run returns ctx's error.
func Run(ctx context.Context, s Stream, req Request) (res Result, err error) {
	stop := context.AfterFunc(ctx, func() { abort(s) })
	defer stop()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("perf: %w (after %d bytes up, %d down)", ctx.Err(), res.Uploaded, res.Downloaded)
		}
	}()

	want := req.Download
	if req.DownloadFor > 0 {
		want = Unbounded
	}
	res.Start = time.Now()
	if _, err := s.Write(binary.BigEndian.AppendUint64(nil, want)); err != nil {
		return res, fmt.Errorf("perf: writing the request: %w", err)
	}
	if err := upload(s, req, &res); err != nil {
		return res, err
	}
	if err := s.CloseWrite(); err != nil {
		return res, fmt.Errorf("perf: closing the upload: %w", err)
	}
	return res, download(s, req, want, &res)
}

func upload(s Stream, req Request, res *Result) error {
	deadline := res.Start.Add(req.UploadFor)
	for {
		n := BlockSize
		if req.UploadFor > 0 {
			if !time.Now().Before(deadline) {
				return nil
			}
		} else {
			left := req.Upload - res.Uploaded
			if left == 0 {
				return nil
			}
			n = int(min(left, BlockSize))
		}
		w, err := s.Write(patternAt(res.Uploaded, n))
		res.Uploaded += uint64(w)
		req.Counters.addUp(w)
		if err != nil {
			return fmt.Errorf("perf: upload after %d bytes: %w", res.Uploaded, err)
		}
	}
}

func download(s Stream, req Request, want uint64, res *Result) error {
	buf := make([]byte, BlockSize)
	var cut atomic.Bool
	for {
		n, err := s.Read(buf)
		if res.Responded.IsZero() && (n > 0 || err != nil) {
			res.Responded = time.Now()
			if req.DownloadFor > 0 {
				t := time.AfterFunc(req.DownloadFor, func() {
					cut.Store(true)
					abort(s)
				})
				defer t.Stop()
			}
		}
		if n > 0 {
			if uint64(n) > want-res.Downloaded {
				res.End = time.Now()
				return fmt.Errorf("%w: asked for %d", ErrLongDownload, want)
			}
			if req.Verify {
				if ok, at := matchesPattern(buf[:n], res.Downloaded); !ok {
					res.End = time.Now()
					return &CorruptError{Direction: "download", Offset: at}
				}
				res.Verified += uint64(n)
			}
			res.Downloaded += uint64(n)
			req.Counters.addDown(n)
		}
		if err == nil {
			continue
		}
		res.End = time.Now()
		switch {
		case cut.Load():
			res.Cut = true
			return nil
		case errors.Is(err, io.EOF) && res.Downloaded == want:
			return nil
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: got %d of %d", ErrShortDownload, res.Downloaded, want)
		default:
			return fmt.Errorf("perf: download after %d bytes: %w", res.Downloaded, err)
		}
	}
}
