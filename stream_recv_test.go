package yamux

import (
	"errors"
	"testing"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The stream's receive decisions, without a connection or goroutines: a
// Session value with a config is all a stream needs to decide.

func decisionStream(t *testing.T, hs handshake) *Stream {
	t.Helper()
	s := &Session{config: withDefaults(DefaultConfig())}
	s.ackSlots = make(chan struct{}, 1)
	st := newStream(s, 1, hs)
	st.ackHeld = hs == hsSynSent
	return st
}

func TestStreamRecvDecisions(t *testing.T) {
	data := func(flags frame.Flags, n uint32) frame.Header { return frame.New(frame.TypeData, flags, 1, n) }
	wu := func(flags frame.Flags, n uint32) frame.Header { return frame.New(frame.TypeWindowUpdate, flags, 1, n) }
	tests := []struct {
		name    string
		synSent bool           // our stream, waiting for the ACK (else established)
		setup   []frame.Header // applied first (bodies delivered)
		h       frame.Header
		want    recvDecision
		state   StreamState
		err     error
	}{
		{name: "DATA delivers, FIN waits for the body", h: data(frame.FlagFIN, 100),
			want: recvDecision{deliver: 100}, state: StateOpen},
		{name: "empty DATA with FIN", h: data(frame.FlagFIN, 0),
			want: recvDecision{useful: true}, state: StateHalfClosedRecv},
		{name: "DATA beyond the window", h: data(0, initialWindow+1), err: ErrRecvWindowExceeded, state: StateOpen},
		{name: "DATA|RST is checked, then discarded", h: data(frame.FlagRST, 10),
			want: recvDecision{discard: 10, terminal: true, useful: true}, state: StateReset},
		{name: "DATA|RST beyond the window", h: data(frame.FlagRST, initialWindow+1), err: ErrRecvWindowExceeded, state: StateOpen},
		{name: "WINDOW_UPDATE|RST", h: wu(frame.FlagRST, 7),
			want: recvDecision{terminal: true, useful: true}, state: StateReset},
		{name: "DATA after FIN: RST reply, discard", setup: []frame.Header{wu(frame.FlagFIN, 0)}, h: data(0, 5),
			want: recvDecision{discard: 5, replyRST: true, terminal: true, useful: true}, state: StateReset},
		{name: "ACK returns the backlog slot", synSent: true, h: wu(frame.FlagACK, 0),
			want: recvDecision{ackSlot: true, useful: true}, state: StateOpen},
		{name: "second ACK changes nothing", synSent: true, setup: []frame.Header{wu(frame.FlagACK, 0)}, h: wu(frame.FlagACK, 0),
			want: recvDecision{}, state: StateOpen},
		{name: "tiny window update is not useful", h: wu(0, 1), want: recvDecision{}, state: StateOpen},
		{name: "window update", h: wu(0, 4096), want: recvDecision{useful: true}, state: StateOpen},
		{name: "window overflow", h: wu(0, 0xFFFFFFFF), err: errWindowOverflow, state: StateOpen},
		{name: "duplicate FIN", setup: []frame.Header{wu(frame.FlagFIN, 0)}, h: wu(frame.FlagFIN, 0),
			want: recvDecision{}, state: StateHalfClosedRecv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := hsEstablished
			if tt.synSent {
				hs = hsSynSent
			}
			st := decisionStream(t, hs)
			for _, h := range tt.setup {
				_, err := st.receiveHeader(h)
				if err != nil {
					t.Fatalf("setup %v: %v", h, err)
				}
			}
			d, err := st.receiveHeader(tt.h)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrProtocol) {
					t.Fatalf("receiveHeader(%v) error %v, want %v and ErrProtocol", tt.h, err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("receiveHeader(%v): %v", tt.h, err)
			}
			if err == nil && d != tt.want {
				t.Errorf("receiveHeader(%v) = %+v, want %+v", tt.h, d, tt.want)
			}
			if got := st.State(); got != tt.state {
				t.Errorf("state %v, want %v", got, tt.state)
			}
		})
	}
}

// TestStreamRecvEndFrame: the FIN of a DATA frame applies once its body
// is delivered, and the data is readable before the EOF.
func TestStreamRecvEndFrame(t *testing.T) {
	st := decisionStream(t, hsEstablished)
	h := frame.New(frame.TypeData, frame.FlagFIN, 1, 3)
	d, err := st.receiveHeader(h)
	if err != nil || d.deliver != 3 {
		t.Fatalf("receiveHeader = %+v, %v; want deliver 3", d, err)
	}
	st.deliver([]byte("abc"))
	if got := st.State(); got != StateOpen {
		t.Fatalf("state before endFrame %v, want Open", got)
	}
	if end := st.endFrame(h); end.terminal || !end.useful {
		t.Errorf("endFrame = %+v, want useful, not terminal", end)
	}
	if got := st.State(); got != StateHalfClosedRecv {
		t.Errorf("state after endFrame %v, want HalfClosedRecv", got)
	}
	if st.buf.Len() != 3 {
		t.Errorf("buffered %d, want 3", st.buf.Len())
	}
}

// TestStreamRecvResetCause: the reset cause decides what Read still gets.
func TestStreamRecvResetCause(t *testing.T) {
	st := decisionStream(t, hsEstablished)
	st.receiveHeader(frame.New(frame.TypeData, 0, 1, 3))
	st.deliver([]byte("abc"))
	st.receiveHeader(frame.New(frame.TypeWindowUpdate, frame.FlagRST, 1, 9))
	var se *StreamError
	if st.cause != causeRemoteReset || st.keepsData() || st.buf.Len() != 0 ||
		!errors.As(st.termErr, &se) || se.Code != 9 || !se.Remote {
		t.Errorf("after the peer's RST: cause %v, keepsData %v, buffered %d, termErr %v", st.cause, st.keepsData(), st.buf.Len(), st.termErr)
	}
}
