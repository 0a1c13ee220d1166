package yamux

import (
	"runtime"
	"sync/atomic"
)

// Turns: why a busy session's goroutines give their P up now and then.
//
// A multiplexer with large windows takes the blocking out of bulk
// transfers: a Write copies into the send ring and returns, a Read finds
// megabytes buffered, and the receive loop finds the socket never empty.
// Goroutines that never block are a problem for the Go scheduler. A
// goroutine made runnable by a channel hand-off goes to its P's runnext
// slot and inherits the running goroutine's time slice, so two writers
// that hand the writer role back and forth (or a writer and the send
// loop) keep one P to themselves, and everything queued behind them on
// that P (a small stream's Read, the goroutine answering a ping) waits
// until the runtime preempts them: 10 ms, or 20 with sysmon's sleep.
// Traces of the fairness scenario (BENCHMARKS.md) showed exactly that:
// one ping stream next to 16 bulk streams waited up to 15 ms to run while
// two bulk writers took turns on its P.
//
// So the goroutines that move a session's bulk data, a stream's Write and
// Read and the receive loop, each count the bytes they move, and after
// every turnBytes they yield (runtime.Gosched) if the session's traffic
// in that direction is shared between streams, so that whatever waits
// behind them runs within a turn. With one busy stream nothing is owed to
// anyone, and yielding only shuffles the pipeline between Ps (bulk TCP
// lost 18 % when every turn yielded), so they don't.
//
// turnBytes is 256 KiB: about 40-60 µs of copying, so a stream queued
// behind 16 busy ones waits about a millisecond, for a yield that costs
// well under a microsecond.
const turnBytes = 256 << 10

// turnMeter watches one direction of a session's DATA, frame by frame, to
// say whether it is shared: whether more than one stream's frames went by
// in the last turnBytes. Updated by one goroutine at a time (under the
// send queue's mu, or by the read role's holder); shared is read by any.
type turnMeter struct {
	bytes  int
	last   uint32 // the stream of the last frame
	mixed  bool   // another stream's frame went by in this turn
	shared atomic.Bool
}

// frame records a DATA frame of n bytes for stream id (never 0).
func (m *turnMeter) frame(id uint32, n int) {
	if id != m.last {
		m.mixed = m.mixed || m.last != 0 // the first frame of all is no switch
		m.last = id
	}
	m.bytes += n
	if m.bytes >= turnBytes {
		m.bytes = 0
		if m.shared.Load() != m.mixed {
			m.shared.Store(m.mixed)
		}
		m.mixed = false
	}
}

// turnDone adds n bytes to a goroutine's run (*run) and reports whether
// it has moved a turn's worth and is to yield: only while m says the
// direction is shared. The run restarts either way.
func turnDone(run *uint32, n int, m *turnMeter) bool {
	*run += uint32(min(n, turnBytes)) // a turn at most: no wrap-around
	if *run < turnBytes {
		return false
	}
	*run = 0
	return m.shared.Load()
}

// yieldTurn lets the goroutines waiting for this P run before the caller
// goes on; called holding no lock (a Write's writeMu aside: only the
// stream's own later Writes wait on it).
func (s *Session) yieldTurn() {
	s.stats.turnsYielded.Add(1)
	s.wakeParkedReader()
	runtime.Gosched()
}

// wakeParkedReader interrupts a Read that holds the read role and waits
// in the runtime's network poller while the conn has bytes for it. The
// runtime polls the network when a P runs out of work, and otherwise only
// every 10 ms from its monitor thread; while the session's goroutines keep
// every P busy (the reason for the turn), a frame that has arrived can wait
// that long. Traces of the fairness scenario put the ping's tail there:
// the pong sat on the client's socket for up to 3.7 ms, its Read parked
// above it. Interrupted as a kick does (readRole.kick), the Read becomes
// runnable on this P, next in line, and reads the frame at once; the
// turn's yield then lets it run. It reports whether it interrupted one.
func (s *Session) wakeParkedReader() bool {
	if s.inq == nil || !s.rd.streamHolds() || !s.inq.pending() {
		return false
	}
	return s.rd.kickReading()
}
