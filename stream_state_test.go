package yamux

import (
	"errors"
	"testing"
)

// allStates and allEvents list every value of the two enums, in order.
var (
	allStates = []StreamState{StateOpen, StateHalfClosedSend, StateHalfClosedRecv, StateFullyClosed, StateReset}
	allEvents = []streamEvent{evSendFIN, evRecvFIN, evSendRST, evRecvRST, evSessionClosed}
)

// transitionTable is spec.md §3.6 written out: all 25 (state, event) pairs.
var transitionTable = []struct {
	from    StreamState
	ev      streamEvent
	want    StreamState
	wantErr bool
}{
	{StateOpen, evSendFIN, StateHalfClosedSend, false},
	{StateOpen, evRecvFIN, StateHalfClosedRecv, false},
	{StateOpen, evSendRST, StateReset, false},
	{StateOpen, evRecvRST, StateReset, false},
	{StateOpen, evSessionClosed, StateReset, false},

	{StateHalfClosedSend, evSendFIN, StateHalfClosedSend, true}, // second local FIN
	{StateHalfClosedSend, evRecvFIN, StateFullyClosed, false},
	{StateHalfClosedSend, evSendRST, StateReset, false},
	{StateHalfClosedSend, evRecvRST, StateReset, false},
	{StateHalfClosedSend, evSessionClosed, StateReset, false},

	{StateHalfClosedRecv, evSendFIN, StateFullyClosed, false},
	{StateHalfClosedRecv, evRecvFIN, StateHalfClosedRecv, false}, // duplicate FIN ignored
	{StateHalfClosedRecv, evSendRST, StateReset, false},
	{StateHalfClosedRecv, evRecvRST, StateReset, false},
	{StateHalfClosedRecv, evSessionClosed, StateReset, false},

	{StateFullyClosed, evSendFIN, StateFullyClosed, true}, // second local FIN
	{StateFullyClosed, evRecvFIN, StateFullyClosed, false},
	{StateFullyClosed, evSendRST, StateFullyClosed, false},
	{StateFullyClosed, evRecvRST, StateFullyClosed, false},
	{StateFullyClosed, evSessionClosed, StateFullyClosed, false},

	{StateReset, evSendFIN, StateReset, false},
	{StateReset, evRecvFIN, StateReset, false},
	{StateReset, evSendRST, StateReset, false},
	{StateReset, evRecvRST, StateReset, false},
	{StateReset, evSessionClosed, StateReset, false},
}

func TestStreamStateNextTable(t *testing.T) {
	for _, tt := range transitionTable {
		got, err := tt.from.next(tt.ev)
		if got != tt.want {
			t.Errorf("%v.next(%v) = %v, want %v", tt.from, tt.ev, got, tt.want)
		}
		switch {
		case tt.wantErr && !errors.Is(err, errInvalidTransition):
			t.Errorf("%v.next(%v) error = %v, want errInvalidTransition", tt.from, tt.ev, err)
		case !tt.wantErr && err != nil:
			t.Errorf("%v.next(%v) error = %v, want nil", tt.from, tt.ev, err)
		}
	}
}

func TestStreamStateTableCoversEveryPair(t *testing.T) {
	if got, want := len(allEvents), int(numEvents); got != want {
		t.Fatalf("allEvents has %d events, want numEvents = %d", got, want)
	}
	if got, want := len(allStates), len(stateNames); got != want {
		t.Fatalf("allStates has %d states, want %d (stateNames)", got, want)
	}
	type pair struct {
		s  StreamState
		ev streamEvent
	}
	seen := make(map[pair]int)
	for _, tt := range transitionTable {
		seen[pair{tt.from, tt.ev}]++
	}
	for s := StreamState(0); int(s) < len(stateNames); s++ {
		for ev := streamEvent(0); ev < numEvents; ev++ {
			if n := seen[pair{s, ev}]; n != 1 {
				t.Errorf("table has %d rows for (%v, %v), want 1", n, s, ev)
			}
		}
	}
	if got, want := len(transitionTable), len(stateNames)*int(numEvents); got != want {
		t.Errorf("table has %d rows, want %d", got, want)
	}
}

// TestStreamStateNextOutOfRange checks that next stays total: values outside
// the enums are rejected without changing the state, never panic.
func TestStreamStateNextOutOfRange(t *testing.T) {
	for _, s := range allStates {
		got, err := s.next(numEvents)
		if got != s || !errors.Is(err, errInvalidTransition) {
			t.Errorf("%v.next(%d) = %v, %v; want %v, errInvalidTransition", s, uint8(numEvents), got, err, s)
		}
	}
	bad := StreamState(len(stateNames))
	for _, ev := range allEvents {
		got, err := bad.next(ev)
		if got != bad || !errors.Is(err, errInvalidTransition) {
			t.Errorf("StreamState(%d).next(%v) = %v, %v; want unchanged, errInvalidTransition", uint8(bad), ev, got, err)
		}
	}
}

// TestStreamStateDiagramEdges walks each edge of the seed's diagram.
func TestStreamStateDiagramEdges(t *testing.T) {
	tests := []struct {
		name string
		from StreamState
		evs  []streamEvent
		want StreamState
	}{
		{"Open->HalfClosedSend on sendFIN", StateOpen, []streamEvent{evSendFIN}, StateHalfClosedSend},
		{"Open->HalfClosedRecv on recvFIN", StateOpen, []streamEvent{evRecvFIN}, StateHalfClosedRecv},
		{"Open->Reset on sendRST", StateOpen, []streamEvent{evSendRST}, StateReset},
		{"Open->Reset on recvRST", StateOpen, []streamEvent{evRecvRST}, StateReset},
		{"HalfClosedSend->FullyClosed on recvFIN", StateHalfClosedSend, []streamEvent{evRecvFIN}, StateFullyClosed},
		{"HalfClosedRecv->FullyClosed on sendFIN", StateHalfClosedRecv, []streamEvent{evSendFIN}, StateFullyClosed},
		// "Open -> FullyClosed: both send FIN simultaneously" is the
		// composition of the two FIN events, in either order (spec.md §3.6).
		{"Open->FullyClosed, our FIN seen first", StateOpen, []streamEvent{evSendFIN, evRecvFIN}, StateFullyClosed},
		{"Open->FullyClosed, peer FIN seen first", StateOpen, []streamEvent{evRecvFIN, evSendFIN}, StateFullyClosed},
		// Session end: every stream not FullyClosed becomes Reset.
		{"HalfClosedSend->Reset on sessionClosed", StateHalfClosedSend, []streamEvent{evSessionClosed}, StateReset},
		{"HalfClosedRecv->Reset on sessionClosed", StateHalfClosedRecv, []streamEvent{evSessionClosed}, StateReset},
		{"FullyClosed stays on sessionClosed", StateFullyClosed, []streamEvent{evSessionClosed}, StateFullyClosed},
	}
	for _, tt := range tests {
		s := tt.from
		for _, ev := range tt.evs {
			next, err := s.next(ev)
			if err != nil {
				t.Errorf("%s: %v.next(%v) error = %v, want nil", tt.name, s, ev, err)
			}
			s = next
		}
		if s != tt.want {
			t.Errorf("%s: %v after %v = %v, want %v", tt.name, tt.from, tt.evs, s, tt.want)
		}
	}
}

// TestStreamStateTerminalAbsorbs checks that no sequence of events leaves a
// terminal state.
func TestStreamStateTerminalAbsorbs(t *testing.T) {
	for _, s := range allStates {
		if !s.terminal() {
			continue
		}
		for _, ev := range allEvents {
			if got, _ := s.next(ev); got != s {
				t.Errorf("terminal %v.next(%v) = %v, want %v", s, ev, got, s)
			}
		}
	}
}

func TestStreamStateString(t *testing.T) {
	tests := []struct {
		s    StreamState
		want string
	}{
		{StateOpen, "Open"},
		{StateHalfClosedSend, "HalfClosedSend"},
		{StateHalfClosedRecv, "HalfClosedRecv"},
		{StateFullyClosed, "FullyClosed"},
		{StateReset, "Reset"},
		{5, "StreamState(5)"},
		{255, "StreamState(255)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("StreamState(%d).String() = %q, want %q", uint8(tt.s), got, tt.want)
		}
	}
}

func TestStreamEventString(t *testing.T) {
	tests := []struct {
		ev   streamEvent
		want string
	}{
		{evSendFIN, "sendFIN"},
		{evRecvFIN, "recvFIN"},
		{evSendRST, "sendRST"},
		{evRecvRST, "recvRST"},
		{evSessionClosed, "sessionClosed"},
		{numEvents, "streamEvent(5)"},
		{200, "streamEvent(200)"},
	}
	for _, tt := range tests {
		if got := tt.ev.String(); got != tt.want {
			t.Errorf("streamEvent(%d).String() = %q, want %q", uint8(tt.ev), got, tt.want)
		}
	}
}

func TestStreamStatePredicates(t *testing.T) {
	tests := []struct {
		s                         StreamState
		terminal, canSend, canRcv bool
	}{
		{StateOpen, false, true, true},
		{StateHalfClosedSend, false, false, true},
		{StateHalfClosedRecv, false, true, false},
		{StateFullyClosed, true, false, false},
		{StateReset, true, false, false},
	}
	if len(tests) != len(allStates) {
		t.Fatalf("predicate table has %d states, want %d", len(tests), len(allStates))
	}
	for _, tt := range tests {
		if got := tt.s.terminal(); got != tt.terminal {
			t.Errorf("%v.terminal() = %v, want %v", tt.s, got, tt.terminal)
		}
		if got := tt.s.canSend(); got != tt.canSend {
			t.Errorf("%v.canSend() = %v, want %v", tt.s, got, tt.canSend)
		}
		if got := tt.s.canRecv(); got != tt.canRcv {
			t.Errorf("%v.canRecv() = %v, want %v", tt.s, got, tt.canRcv)
		}
	}
}
