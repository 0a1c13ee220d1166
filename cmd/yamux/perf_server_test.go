package main

import (
	"context"
	"errors"
	"testing"
)

// brokenStream fails every Read and Write: a client that connects and
// goes away, or sends garbage.
type brokenStream struct{}

var errBroken = errors.New("broken stream")

func (brokenStream) Read([]byte) (int, error)  { return 0, errBroken }
func (brokenStream) Write([]byte) (int, error) { return 0, errBroken }
func (brokenStream) CloseWrite() error         { return nil }

// TestPerfServerKeepsErrorsOnlyInProcess: serve runs for as long as the
// operator wants and any client can make an exchange fail; it must not
// keep one error per failure (only the in-process run, which reports
// them, does).
func TestPerfServerKeepsErrorsOnlyInProcess(t *testing.T) {
	const failures = 100
	for _, keep := range []bool{false, true} {
		s := &perfServer{keepErrors: keep}
		for range failures {
			s.handle(context.Background(), brokenStream{})
		}
		want := 0
		if keep {
			want = failures
		}
		errs := s.errors()
		if len(errs) != want {
			t.Errorf("keepErrors %v: %d errors kept after %d failed exchanges, want %d", keep, len(errs), failures, want)
		}
		if keep && !errors.Is(errs[0], errBroken) {
			t.Errorf("kept error = %v, want one wrapping the stream's", errs[0])
		}
	}
}
