package yamux

import (
	"errors"
	"testing"
)

// TestHandshakeNext: the handshake's transition function over every
// (state, event) pair.
func TestHandshakeNext(t *testing.T) {
	for _, tt := range []struct {
		from handshake
		ev   hsEvent
		want handshake
	}{
		{hsSynSent, hsEvRecvACK, hsEstablished},
		{hsSynSent, hsEvSendACK, hsSynSent}, // our own stream: no ACK of ours
		{hsAckPending, hsEvRecvACK, hsAckPending},
		{hsAckPending, hsEvSendACK, hsEstablished},
		{hsEstablished, hsEvRecvACK, hsEstablished}, // duplicate ACK ignored
		{hsEstablished, hsEvSendACK, hsEstablished},
	} {
		if got := tt.from.next(tt.ev); got != tt.want {
			t.Errorf("handshake %d, event %d: got %d, want %d", tt.from, tt.ev, got, tt.want)
		}
	}
}

// TestEffectsOf: the side effects of every (state, event) pair come from
// one function: FIN and RST are sent only by the transition that makes
// them, buffers are dropped only by a RST, and only entering a terminal
// state asks for release.
func TestEffectsOf(t *testing.T) {
	for _, from := range allStates {
		for _, ev := range allEvents {
			next, err := from.next(ev)
			fx := effectsOf(from, next, ev)
			changed := err == nil && next != from
			if fx.sendFIN != (changed && ev == evSendFIN) {
				t.Errorf("%v on %v: sendFIN %v", ev, from, fx.sendFIN)
			}
			if fx.sendRST != (changed && ev == evSendRST) {
				t.Errorf("%v on %v: sendRST %v", ev, from, fx.sendRST)
			}
			if fx.terminal != (changed && next.terminal()) {
				t.Errorf("%v on %v: terminal %v", ev, from, fx.terminal)
			}
			if fx.dropBuffers != (changed && next == StateReset && ev != evSessionClosed) {
				t.Errorf("%v on %v: dropBuffers %v", ev, from, fx.dropBuffers)
			}
		}
	}
}

// TestTransitionInvalidReported: an event the state does not allow is
// returned as an error, not dropped.
func TestTransitionInvalidReported(t *testing.T) {
	st := decisionStream(t, hsEstablished)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.state = StateHalfClosedSend
	if _, err := st.transitionLocked(evSendFIN, 0, false); !errors.Is(err, errInvalidTransition) {
		t.Errorf("second local FIN: %v, want errInvalidTransition", err)
	}
}
