package yamux

import (
	"fmt"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Applying the two state machines of a stream (stream_state.go): the
// half-close states and the SYN/ACK handshake. Every side effect of a
// transition is derived here from (old state, event), in one place;
// callers only report events and, when a stream became terminal, call
// release after unlocking.

// resetCause says why a stream is in Reset: it decides whether buffered
// data is still handed out (keepsData) and whether the inbound slot waits
// for the application (settleSlot).
type resetCause uint8

const (
	causeNone        resetCause = iota // not reset
	causeLocalReset                    // we sent RST (Reset, a timeout, DATA after FIN)
	causeRemoteReset                   // the peer sent RST
	causeSessionEnd                    // the session ended under the stream
)

// causeOf is the reset cause of the event that resets a stream.
func causeOf(ev streamEvent) resetCause {
	switch ev {
	case evSendRST:
		return causeLocalReset
	case evRecvRST:
		return causeRemoteReset
	case evSessionClosed:
		return causeSessionEnd
	}
	return causeNone
}

// effects are what a state transition entails besides the new state.
type effects struct {
	sendFIN     bool // queue our FIN behind the stream's DATA
	sendRST     bool // queue our RST
	dropBuffers bool // unread data is never delivered (a RST, spec.md §3.5)
	terminal    bool // stop the timers; the caller releases the stream
}

// effectsOf derives the effects of moving from old to next on ev.
func effectsOf(old, next StreamState, ev streamEvent) effects {
	if next == old {
		return effects{}
	}
	return effects{
		sendFIN:     ev == evSendFIN,
		sendRST:     ev == evSendRST,
		dropBuffers: next == StateReset && causeOf(ev) != causeSessionEnd,
		terminal:    next.terminal(),
	}
}

// transitionLocked applies ev (spec.md §3.6) with its effects and reports
// whether the stream just became terminal; the caller then calls release
// after unlocking. code is our RST's error code (evSendRST) or the peer's
// (evRecvRST). replied marks an evSendRST whose RST the receive loop sends
// itself, as a bounded reply (DATA after FIN). An event the state does not
// allow (a second local FIN) is returned as an error, never dropped.
func (st *Stream) transitionLocked(ev streamEvent, code uint32, replied bool) (bool, error) {
	old := st.state
	next, err := old.next(ev)
	if err != nil {
		return false, fmt.Errorf("stream %d: %w", st.id, err)
	}
	fx := effectsOf(old, next, ev)
	if fx.sendFIN {
		// Queued under mu: the FIN follows every DATA frame of this
		// stream that Write has queued (or is queueing, see Write).
		st.finLocked(frame.FlagFIN | st.flagsLocked())
	}
	st.state = next
	if ev == evRecvFIN {
		st.finRecv = true
	}
	if next != old {
		notify(st.recvNotify)
		notify(st.sendNotify)
		if ev == evSessionClosed || ev == evSendRST && !replied {
			// Not an event the conn brought: a Read reading the conn
			// itself for this stream must look again (readRole.kick).
			st.session.rd.kick(st)
		}
	}
	if next == StateReset && old != StateReset {
		st.cause = causeOf(ev)
		switch st.cause {
		case causeLocalReset:
			st.session.stats.resetLocal.Add(1)
		case causeRemoteReset:
			st.session.stats.resetRemote.Add(1)
		}
		switch ev {
		case evSessionClosed:
			st.termErr = st.session.err()
		default:
			st.termErr = &StreamError{StreamID: st.id, Code: code, Remote: ev == evRecvRST}
		}
	}
	if fx.sendRST && !replied {
		st.session.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagRST, st.id, code), notReply)
	}
	if fx.dropBuffers {
		st.buf.release()
	}
	if fx.terminal {
		st.stopTimersLocked()
	}
	return fx.terminal, nil
}

// keepsData reports whether a Reset stream still hands out buffered data:
// yes when the session ended under it, no after a RST (spec.md §3.5).
func (st *Stream) keepsData() bool { return st.cause == causeSessionEnd }

// handshakeLocked applies a handshake event and its effects, and reports
// whether the event did something: for hsEvRecvACK, that our SYN is now
// acknowledged and its ACK-backlog slot is to be returned by the caller;
// for hsEvSendACK, that the frame being built must carry ACK.
func (st *Stream) handshakeLocked(ev hsEvent) bool {
	old := st.hs
	st.hs = old.next(ev)
	if st.hs == old {
		return false
	}
	switch ev {
	case hsEvRecvACK:
		if st.openTimer != nil {
			st.openTimer.Stop()
			st.openTimer = nil
		}
		held := st.ackHeld
		st.ackHeld = false
		return held
	default:
		return true
	}
}
