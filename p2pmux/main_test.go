package p2pmux

import (
	"testing"

	"go.uber.org/goleak"
)

// goleakOptions lists the only goroutines allowed to outlive the tests,
// all go-libp2p's own:
//
//   - testsuite.GoServe.func1: the conformance suite's accept loop. The
//     suite's "done" function only signals a channel and never closes the
//     listener, so the loop stays blocked in Accept for the rest of the
//     process (one per GoServe call, 16 in SubtestAll). It holds no session
//     of ours: every connection it accepted has been closed by then.
var goleakOptions = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/muxer/testsuite.GoServe.func1"),
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleakOptions...)
}
