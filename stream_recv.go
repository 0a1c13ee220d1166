package yamux

import "github.com/yamuxgo/yamux/internal/frame"

// The receive side of a stream. A stream is state and buffers: it decides
// what a frame from the peer means for it and returns that decision; the
// session's receive loop, which owns the connection, does every read and
// every reply (session_recv.go). So this file never touches the conn and
// its logic is tested without one (stream_recv_test.go).

// recvDecision is what the receive loop must do with one DATA or
// WINDOW_UPDATE frame after the stream has taken in its header.
type recvDecision struct {
	// deliver is how many body bytes to read into the stream (deliver),
	// after which endFrame applies the frame's FIN; discard is how many to
	// read and drop. At most one of them is non-zero.
	deliver, discard uint32
	// replyRST: answer with RST (DATA after the peer's FIN, spec.md §3.4).
	replyRST bool
	// ackSlot: our SYN was acknowledged; give back its ACK-backlog slot.
	ackSlot bool
	// terminal: the stream has just become terminal; release it.
	terminal bool
	// useful: the frame changed something (for the flood counter).
	useful bool
}

// receiveHeader applies a DATA or WINDOW_UPDATE header from the peer, in
// the order of spec.md §3.3: ACK, RST, window or payload, FIN. For DATA
// with a payload to deliver, the FIN waits for endFrame. An error is a
// protocol violation.
func (st *Stream) receiveHeader(h frame.Header) (recvDecision, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	before := st.state
	d := recvDecision{ackSlot: st.recvACKLocked(h)}
	var err error
	switch {
	case h.Flags()&frame.FlagRST != 0:
		err = st.recvRSTLocked(h, &d)
		return d, err
	case h.Type() == frame.TypeWindowUpdate:
		err = st.recvWindowLocked(h.Length(), &d)
	default:
		err = st.recvDataLocked(h.Length(), &d)
	}
	if err != nil || d.deliver > 0 || d.replyRST {
		return d, err
	}
	return d, st.recvFINLocked(h, before, &d)
}

// endFrame applies the FIN of a DATA frame whose payload has been
// delivered.
func (st *Stream) endFrame(h frame.Header) recvDecision {
	st.mu.Lock()
	defer st.mu.Unlock()
	d := recvDecision{useful: true}
	if err := st.recvFINLocked(h, st.state, &d); err != nil {
		st.session.logger.Error("yamux: FIN", "id", st.id, "err", err)
	}
	return d
}

// recvACKLocked completes our handshake on the peer's ACK and reports
// whether the stream's ACK-backlog slot is to be returned.
func (st *Stream) recvACKLocked(h frame.Header) bool {
	if h.Flags()&frame.FlagACK == 0 {
		return false
	}
	return st.handshakeLocked(hsEvRecvACK)
}

// recvRSTLocked: the peer reset the stream. On DATA|RST the length is a
// payload, still checked against the window (spec.md §3.3 steps 3 and 5),
// and discarded; on WINDOW_UPDATE|RST it is the error code (§3.5).
func (st *Stream) recvRSTLocked(h frame.Header, d *recvDecision) error {
	var code uint32
	if h.Type() == frame.TypeWindowUpdate {
		code = h.Length()
	} else {
		if err := st.recv.receive(h.Length()); err != nil {
			return protocolError(err)
		}
		d.discard = h.Length()
	}
	terminal, err := st.transitionLocked(evRecvRST, code, false)
	d.terminal = terminal
	d.useful = d.terminal || d.ackSlot
	return err
}

// recvWindowLocked credits our send window (spec.md §4.2).
func (st *Stream) recvWindowLocked(delta uint32, d *recvDecision) error {
	if delta == 0 {
		return nil
	}
	w, err := addSendWindow(st.sendWindow, delta)
	if err != nil {
		return protocolError(err)
	}
	st.sendWindow = w
	notify(st.sendNotify)
	d.useful = delta >= minUsefulDelta
	return nil
}

// recvDataLocked takes in a DATA payload's length: it must fit the window;
// after the peer's FIN it breaks the stream (not the session).
func (st *Stream) recvDataLocked(n uint32, d *recvDecision) error {
	if n == 0 {
		return nil
	}
	if err := st.recv.receive(n); err != nil {
		return protocolError(err)
	}
	if !st.finRecv {
		d.deliver = n
		return nil
	}
	// DATA after the peer's FIN (spec.md §3.4): reset and discard.
	d.discard = n
	terminal, err := st.transitionLocked(evSendRST, 0, true)
	d.terminal, d.replyRST, d.useful = terminal, terminal, terminal
	return err
}

// recvFINLocked applies the peer's FIN, if the frame carries one, and
// completes the decision's usefulness against the state before the frame.
func (st *Stream) recvFINLocked(h frame.Header, before StreamState, d *recvDecision) error {
	if h.Flags()&frame.FlagFIN != 0 {
		terminal, err := st.transitionLocked(evRecvFIN, 0, false)
		if err != nil {
			return err
		}
		d.terminal = terminal || d.terminal
	}
	d.useful = d.useful || d.ackSlot || st.state != before
	return nil
}

// deliver hands one piece of a DATA payload to Read: straight into the
// slice of a Read waiting with the buffer empty (or reading the conn
// itself), as far as it fits, and into the buffer otherwise. The caller
// holds p only for this call, never across a read of the conn, so a parked
// Read is never held up by a trickling peer: it takes its slice back
// whenever it wakes. It reports whether it gave data to a Read that was
// waiting for the conn (readRole.waitFor), which no longer waits then.
func (st *Stream) deliver(p []byte) (gave bool) {
	st.mu.Lock()
	switch {
	case st.state == StateReset:
		// Dropped: nobody will read it.
	case st.readClosed:
		// Discarded, and credited back at once (CloseRead).
		st.sendWindowUpdateLocked()
	default:
		if rw := st.rw; rw != nil && rw.turn && st.buf.Len() == 0 {
			k := len(rw.parked)
			n := copy(rw.parked[k:cap(rw.parked)], p)
			rw.parked = rw.parked[:k+n]
			p = p[n:]
			if rw.counted {
				rw.counted = false
				st.session.rd.waitDone()
				gave = true
			}
		}
		if len(p) > 0 {
			st.buf.write(p)
		}
	}
	wake := st.recvNotify
	st.mu.Unlock()
	notify(wake)
	return gave
}

// parkedSpare is the room left in the slice of st's Read holding the read
// role (readFor), which only that Read's own goroutine writes into.
func (st *Stream) parkedSpare() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	rw := st.rw
	if rw == nil || !rw.turn || st.buf.Len() > 0 {
		return nil
	}
	return rw.parked[len(rw.parked):cap(rw.parked)]
}

// deliverInPlace is deliver for n bytes that the Read holding the read
// role has read from the conn straight into its slice (parkedSpare).
func (st *Stream) deliverInPlace(n int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.state == StateReset:
		// Dropped: the Read returns the stream's error.
	case st.readClosed:
		st.sendWindowUpdateLocked()
	default:
		st.rw.parked = st.rw.parked[:len(st.rw.parked)+n]
	}
}
