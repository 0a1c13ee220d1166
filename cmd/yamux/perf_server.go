package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/perf"
)

// perfServer answers perf exchanges and keeps their counts, for the
// in-process perf run and for serve.
type perfServer struct {
	// verify checks uploads against the pattern: only when every client is
	// known to be ours (in process).
	verify bool
	// keepErrors keeps the failed exchanges' errors for errors(): only for
	// the in-process run, which reports them. serve logs each one and
	// keeps none; any client can make an exchange fail, and a long-running
	// server that kept them grew by one error per failure.
	keepErrors bool
	log        *slog.Logger

	counters perf.Counters
	verified atomic.Uint64

	mu     sync.Mutex
	errs   []error       // guarded by mu; only with keepErrors
	active int           // exchanges in flight; guarded by mu
	idle   chan struct{} // closed when active drops to 0; guarded by mu
}

// handle serves one exchange on st and closes it.
func (s *perfServer) handle(ctx context.Context, st perf.Stream) {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.active--; s.active == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}()
	res, err := perf.Serve(ctx, st, perf.ServeOptions{Verify: s.verify, Counters: &s.counters})
	if c, ok := st.(interface{ Close() error }); ok {
		c.Close()
	}
	s.verified.Add(res.Verified)
	switch {
	case err == nil:
		s.logger().Debug("perf exchange done", "uploaded", res.Uploaded, "downloaded", res.Downloaded)
	case res.Requested == perf.Unbounded && errors.Is(err, yamux.ErrStreamReset):
		// A client downloading for a time resets the stream when the time
		// is up: the normal end of an unbounded request.
		s.logger().Debug("perf exchange ended by the client's reset", "uploaded", res.Uploaded, "downloaded", res.Downloaded)
	case ctx.Err() != nil:
		s.logger().Debug("perf exchange cut by shutdown", "err", err)
	default:
		s.logger().Warn("perf exchange failed", "err", err)
		if s.keepErrors {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}
}

func (s *perfServer) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// wait waits a bounded time for the exchanges in flight to finish.
func (s *perfServer) wait(ctx context.Context) {
	s.mu.Lock()
	if s.active == 0 {
		s.mu.Unlock()
		return
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

// errors returns the server-side failures, prefixed so the user can tell
// which end saw them.
func (s *perfServer) errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]error, len(s.errs))
	for i, err := range s.errs {
		out[i] = &sideError{side: "in-process server", err: err}
	}
	return out
}

// sideError names which end of the transfer failed.
type sideError struct {
	side string
	err  error
}

func (e *sideError) Error() string { return e.side + ": " + e.err.Error() }
func (e *sideError) Unwrap() error { return e.err }
