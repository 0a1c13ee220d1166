package yamux

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Stream is one bidirectional byte stream of a session. It implements
// net.Conn, with half-close (CloseWrite, CloseRead) and Reset on top.
// Read and Write may be called concurrently with each other and with every
// other method; concurrent Writes are serialised and never interleave.
type Stream struct {
	// Immutable.
	id      uint32
	session *Session
	inbound bool

	// writeMu serialises Write calls, so one Write's frames stay together.
	writeMu sync.Mutex
	// writeRun counts what Writes sent since their last turn ended
	// (turns.go); guarded by writeMu.
	writeRun uint32
	// req is the stream's DATA frame written from the caller's slice
	// (guarded by the send queue; one per stream, since Writes are
	// serialised).
	req sendReq

	// Guarded by mu.
	mu         sync.Mutex
	state      StreamState
	hs         handshake
	termErr    error // why the stream is in Reset: a *StreamError or the session's error
	cause      resetCause
	finRecv    bool // the peer's FIN has arrived: its data is complete
	readClosed bool // CloseRead: data is discarded and Read fails
	// inbound streams hold one of MaxIncomingStreams from SYN until they
	// end and, if the peer reset them, until the application has seen it
	// (a Read or Write error, Close or Reset): so the handlers an
	// application runs stay bounded by the limit even under rapid reset.
	incomingSlot bool
	observed     bool // the application has seen the stream's end
	ackHeld      bool // holds a slot of the session's ACK backlog
	credited     bool // has sent a window update: counted in the session's busy streams
	// unreadHeld: the stream ended with data still buffered that the
	// application may read; until it is read or dropped the stream keeps
	// its MaxIncomingStreams slot and its window memory (growth, or its
	// MemoryManager reservation), so that the bounds of spec.md §4.4 count
	// it (settleUnread).
	unreadHeld bool
	sendWindow uint32
	grown      uint32 // window growth reserved from the session budget
	recv       recvWindow
	mem        *streamMemory // Config.MemoryManager's accounting; nil without one (set before the stream is shared)
	buf        recvBuffer
	openTimer  *time.Timer
	closeTimer *time.Timer
	// appending: a Write is handing a frame to the send queue without mu
	// (so a 64 KiB copy never holds up the receive loop's delivery to this
	// stream); a FIN asked for meanwhile waits in finPending/finFlags.
	appending  bool
	finPending bool
	finFlags   frame.Flags

	// rw is what waiting Reads leave with the stream (readWait), made on
	// the first wait: an idle stream holds none of it.
	rw *readWait
	// 1-buffered wake-ups, both made on the first wait, under mu, and read
	// under mu by whoever notifies them (nil: nobody has waited yet, and
	// notifying does nothing). recvNotify wakes the Read holding the read
	// turn (readWait); sendNotify a blocked Write (sendNotifyLocked).
	recvNotify chan struct{}
	sendNotify chan struct{}

	readDeadline, writeDeadline deadline
}

var _ net.Conn = (*Stream)(nil)

// readWait: the first Read to wait with the buffer empty takes the read
// turn and parks its slice, into which the receive loop copies DATA
// (deliver), len(parked) being the bytes delivered; what does not fit goes
// to the buffer. Only touched under the stream's mu, so a slice is never
// written after its Read has taken it back. Further concurrent Reads wait
// on queue (made when first needed), which the turn's holder wakes
// whenever it gives the turn up.
type readWait struct {
	parked []byte
	turn   bool
	// counted: the turn's holder is waiting, counted among the read
	// role's waiters (readRole.waitFor), until it wakes or the receive
	// loop hands it data (deliver), whichever comes first.
	counted bool
	queue   chan struct{}
	// run counts what Reads returned since their last turn ended
	// (turns.go).
	run uint32
}

func newStream(s *Session, id uint32, hs handshake) *Stream {
	st := &Stream{
		id:         id,
		session:    s,
		inbound:    hs == hsAckPending,
		hs:         hs,
		sendWindow: initialWindow,
		recv:       newRecvWindow(s.config.InitialStreamWindowSize),
	}
	if hs == hsSynSent {
		// Our SYN announces the larger window, if configured.
		st.recv.granted += st.initialDelta()
	}
	st.incomingSlot = st.inbound
	return st
}

// settleSlot releases the stream's MaxIncomingStreams slot once it is no
// longer needed (see incomingSlot).
func (st *Stream) settleSlot() {
	st.mu.Lock()
	if !st.incomingSlot || !st.state.terminal() {
		st.mu.Unlock()
		return
	}
	if st.cause == causeRemoteReset && !st.observed || st.unreadHeld {
		st.mu.Unlock()
		return
	}
	st.incomingSlot = false
	st.mu.Unlock()
	st.session.releaseIncoming()
}

// observe records that the application has seen the stream end.
func (st *Stream) observe() {
	st.mu.Lock()
	st.observed = true
	st.mu.Unlock()
	st.settleUnread(false)
	st.settleSlot()
}

// settleUnread gives back what a stream that ended with unread data kept
// for it (unreadHeld), once the data has been read or dropped, or when the
// session ends (atSessionEnd): no data can come any more, the data stays
// readable, and nothing would release the memory later.
func (st *Stream) settleUnread(atSessionEnd bool) {
	st.mu.Lock()
	if !st.unreadHeld || !atSessionEnd && st.buf.Len() > 0 && !st.readClosed {
		st.mu.Unlock()
		return
	}
	st.unreadHeld = false
	st.session.forgetUnread(st)
	grown := st.grown
	st.grown = 0
	st.mu.Unlock()
	st.releaseMemory(grown)
	st.settleSlot()
}

// initialDelta is the window delta our SYN or ACK carries: what the
// configured initial window adds to the spec's 256 KiB (spec.md §4.1).
func (st *Stream) initialDelta() uint32 {
	return st.session.config.InitialStreamWindowSize - initialWindow
}

// StreamID returns the stream's id.
func (st *Stream) StreamID() uint32 { return st.id }

// State returns the stream's current state.
func (st *Stream) State() StreamState {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state
}

// Session returns the session the stream belongs to.
func (st *Stream) Session() *Session { return st.session }

// LocalAddr returns the session's local address.
func (st *Stream) LocalAddr() net.Addr { return st.session.LocalAddr() }

// RemoteAddr returns the session's remote address.
func (st *Stream) RemoteAddr() net.Addr { return st.session.RemoteAddr() }

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Read reads data the peer sent. After the peer's FIN it returns io.EOF
// once the buffer is drained, even if the session has ended since; after a
// reset it returns a *StreamError; after the session ended it returns what
// is still buffered, then the session's error.
func (st *Stream) Read(b []byte) (int, error) {
	n, err := st.read(b)
	if err != nil {
		// Pass the wake-up on: what ended this Read (a deadline, EOF, a
		// reset) ends the concurrent ones too.
		st.mu.Lock()
		q := st.readQueueLocked()
		st.mu.Unlock()
		notify(q)
	}
	return n, err
}

func (st *Stream) read(b []byte) (int, error) {
	s := st.session
	// got: bytes the receive loop delivered straight into b while this
	// Read held the turn; they come before anything in buf.
	got := 0
	st.mu.Lock()
	for {
		if got == 0 && st.readDeadline.passed() {
			st.mu.Unlock()
			return 0, ErrTimeout
		}
		if st.readClosed {
			st.mu.Unlock()
			return 0, ErrStreamClosed
		}
		if st.state == StateReset && !st.keepsData() {
			err := st.termErr
			st.mu.Unlock()
			st.observe()
			return 0, err
		}
		if got > 0 || st.buf.Len() > 0 {
			if got == 0 {
				if len(b) == 0 {
					st.mu.Unlock()
					return 0, nil
				}
				got = st.buf.read(b)
			}
			more := st.buf.Len() > 0
			// A Read that never waits (its stream always has data
			// buffered) still takes turns with the session's other
			// streams.
			yield := st.rw != nil && turnDone(&st.rw.run, got, &s.recvTurn)
			st.sendWindowUpdateLocked()
			q := st.readQueueLocked()
			drained := st.unreadHeld && !more
			st.mu.Unlock()
			if more {
				notify(q) // another concurrent reader may go on
			}
			if drained {
				st.settleUnread(false)
			}
			if yield {
				s.yieldTurn()
			}
			return got, nil
		}
		switch {
		case st.finRecv && st.state != StateReset, st.finRecv && st.cause == causeSessionEnd:
			// Every byte of the peer's is here and it said it was done:
			// a session that ends afterwards changes nothing for Read
			// (spec.md §3.4).
			st.mu.Unlock()
			return 0, io.EOF
		case st.state == StateReset:
			err := st.termErr
			st.mu.Unlock()
			st.observe()
			return 0, err
		}
		// Wait. The first waiting Read takes the turn and parks b, so
		// that the receive loop delivers into it; others wait behind it.
		// The turn's holder reads the conn itself if it may (readFor).
		if st.rw == nil {
			st.rw = new(readWait)
		}
		rw := st.rw
		turn := !rw.turn
		var wake chan struct{}
		if turn {
			// Capped at len(b): b's capacity beyond is not the Read's.
			rw.turn, rw.parked = true, b[:0:len(b)]
			if s.rd.tryTake(st) {
				st.mu.Unlock()
				s.readFor(st)
				st.mu.Lock()
				got = len(rw.parked)
				rw.turn, rw.parked = false, nil
				notify(rw.queue)
				continue
			}
			if st.recvNotify == nil {
				st.recvNotify = make(chan struct{}, 1)
			}
			wake = st.recvNotify
			rw.counted = true
			s.rd.waitFor()
		} else {
			if rw.queue == nil {
				rw.queue = make(chan struct{}, 1)
			}
			wake = rw.queue
		}
		st.mu.Unlock()
		select {
		case <-wake:
		case <-st.readDeadline.wait():
		case <-s.done:
			// Session.shutdown moved the stream to Reset before closing
			// done; loop once more: buffered data is still delivered.
		}
		st.mu.Lock()
		if turn {
			// Take b back: from here on the receive loop buffers. Whoever
			// waits behind gets to look again (and maybe take the turn).
			if rw.counted {
				rw.counted = false
				s.rd.waitDone()
			}
			got = len(rw.parked)
			rw.turn, rw.parked = false, nil
			notify(rw.queue)
		}
	}
}

// readStatus is what a Read holding the read role for st (readFor) needs
// to know: whether it has data, whether its slice has room for more, and
// whether it must stop reading the conn (the stream's end, a reason to
// leave).
func (st *Stream) readStatus() (got, room, leave bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rw := st.rw
	got = len(rw.parked) > 0 || st.buf.Len() > 0
	room = len(rw.parked) < cap(rw.parked) && st.buf.Len() == 0
	leave = st.finRecv || st.readClosed || st.state == StateReset ||
		st.readDeadline.passed() || st.session.err() != nil
	return got, room, leave
}

// readQueueLocked returns the channel of the Reads waiting behind the
// turn's holder, nil if there never were any.
func (st *Stream) readQueueLocked() chan struct{} {
	if st.rw == nil {
		return nil
	}
	return st.rw.queue
}

// wakeReaders wakes every waiting Read, to look at the stream again.
func (st *Stream) wakeReaders() {
	st.mu.Lock()
	r, q := st.recvNotify, st.readQueueLocked()
	st.mu.Unlock()
	notify(r)
	notify(q)
	st.session.rd.kick(st)
}

// sendWindowUpdateLocked queues a window update if enough has been read
// (spec.md §4.3).
func (st *Stream) sendWindowUpdateLocked() {
	// Not once terminal: the stream's window memory (session budget or
	// Config.MemoryManager) is released then, and growing it after that
	// would reserve bytes nothing gives back.
	if st.state.terminal() || st.recv.credit(uint32(st.buf.Len())) < st.recv.size/2 {
		return
	}
	s := st.session
	before := st.recv.size
	if !st.credited {
		// Its first update: the stream moves data (windowCeiling).
		st.credited = true
		s.busy.Add(1)
	}
	ceiling := s.windowCeiling()
	if st.readClosed {
		// Data is discarded as it comes (CloseRead): credit goes back at
		// once, and a larger window would only take budget from streams
		// that read.
		ceiling = st.recv.size
	}
	delta := st.recv.update(uint32(st.buf.Len()), time.Now(), s.RTT(), ceiling, st.mem.growOr(s.growFn))
	st.grown += st.recv.size - before
	if delta > 0 {
		s.send.control(frame.New(frame.TypeWindowUpdate, st.flagsLocked(), st.id, delta), notReply)
		s.stats.windowGranted.Add(uint64(delta))
	}
}

// flagsLocked returns the handshake flags the next frame must carry.
func (st *Stream) flagsLocked() frame.Flags {
	if st.handshakeLocked(hsEvSendACK) {
		return frame.FlagACK
	}
	return 0
}

// writableLocked says whether DATA may be sent now.
func (st *Stream) writableLocked() error {
	switch {
	case st.state.canSend():
		return nil
	case st.state == StateReset:
		return st.termErr
	}
	return ErrStreamClosed
}

// CloseWrite sends FIN: the peer reads EOF after the data already written.
// Reads continue. Calling it again is a no-op.
func (st *Stream) CloseWrite() error {
	st.mu.Lock()
	if !st.state.canSend() {
		st.mu.Unlock()
		return nil
	}
	terminal, err := st.transitionLocked(evSendFIN, 0, false)
	st.mu.Unlock()
	if terminal {
		st.release()
	}
	return err
}

// finLocked queues our FIN (flags include it) behind the stream's DATA.
// A Write handing a frame to the send queue does so without mu
// (appending): the FIN then waits for it (finPending) and is queued by that
// Write, right after its frame.
func (st *Stream) finLocked(flags frame.Flags) {
	if st.appending {
		st.finPending, st.finFlags = true, flags
		return
	}
	st.session.send.fin(frame.New(frame.TypeWindowUpdate, flags, st.id, 0))
}

// CloseRead stops reading: buffered and later data is discarded (its
// window credit is still returned, so the peer is not stalled) and Read
// returns ErrStreamClosed. Nothing is sent.
func (st *Stream) CloseRead() error {
	st.mu.Lock()
	st.closeReadLocked()
	st.mu.Unlock()
	st.wakeReaders()
	st.settleUnread(false)
	return nil
}

func (st *Stream) closeReadLocked() {
	if st.readClosed {
		return
	}
	st.readClosed = true
	st.buf.release()
	st.sendWindowUpdateLocked()
}

// Close closes both directions: CloseRead, then CloseWrite. It never
// blocks. If the peer's FIN does not follow within StreamCloseTimeout the
// stream is reset and freed.
func (st *Stream) Close() error {
	st.mu.Lock()
	st.closeReadLocked()
	st.mu.Unlock()
	st.wakeReaders()
	err := st.CloseWrite()
	st.mu.Lock()
	st.armCloseTimerLocked()
	st.mu.Unlock()
	st.observe()
	return err
}

// Reset resets the stream: both directions fail at once on both sides.
func (st *Stream) Reset() error { return st.ResetWithError(0) }

// ResetWithError resets the stream, sending code in the RST (the libp2p
// error-code extension, spec.md §3.5).
func (st *Stream) ResetWithError(code uint32) error {
	st.mu.Lock()
	if st.state.terminal() {
		st.mu.Unlock()
		st.observe()
		return nil
	}
	_, err := st.transitionLocked(evSendRST, code, false)
	st.mu.Unlock()
	st.release()
	return err
}

// SetDeadline sets both deadlines.
func (st *Stream) SetDeadline(t time.Time) error {
	st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline: a blocked and any later Read
// fails with ErrTimeout once it passes; the zero time clears it.
func (st *Stream) SetReadDeadline(t time.Time) error {
	st.readDeadline.set(t, st.kickRead)
	st.wakeReaders()
	return nil
}

// kickRead interrupts a Read of st that reads the conn itself, when its
// deadline passes (readRole.kick).
func (st *Stream) kickRead() { st.session.rd.kick(st) }

// SetWriteDeadline sets the write deadline, as SetReadDeadline. A Write
// that times out has queued only whole frames.
func (st *Stream) SetWriteDeadline(t time.Time) error {
	st.writeDeadline.set(t, nil)
	st.mu.Lock()
	notify(st.sendNotify)
	st.mu.Unlock()
	return nil
}

func (st *Stream) stopTimersLocked() {
	if st.openTimer != nil {
		st.openTimer.Stop()
		st.openTimer = nil
	}
	if st.closeTimer != nil {
		st.closeTimer.Stop()
		st.closeTimer = nil
	}
}

// release frees what a terminal stream holds in the session: its map
// entry, its ACK-backlog slot and its window growth.
func (st *Stream) release() {
	st.releaseOwn(false)
	st.settleSlot()
	st.session.removeStream(st)
}

// releaseOwn returns the ACK slot and the window budget, once; the window
// memory is kept while the stream holds data the application may still
// read (unreadHeld), except when the session has ended (atSessionEnd): no
// data can come any more, and nothing would release it later.
func (st *Stream) releaseOwn(atSessionEnd bool) {
	s := st.session
	st.mu.Lock()
	ack := st.ackHeld
	st.ackHeld = false
	keep := !atSessionEnd && st.buf.Len() > 0 && !st.readClosed && s.holdUnread(st)
	grown := st.grown
	if keep {
		st.unreadHeld = true
	} else {
		st.grown = 0
	}
	if st.credited {
		st.credited = false
		s.busy.Add(-1)
	}
	st.mu.Unlock()
	if ack {
		<-s.ackSlots
	}
	if !keep {
		st.releaseMemory(grown)
	}
	st.readDeadline.stop()
	st.writeDeadline.stop()
}

// sessionClosed moves the stream to Reset (or leaves it FullyClosed) when
// the session ends. The session has already dropped it from its map.
func (st *Stream) sessionClosed() {
	s := st.session
	st.mu.Lock()
	terminal, err := st.transitionLocked(evSessionClosed, 0, false)
	st.mu.Unlock()
	if terminal {
		st.releaseOwn(true)
	}
	if err != nil {
		s.logger.Error("yamux: session end", "id", st.id, "err", err)
	}
}

// accepted sends the ACK when the application takes the stream
// (spec.md §3.2).
func (st *Stream) accepted() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.state == StateReset || !st.handshakeLocked(hsEvSendACK) {
		return
	}
	delta := st.initialDelta()
	st.recv.granted += delta
	st.session.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagACK, st.id, delta), notReply)
	st.session.stats.windowGranted.Add(uint64(delta))
}

// testHookOpenTimer, if set by a test, runs when the open timer has fired
// and before it acts on the handshake.
var testHookOpenTimer atomic.Pointer[func(*Stream)]

// armOpenTimer resets the stream if the peer does not ACK our SYN within
// StreamOpenTimeout; the session is not affected (spec.md §8).
func (st *Stream) armOpenTimer() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.hs != hsSynSent || st.state.terminal() {
		return
	}
	st.openTimer = time.AfterFunc(st.session.config.StreamOpenTimeout, st.openTimedOut)
}

// openTimedOut resets the stream if it is still unacknowledged. The check
// and the reset happen under one lock: an ACK processed in between would
// otherwise see its established stream reset.
func (st *Stream) openTimedOut() {
	if hook := testHookOpenTimer.Load(); hook != nil {
		(*hook)(st)
	}
	st.mu.Lock()
	if st.hs != hsSynSent || st.state.terminal() {
		st.mu.Unlock()
		return
	}
	st.session.logger.Debug("yamux: stream not acknowledged in time, resetting", "id", st.id)
	_, err := st.transitionLocked(evSendRST, 0, false)
	st.mu.Unlock()
	st.release()
	if err != nil {
		st.session.logger.Error("yamux: open timeout", "id", st.id, "err", err)
	}
}

// armCloseTimerLocked resets a closed stream whose peer never sends its FIN.
func (st *Stream) armCloseTimerLocked() {
	if st.state != StateHalfClosedSend || st.closeTimer != nil {
		return
	}
	st.closeTimer = time.AfterFunc(st.session.config.StreamCloseTimeout, func() {
		st.session.logger.Debug("yamux: peer did not close stream in time, resetting", "id", st.id)
		st.Reset()
	})
}
