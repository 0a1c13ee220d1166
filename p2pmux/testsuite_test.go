package p2pmux

import (
	"testing"

	muxtest "github.com/libp2p/go-libp2p/p2p/muxer/testsuite"
)

// TestConformance runs go-libp2p's own muxer conformance suite against
// DefaultTransport: simple write, write after close, the six stress shapes
// (up to one connection with 1000 concurrent streams), 50,000 opened and
// closed streams, stream reset, and streams left open at Close.
func TestConformance(t *testing.T) {
	muxtest.SubtestAll(t, DefaultTransport)
}
