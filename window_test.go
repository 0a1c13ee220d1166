package yamux

import (
	"errors"
	"math"
	"testing"
	"time"
)

// Fixed times for the window tests: recvWindow takes time as an argument,
// so no clock is involved.
var (
	winT0  = time.Unix(1_700_000_000, 0)
	winRTT = 10 * time.Millisecond
)

// winGrow records the growth requests made by recvWindow.update and answers
// them with ok.
type winGrow struct {
	ok    bool
	calls []uint32
}

func (g *winGrow) fn(extra uint32) bool {
	g.calls = append(g.calls, extra)
	return g.ok
}

func noGrow(t testing.TB) func(uint32) bool {
	return func(extra uint32) bool {
		t.Helper()
		t.Errorf("grow(%d) called, want no growth request", extra)
		return false
	}
}

func TestRecvWindowReceive(t *testing.T) {
	tests := []struct {
		name    string
		n       []uint32
		wantErr bool
		granted uint32
	}{
		{"nothing", []uint32{0}, false, initialWindow},
		{"exactly granted", []uint32{initialWindow}, false, 0},
		{"granted in pieces", []uint32{1, initialWindow - 2, 1}, false, 0},
		{"granted+1", []uint32{initialWindow + 1}, true, initialWindow},
		{"one byte over after pieces", []uint32{initialWindow - 1, 2}, true, 1},
		{"zero at empty window", []uint32{initialWindow, 0}, false, 0},
		{"one at empty window", []uint32{initialWindow, 1}, true, 0},
		{"max uint32", []uint32{math.MaxUint32}, true, initialWindow},
	}
	for _, tt := range tests {
		w := newRecvWindow(initialWindow)
		var err error
		for _, n := range tt.n {
			if err = w.receive(n); err != nil {
				break
			}
		}
		if tt.wantErr && !errors.Is(err, ErrRecvWindowExceeded) {
			t.Errorf("%s: receive(%v) error = %v, want ErrRecvWindowExceeded", tt.name, tt.n, err)
		}
		if !tt.wantErr && err != nil {
			t.Errorf("%s: receive(%v) error = %v, want nil", tt.name, tt.n, err)
		}
		if w.granted != tt.granted {
			t.Errorf("%s: granted after receive(%v) = %d, want %d", tt.name, tt.n, w.granted, tt.granted)
		}
	}
}

// TestRecvWindowInitialLarger: a window configured above 256 KiB starts
// with only 256 KiB granted (the spec's initial window); the excess is the
// first update's credit, announced with the SYN or ACK.
func TestRecvWindowInitialLarger(t *testing.T) {
	w := newRecvWindow(4 * initialWindow)
	if w.granted != initialWindow {
		t.Fatalf("granted = %d, want %d", w.granted, initialWindow)
	}
	if got, want := w.update(0, time.Time{}, 0, 4*initialWindow, noGrow(t)), uint32(3*initialWindow); got != want {
		t.Fatalf("update(0) = %d, want %d", got, want)
	}
	if w.granted != 4*initialWindow {
		t.Fatalf("granted after update = %d, want %d", w.granted, 4*initialWindow)
	}
}

func TestRecvWindowUpdateThreshold(t *testing.T) {
	const half = initialWindow / 2
	tests := []struct {
		name     string
		received uint32
		buffered uint32 // of received, not read yet
		want     uint32
	}{
		{"nothing read", 0, 0, 0},
		{"one byte read", 1, 0, 0},
		{"just below half", half - 1, 0, 0},
		{"exactly half", half, 0, half},
		{"above half", half + 1, 0, half + 1},
		{"all read", initialWindow, 0, initialWindow},
		{"all received, none read", initialWindow, initialWindow, 0},
		{"all received, half read", initialWindow, half, half},
		{"all received, half-1 read", initialWindow, half + 1, 0},
		{"half received, unread", half, half, 0},
	}
	for _, tt := range tests {
		w := newRecvWindow(initialWindow)
		if err := w.receive(tt.received); err != nil {
			t.Fatalf("%s: receive(%d) error = %v", tt.name, tt.received, err)
		}
		got := w.update(tt.buffered, winT0, 0, initialWindow, noGrow(t))
		if got != tt.want {
			t.Errorf("%s: update(%d) = %d, want %d", tt.name, tt.buffered, got, tt.want)
		}
		if want := initialWindow - tt.received + got; w.granted != want {
			t.Errorf("%s: granted after update = %d, want %d", tt.name, w.granted, want)
		}
	}
}

// TestRecvWindowBatching: reading a half window in many small pieces yields
// exactly one update, when the half is reached.
func TestRecvWindowBatching(t *testing.T) {
	const piece = 1024
	w := newRecvWindow(initialWindow)
	if err := w.receive(initialWindow); err != nil {
		t.Fatal(err)
	}
	buffered := uint32(initialWindow)
	var updates []uint32
	for i := 1; buffered > 0; i++ {
		buffered -= piece
		if d := w.update(buffered, winT0, 0, initialWindow, noGrow(t)); d != 0 {
			updates = append(updates, d)
			if read := uint32(i * piece); read != initialWindow/2 && read != initialWindow {
				t.Errorf("update after reading %d bytes, want at %d or %d", read, initialWindow/2, initialWindow)
			}
		}
	}
	want := []uint32{initialWindow / 2, initialWindow / 2}
	if len(updates) != len(want) || updates[0] != want[0] || updates[1] != want[1] {
		t.Fatalf("updates while reading %d bytes in %d-byte pieces = %v, want %v", initialWindow, piece, updates, want)
	}
	if w.granted != initialWindow {
		t.Fatalf("granted after reading everything = %d, want %d", w.granted, initialWindow)
	}
}

// TestRecvWindowCreditExcludesBuffered: bytes received but unread are not
// credited back; once read, they are.
func TestRecvWindowCreditExcludesBuffered(t *testing.T) {
	w := newRecvWindow(initialWindow)
	const n = 200 * 1024
	if err := w.receive(n); err != nil {
		t.Fatal(err)
	}
	if got := w.update(n, winT0, 0, initialWindow, noGrow(t)); got != 0 {
		t.Fatalf("update(%d buffered) = %d, want 0", n, got)
	}
	if got := w.update(n-50*1024, winT0, 0, initialWindow, noGrow(t)); got != 0 {
		t.Fatalf("update(%d buffered) = %d, want 0 (only 50 KiB read)", n-50*1024, got)
	}
	if got, want := w.update(n-150*1024, winT0, 0, initialWindow, noGrow(t)), uint32(150*1024); got != want {
		t.Fatalf("update(%d buffered) = %d, want %d", n-150*1024, got, want)
	}
	if got := w.update(0, winT0, 0, initialWindow, noGrow(t)); got != 0 {
		t.Fatalf("update(0 buffered) = %d, want 0 (50 KiB read since: below half)", got)
	}
	if w.granted != initialWindow-n+150*1024 {
		t.Fatalf("granted = %d, want %d", w.granted, initialWindow-n+150*1024)
	}
}

// drainAndUpdate simulates the peer filling the whole granted window and
// the application reading all of it, then asks for an update at now.
func drainAndUpdate(t testing.TB, w *recvWindow, now time.Time, rtt time.Duration, maxWin uint32, grow func(uint32) bool) uint32 {
	t.Helper()
	if err := w.receive(w.granted); err != nil {
		t.Fatalf("receive(granted) error = %v", err)
	}
	return w.update(0, now, rtt, maxWin, grow)
}

func TestRecvWindowAutoTune(t *testing.T) {
	const maxWin = 16 * initialWindow

	t.Run("doubles when due within 4 RTT", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		g := &winGrow{ok: true}
		if got := drainAndUpdate(t, &w, winT0, winRTT, maxWin, g.fn); got != initialWindow {
			t.Fatalf("first update(...) = %d, want %d", got, initialWindow)
		}
		if len(g.calls) != 0 {
			t.Fatalf("first update: grow calls = %v, want none (zero epoch)", g.calls)
		}
		now := winT0.Add(4*winRTT - time.Nanosecond)
		if got, want := drainAndUpdate(t, &w, now, winRTT, maxWin, g.fn), uint32(2*initialWindow); got != want {
			t.Fatalf("update(...) = %d, want %d", got, want)
		}
		if len(g.calls) != 1 || g.calls[0] != initialWindow {
			t.Fatalf("grow calls = %v, want [%d]", g.calls, initialWindow)
		}
		if w.size != 2*initialWindow || w.granted != 2*initialWindow {
			t.Fatalf("size, granted = %d, %d; want %d, %d", w.size, w.granted, 2*initialWindow, 2*initialWindow)
		}
		if w.epoch != epochOf(now) {
			t.Fatalf("epoch = %v, want %v", w.epoch, epochOf(now))
		}
	})

	t.Run("keeps size at 4 RTT or later", func(t *testing.T) {
		for _, gap := range []time.Duration{4 * winRTT, 4*winRTT + time.Nanosecond, time.Hour} {
			w := newRecvWindow(initialWindow)
			drainAndUpdate(t, &w, winT0, winRTT, maxWin, noGrow(t))
			if got := drainAndUpdate(t, &w, winT0.Add(gap), winRTT, maxWin, noGrow(t)); got != initialWindow {
				t.Errorf("update(...) %v after the previous = %d, want %d", gap, got, initialWindow)
			}
			if w.size != initialWindow {
				t.Errorf("size after update %v later = %d, want %d", gap, w.size, initialWindow)
			}
		}
	})

	t.Run("no growth when grow refuses", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		g := &winGrow{ok: false}
		drainAndUpdate(t, &w, winT0, winRTT, maxWin, g.fn)
		if got := drainAndUpdate(t, &w, winT0.Add(winRTT), winRTT, maxWin, g.fn); got != initialWindow {
			t.Fatalf("update(...) = %d, want %d", got, initialWindow)
		}
		if len(g.calls) != 1 || g.calls[0] != initialWindow {
			t.Fatalf("grow calls = %v, want [%d]", g.calls, initialWindow)
		}
		if w.size != initialWindow {
			t.Fatalf("size = %d, want %d", w.size, initialWindow)
		}
	})

	t.Run("no growth with rtt 0", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		drainAndUpdate(t, &w, winT0, 0, maxWin, noGrow(t))
		if got := drainAndUpdate(t, &w, winT0, 0, maxWin, noGrow(t)); got != initialWindow {
			t.Fatalf("update(...) = %d, want %d", got, initialWindow)
		}
		if w.size != initialWindow {
			t.Fatalf("size = %d, want %d", w.size, initialWindow)
		}
	})

	t.Run("no growth on first update", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		// Even with a "now" equal to the zero epoch plus less than 4 RTT.
		if got := drainAndUpdate(t, &w, time.Time{}.Add(winRTT), winRTT, maxWin, noGrow(t)); got != initialWindow {
			t.Fatalf("update(...) = %d, want %d", got, initialWindow)
		}
		if w.size != initialWindow {
			t.Fatalf("size = %d, want %d", w.size, initialWindow)
		}
	})

	t.Run("no update below half does not move the epoch", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		drainAndUpdate(t, &w, winT0, winRTT, maxWin, noGrow(t))
		if err := w.receive(1); err != nil {
			t.Fatal(err)
		}
		if got := w.update(0, winT0.Add(time.Hour), winRTT, maxWin, noGrow(t)); got != 0 {
			t.Fatalf("update(...) = %d, want 0", got)
		}
		if w.epoch != epochOf(winT0) {
			t.Fatalf("epoch = %v, want %v (unchanged without an update)", w.epoch, epochOf(winT0))
		}
	})

	t.Run("caps at max", func(t *testing.T) {
		const capped = initialWindow + initialWindow/2 // not a power-of-two multiple
		w := newRecvWindow(initialWindow)
		g := &winGrow{ok: true}
		now := winT0
		drainAndUpdate(t, &w, now, winRTT, capped, g.fn)
		now = now.Add(winRTT)
		if got := drainAndUpdate(t, &w, now, winRTT, capped, g.fn); got != capped {
			t.Fatalf("update(...) = %d, want %d", got, capped)
		}
		if len(g.calls) != 1 || g.calls[0] != capped-initialWindow {
			t.Fatalf("grow calls = %v, want [%d]", g.calls, capped-initialWindow)
		}
		// At max: no further growth request.
		now = now.Add(winRTT)
		if got := drainAndUpdate(t, &w, now, winRTT, capped, noGrow(t)); got != capped {
			t.Fatalf("update(...) at max = %d, want %d", got, capped)
		}
		if w.size != capped {
			t.Fatalf("size = %d, want %d", w.size, capped)
		}
	})

	t.Run("doubles up to max step by step", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		g := &winGrow{ok: true}
		now := winT0
		drainAndUpdate(t, &w, now, winRTT, maxWin, g.fn)
		want := uint32(initialWindow)
		for range 10 {
			now = now.Add(winRTT)
			want = min(2*want, maxWin)
			if got := drainAndUpdate(t, &w, now, winRTT, maxWin, g.fn); got != want {
				t.Fatalf("update(...) = %d, want %d", got, want)
			}
		}
		if w.size != maxWin {
			t.Fatalf("size = %d, want %d", w.size, maxWin)
		}
		var total uint64
		for _, c := range g.calls {
			total += uint64(c)
		}
		if total != maxWin-initialWindow {
			t.Fatalf("sum of grow requests = %d, want %d", total, maxWin-initialWindow)
		}
	})

	t.Run("growth credit excludes buffered", func(t *testing.T) {
		w := newRecvWindow(initialWindow)
		g := &winGrow{ok: true}
		drainAndUpdate(t, &w, winT0, winRTT, maxWin, g.fn)
		if err := w.receive(initialWindow); err != nil {
			t.Fatal(err)
		}
		const unread = 100 * 1024
		got := w.update(unread, winT0.Add(winRTT), winRTT, maxWin, g.fn)
		if want := uint32(2*initialWindow - unread); got != want {
			t.Fatalf("update(%d) = %d, want %d", unread, got, want)
		}
	})
}

func TestAddSendWindow(t *testing.T) {
	tests := []struct {
		window, delta uint32
		want          uint32
		wantErr       bool
	}{
		{0, 0, 0, false},
		{initialWindow, 0, initialWindow, false},
		{initialWindow, initialWindow, 2 * initialWindow, false},
		{math.MaxUint32 - 10, 10, math.MaxUint32, false},
		{math.MaxUint32 - 10, 11, math.MaxUint32 - 10, true},
		{0, math.MaxUint32, math.MaxUint32, false},
		{1, math.MaxUint32, 1, true},
		{math.MaxUint32, 0, math.MaxUint32, false},
		{math.MaxUint32, 1, math.MaxUint32, true},
		{math.MaxUint32, math.MaxUint32, math.MaxUint32, true},
		{1 << 31, 1 << 31, 1 << 31, true},
		{1 << 31, 1<<31 - 1, math.MaxUint32, false},
	}
	for _, tt := range tests {
		got, err := addSendWindow(tt.window, tt.delta)
		if got != tt.want {
			t.Errorf("addSendWindow(%d, %d) = %d, want %d", tt.window, tt.delta, got, tt.want)
		}
		switch {
		case tt.wantErr && !errors.Is(err, errWindowOverflow):
			t.Errorf("addSendWindow(%d, %d) error = %v, want errWindowOverflow", tt.window, tt.delta, err)
		case !tt.wantErr && err != nil:
			t.Errorf("addSendWindow(%d, %d) error = %v, want nil", tt.window, tt.delta, err)
		}
	}
}

// TestWindowCeiling: a stream's window may grow to MaxStreamWindowSize
// while few streams move data, and to no more than the initial window plus
// an equal share of MaxSessionReceiveBuffer when many do, so that streams
// moving data together keep windows of one size.
func TestWindowCeiling(t *testing.T) {
	cfg := withDefaults(DefaultConfig())
	cfg.MaxSessionReceiveBuffer = 64 << 20
	cfg.MaxStreamWindowSize = 16 << 20
	s := &Session{config: cfg}
	for _, c := range []struct {
		busy int32
		want uint32
	}{
		{0, 16 << 20},
		{1, 16 << 20},
		{4, 16 << 20},           // 256 KiB + 16 MiB, capped
		{8, 256<<10 + 8<<20},    // a share of 8 MiB
		{64, 256<<10 + 1<<20},   // a share of 1 MiB
		{1 << 20, 256<<10 + 64}, // a tiny share: about the initial window
	} {
		s.busy.Store(c.busy)
		if got := s.windowCeiling(); got != c.want {
			t.Errorf("%d busy streams: ceiling %d, want %d", c.busy, got, c.want)
		}
	}
}
