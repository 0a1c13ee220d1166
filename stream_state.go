package yamux

import (
	"errors"
	"fmt"
)

// StreamState is where a stream stands in the seed's state diagram
// (spec.md §3.6). The SYN/ACK handshake is tracked separately (handshake),
// because it is orthogonal to the half-close states.
type StreamState uint8

// The five states of the seed's diagram.
const (
	// StateOpen: both directions are open; the stream can read and write.
	StateOpen StreamState = iota
	// StateHalfClosedSend: we sent FIN; the stream can only read.
	StateHalfClosedSend
	// StateHalfClosedRecv: the peer sent FIN; the stream can only write.
	StateHalfClosedRecv
	// StateFullyClosed: both sides sent FIN; terminal.
	StateFullyClosed
	// StateReset: a RST was sent or received, or the session ended first;
	// terminal.
	StateReset
)

var stateNames = [...]string{"Open", "HalfClosedSend", "HalfClosedRecv", "FullyClosed", "Reset"}

func (s StreamState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("StreamState(%d)", uint8(s))
}

// terminal reports whether no further transition can change the state.
func (s StreamState) terminal() bool { return s == StateFullyClosed || s == StateReset }

// canSend reports whether DATA may still be sent.
func (s StreamState) canSend() bool { return s == StateOpen || s == StateHalfClosedRecv }

// canRecv reports whether the peer may still send DATA.
func (s StreamState) canRecv() bool { return s == StateOpen || s == StateHalfClosedSend }

// streamEvent is an input of the state machine.
type streamEvent uint8

const (
	evSendFIN streamEvent = iota
	evRecvFIN
	evSendRST
	evRecvRST
	evSessionClosed
	numEvents
)

var eventNames = [...]string{"sendFIN", "recvFIN", "sendRST", "recvRST", "sessionClosed"}

func (e streamEvent) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("streamEvent(%d)", uint8(e))
}

// errInvalidTransition reports an event that the state does not allow; the
// caller decides whether that is the application's mistake (FIN twice) or
// something to ignore.
var errInvalidTransition = errors.New("yamux: invalid stream state transition")

// next is the stream state machine: pure and total over every
// (state, event) pair. Events that change nothing but are legal (a
// duplicate FIN from the peer, anything after a terminal state) return the
// same state and no error; only a second local FIN is invalid.
func (s StreamState) next(ev streamEvent) (StreamState, error) {
	switch s {
	case StateOpen:
		switch ev {
		case evSendFIN:
			return StateHalfClosedSend, nil
		case evRecvFIN:
			return StateHalfClosedRecv, nil
		case evSendRST, evRecvRST, evSessionClosed:
			return StateReset, nil
		}
	case StateHalfClosedSend:
		switch ev {
		case evSendFIN:
			return s, errInvalidTransition
		case evRecvFIN:
			return StateFullyClosed, nil
		case evSendRST, evRecvRST, evSessionClosed:
			return StateReset, nil
		}
	case StateHalfClosedRecv:
		switch ev {
		case evSendFIN:
			return StateFullyClosed, nil
		case evRecvFIN: // duplicate FIN: ignored (spec.md §3.4)
			return s, nil
		case evSendRST, evRecvRST, evSessionClosed:
			return StateReset, nil
		}
	case StateFullyClosed:
		switch ev {
		case evSendFIN:
			return s, errInvalidTransition
		case evRecvFIN, evSendRST, evRecvRST, evSessionClosed:
			return s, nil
		}
	case StateReset:
		switch ev {
		case evSendFIN, evRecvFIN, evSendRST, evRecvRST, evSessionClosed:
			return s, nil
		}
	}
	return s, fmt.Errorf("%w: %s on %s", errInvalidTransition, ev, s)
}

// handshake tracks the SYN/ACK exchange, which decides the flags of the
// next frame we send (spec.md §3.1, §3.2).
type handshake uint8

const (
	// hsSynSent: we opened the stream and wait for the peer's ACK.
	hsSynSent handshake = iota
	// hsAckPending: the peer opened the stream; our ACK is not sent yet.
	hsAckPending
	// hsEstablished: SYN and ACK have both been seen.
	hsEstablished
)

// hsEvent is an input of the handshake.
type hsEvent uint8

const (
	// hsEvRecvACK: the peer's ACK arrived.
	hsEvRecvACK hsEvent = iota
	// hsEvSendACK: we are about to send a frame on the stream (our ACK,
	// on Accept or on the first frame of an inbound stream).
	hsEvSendACK
)

// next is the handshake: pure and total. An ACK for a stream we did not
// open, or a second one, is ignored (spec.md §7.4); only an inbound stream
// has an ACK of ours to send, once.
func (h handshake) next(ev hsEvent) handshake {
	switch {
	case h == hsSynSent && ev == hsEvRecvACK:
		return hsEstablished
	case h == hsAckPending && ev == hsEvSendACK:
		return hsEstablished
	}
	return h
}
