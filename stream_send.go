package yamux

import (
	"errors"
	"math"

	"github.com/yamuxgo/yamux/internal/frame"
)

// A stream's send side: Write, and how its frames go through the send
// queue (sendqueue.go).

// Write sends b, splitting it into frames of at most MaxMessageSize and
// never beyond the peer's window. Frames are copied into the session's
// send queue while it has room, and Write returns once they are queued;
// a frame that finds it full is written from b itself, and Write returns
// once it has been written to the connection (b is never referenced after
// Write returns). It blocks while the window is empty.
func (st *Stream) Write(b []byte) (int, error) {
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	s := st.session
	maxMsg := s.config.MaxMessageSize
	total := 0
	for {
		if total > 0 && len(b) == 0 {
			// Everything is queued: what happens to the stream from now on
			// (a reset racing in) is the next call's business.
			return total, nil
		}
		if st.writeDeadline.passed() {
			return total, ErrTimeout
		}
		st.mu.Lock()
		if err := st.writableLocked(); err != nil {
			reset := st.state == StateReset
			st.mu.Unlock()
			if reset {
				st.observe()
			}
			return total, err
		}
		if len(b) == 0 {
			st.mu.Unlock()
			return total, nil
		}
		if st.sendWindow == 0 {
			wait := st.sendNotifyLocked()
			st.mu.Unlock()
			s.rd.waitFor() // the peer's window update comes with the conn
			select {
			case <-wait:
			case <-st.writeDeadline.wait():
			case <-s.done: // the stream is Reset by now: the loop returns
			}
			s.rd.waitDone()
			continue
		}
		n, err := st.sendData(b[:min(len(b), maxMsg, int(st.sendWindow))])
		total += n
		if n > 0 && turnDone(&st.writeRun, n, &s.send.turn) {
			s.yieldTurn()
		}
		b = b[n:]
		if err != nil && err != errWithdrawn {
			return total, err
		}
	}
}

// sendNotifyLocked returns the stream's send wake-up, made on first use.
func (st *Stream) sendNotifyLocked() chan struct{} {
	if st.sendNotify == nil {
		st.sendNotify = make(chan struct{}, 1)
	}
	return st.sendNotify
}

// sendData sends one DATA frame of p (at most the send window), called
// with st.mu held; it returns with st.mu released. The window is reserved
// under st.mu, but the frame is handed to the send queue without it
// (appending), so copying it never holds up the receive loop's delivery to
// this stream; a FIN asked for meanwhile is queued right after it. The
// frame is copied if the ring has room (sendQueue.queueData); otherwise it
// is written from p, by this goroutine if nobody else is writing, else by
// the writer at work while this one waits. err is set when the frame was
// not sent (n is then 0): the session ended, the deadline passed or the
// stream was reset before it was taken (errWithdrawn).
func (st *Stream) sendData(p []byte) (n int, err error) {
	s := st.session
	flags := st.flagsLocked()
	h := frame.New(frame.TypeData, flags, st.id, uint32(len(p)))
	r := &st.req
	ch := st.sendNotify
	st.sendWindow -= uint32(len(p))
	st.appending = true
	st.mu.Unlock()

	outcome := s.send.queueData(r, h, p, ch)
	if outcome == dataNeedChan {
		// Another writer is at work: this one will wait for it.
		st.mu.Lock()
		ch = st.sendNotifyLocked()
		st.mu.Unlock()
		outcome = s.send.queueData(r, h, p, ch)
	}

	st.mu.Lock()
	st.appending = false
	if st.finPending {
		st.finPending = false
		s.send.fin(frame.New(frame.TypeWindowUpdate, st.finFlags, st.id, 0))
	}
	if outcome == dataClosed {
		st.returnWindowLocked(len(p))
		st.mu.Unlock()
		return 0, st.sessionErr()
	}
	st.mu.Unlock()
	switch outcome {
	case dataCopied:
		return len(p), nil
	case dataCopiedWrite:
		s.writeRounds(nil, false)
		return len(p), nil
	case dataRequestedWrite:
		s.writeRounds(r, false)
	}
	if err = st.awaitRequest(r); err == nil {
		return len(p), nil
	}
	st.mu.Lock()
	st.returnWindowLocked(len(p))
	if flags&frame.FlagACK != 0 && st.state != StateReset {
		// The ACK this frame was to carry goes on its own.
		s.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagACK, st.id, 0), notReply)
	}
	st.mu.Unlock()
	return 0, err
}

// returnWindowLocked gives back the window a frame that was not sent had
// reserved.
func (st *Stream) returnWindowLocked(n int) {
	st.sendWindow = uint32(min(uint64(st.sendWindow)+uint64(n), math.MaxUint32))
}

// sessionErr is what a Write returns when the session has ended (or is
// ending) under it: the session's error once recorded.
func (st *Stream) sessionErr() error {
	s := st.session
	if err := s.err(); err != nil {
		return err
	}
	<-s.done // a write failed: the session ends within a bounded time
	return s.err()
}

// awaitRequest waits until r has been written (nil) or not: it may be
// withdrawn while still queued (errWithdrawn: the deadline passed or the
// stream was reset), but once a writer has taken it only the write's
// outcome ends the wait, so the caller's slice is not referenced after
// Write returns. The writer role may be handed to this goroutine
// meanwhile; it then writes.
func (st *Stream) awaitRequest(r *sendReq) error {
	s := st.session
	done := s.done
	for {
		status, ch := s.send.requestStatus(r)
		var deadline <-chan struct{}
		switch status {
		case statusHandoff:
			s.writeRounds(r, false)
			continue
		case statusDone:
			return nil
		case statusFailed:
			return st.sessionErr()
		case statusTaken:
			done = nil // only the write's outcome ends the wait
		case statusQueued:
			deadline = st.writeDeadline.wait()
		}
		if ch == nil {
			// This goroutine wrote, and its request is still queued: the
			// session is finishing (the final write or the end of the send
			// loop settles it), or a frame ahead of it was still being
			// copied into the ring (its copier hands the rest on).
			st.mu.Lock()
			ch = st.sendNotifyLocked()
			st.mu.Unlock()
			s.send.setRequestChan(r, ch)
			continue
		}
		select {
		case <-ch:
		case <-deadline:
		case <-done:
			done = nil // finish failed r, or the final write settles it
		}
		if status == statusQueued && st.withdrawable() && s.send.withdraw(r) {
			return errWithdrawn
		}
	}
}

// errWithdrawn: a Write took its frame back before it was written; the
// Write loop finds out why (deadline, reset).
var errWithdrawn = errors.New("yamux: frame withdrawn")

// withdrawable says whether a queued frame of this Write may be taken
// back: its deadline passed or the stream was reset. A stream reset by the
// session's end keeps it: the final write (shutdownFlush) or the end of
// the send queue settles it.
func (st *Stream) withdrawable() bool {
	if st.writeDeadline.passed() {
		return true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state == StateReset && st.cause != causeSessionEnd
}
