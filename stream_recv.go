package yamux

import "github.com/yamuxgo/yamux/internal/frame"

// The receive side of a stream: what the session's receive loop calls for
// frames addressed to it.

// receiveFrame applies a DATA or WINDOW_UPDATE frame from the peer, in the
// order of spec.md §3.3: ACK, RST, window or payload, FIN. It runs on the
// receive loop and reports whether the frame changed anything.
func (st *Stream) receiveFrame(h frame.Header) (useful bool, err error) {
	s := st.session
	flags := h.Flags()
	st.mu.Lock()
	before := st.state
	ackSlot := false
	if flags&frame.FlagACK != 0 && st.hs == hsSynSent {
		st.hs = hsEstablished
		if st.openTimer != nil {
			st.openTimer.Stop()
			st.openTimer = nil
		}
		ackSlot, st.ackHeld = st.ackHeld, false
	}
	if ackSlot {
		<-s.ackSlots // never blocks: we hold the slot
	}
	if flags&frame.FlagRST != 0 {
		var code uint32
		if h.Type() == frame.TypeWindowUpdate {
			code = h.Length() // an error code, never window (spec.md §3.5)
		} else if err := st.recv.receive(h.Length()); err != nil {
			// The window check precedes RST (spec.md §3.3 steps 3 and 5).
			st.mu.Unlock()
			return false, protocolError(err)
		}
		terminal := st.transitionLocked(evRecvRST, &StreamError{StreamID: st.id, Code: code, Remote: true})
		st.mu.Unlock()
		if terminal {
			st.release()
		}
		if h.Type() == frame.TypeData {
			return terminal, s.discard(h.Length())
		}
		return terminal, nil
	}
	if h.Type() == frame.TypeWindowUpdate {
		if delta := h.Length(); delta > 0 {
			w, err := addSendWindow(st.sendWindow, delta)
			if err != nil {
				st.mu.Unlock()
				return false, protocolError(err)
			}
			st.sendWindow = w
			notify(st.sendNotify)
			useful = delta >= minUsefulDelta
		}
	} else if n := h.Length(); n > 0 {
		if err := st.recv.receive(n); err != nil {
			st.mu.Unlock()
			return false, protocolError(err)
		}
		if st.state == StateHalfClosedRecv || st.state == StateFullyClosed {
			// DATA after the peer's FIN: this stream is broken, the
			// session is not (spec.md §3.4).
			terminal := st.transitionLocked(evSendRST, &StreamError{StreamID: st.id})
			st.mu.Unlock()
			if terminal {
				st.release()
				if err := s.waitReplyRoom(replyReset); err != nil {
					return false, err
				}
				s.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagRST, st.id, 0), replyReset)
			}
			return terminal, s.discard(n)
		}
		st.mu.Unlock()
		if err := s.readBody(st, n); err != nil {
			return false, err
		}
		useful = true
		st.mu.Lock()
	}
	terminal := false
	if flags&frame.FlagFIN != 0 {
		terminal = st.transitionLocked(evRecvFIN, nil)
	}
	useful = useful || ackSlot || st.state != before
	st.mu.Unlock()
	if terminal {
		st.release()
	}
	return useful, nil
}

// deliver buffers one piece of a DATA payload for Read.
func (st *Stream) deliver(p []byte) {
	st.mu.Lock()
	switch {
	case st.state == StateReset:
		// Dropped: nobody will read it.
	case st.readClosed:
		// Discarded, and credited back at once (CloseRead).
		st.sendWindowUpdateLocked()
	default:
		st.buf.write(p)
	}
	st.mu.Unlock()
	notify(st.recvNotify)
}
