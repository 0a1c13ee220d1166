package yamux

import "bufio"

// Internal constants the black-box tests (package yamux_test) check
// against, so that they are not copied there. Keep this list short: a
// constant here is one the core may rename or remove.
const (
	// InitialWindow is the initial stream window (spec.md §4.1).
	InitialWindow = initialWindow
	// MaxAckBacklog is how many of our streams may await their ACK (§3.1).
	MaxAckBacklog = maxAckBacklog
	// MaxPendingPongs and MaxPendingResets bound the replies the receive
	// loop queues (spec.md §5.1).
	MaxPendingPongs  = maxPendingPongs
	MaxPendingResets = maxPendingResets
	// MaxUselessFrames is the run of frames that change nothing after which
	// the peer is in protocol error.
	MaxUselessFrames = maxUselessFrames
	// RingSize is the size of a session's send ring.
	RingSize = ringSize
)

// IdleGrace is how long the read role may stay idle (recvrole.go).
const IdleGrace = idleGrace

// EndIdleGrace gives an idle read role back to s's receive loop, as
// idleGrace passing does, without moving the clock: a test that lets
// its bubble settle (synctest.Wait) and expects every frame in flight to
// be read calls it for each session, then waits again.
func EndIdleGrace(s *Session) {
	s.rd.mu.Lock()
	if s.rd.kind() == holderIdle {
		s.rd.toLoopLocked()
	}
	s.rd.mu.Unlock()
}

// ReadRoleHolder says who holds s's read role: "loop", "idle", or
// "stream" with the id of the stream whose Read holds it.
func ReadRoleHolder(s *Session) (string, uint32) {
	s.rd.mu.Lock()
	defer s.rd.mu.Unlock()
	switch s.rd.kind() {
	case holderIdle:
		return "idle", 0
	case holderStream:
		return "stream", s.rd.st.id
	}
	return "loop", 0
}

// RecvWindowSize is the size of st's receive window (auto-tuned).
func RecvWindowSize(st *Stream) uint32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.recv.size
}

// BusyStreams is how many of s's streams count as moving data for the
// fair share of window growth.
func BusyStreams(s *Session) int32 { return s.busy.Load() }

// ReadWaiters is how many goroutines wait for what s's conn brings, or
// hold its read role.
func ReadWaiters(s *Session) int {
	n := int(s.rd.waiting.Load())
	if s.rd.kind() == holderStream {
		n++
	}
	return n
}

// HolderReading reports whether s's read role is held by a Read that is
// reading the conn (or about to), and so may be parked in the network
// poller.
func HolderReading(s *Session) bool {
	s.rd.mu.Lock()
	defer s.rd.mu.Unlock()
	return s.rd.kind() == holderStream && s.rd.reader == readerReading
}

// WakeParkedReader is what a turn's end does before it yields
// (turns.go); it reports whether it interrupted a Read.
func WakeParkedReader(s *Session) bool { return s.wakeParkedReader() }

// KickReading interrupts the Read holding s's read role if it is reading
// the conn, as WakeParkedReader does when the conn has bytes, and reports
// whether it did.
func KickReading(s *Session) bool { return s.rd.kickReading() }

// ConnPending reports whether s's conn has unread bytes, as
// WakeParkedReader sees it; false where it cannot tell.
func ConnPending(s *Session) bool { return s.inq != nil && s.inq.pending() }

// LargeReadBuffer reports whether s reads through its large read buffer
// (readbuf.go). The role holder sets it: call it only after something
// that holder did since has been seen (a pong, data read).
func LargeReadBuffer(s *Session) bool { return s.br != nil && s.br != s.brSmall }

// Read buffer sizes (readbuf.go).
const (
	ReadBufferSize    = readBufferSize
	BigReadBufferSize = bigReadBufferSize
)

// SpareBytes is what the process-wide spare lists hold now: send rings,
// the largest receive chunks and large read buffers that no session holds
// (sparelist.go).
func SpareBytes() int64 {
	return spareSize(&spareRings, func(r []byte) int { return cap(r) }) +
		spareSize(&bigChunks, func(c *chunk) int { return cap(c.buf) }) +
		spareSize(&bigReadBuffers, func(b *bufio.Reader) int { return b.Size() })
}

// spareSize is how many bytes the spares in l hold, size telling each
// one's.
func spareSize[T any](l *spareList[T], size func(T) int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, v := range l.free[:l.n] {
		n += int64(size(v))
	}
	return n
}
