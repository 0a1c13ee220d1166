package yamux

import "testing"

// TestTurnMeter: a direction is shared for the turn after one in which
// frames of more than one stream went by, and only then.
func TestTurnMeter(t *testing.T) {
	const f = 64 * 1024 // four frames make a turn
	var m turnMeter
	feed := func(ids ...uint32) {
		for _, id := range ids {
			m.frame(id, f)
		}
	}
	feed(1, 1, 1, 1)
	if m.shared.Load() {
		t.Fatal("one stream's first turn made the direction shared")
	}
	feed(1, 3, 1, 3)
	if !m.shared.Load() {
		t.Fatal("a turn of two streams' frames did not make the direction shared")
	}
	feed(3, 3, 3)
	if !m.shared.Load() {
		t.Fatal("shared changed before the turn ended")
	}
	feed(3)
	if m.shared.Load() {
		t.Fatal("a turn of one stream's frames left the direction shared")
	}
	// A switch at a turn's boundary counts in the turn it starts.
	feed(5, 5, 5, 5)
	if !m.shared.Load() {
		t.Fatal("a turn that began with another stream's frame did not count as shared")
	}
	// Small frames add up to a turn like large ones.
	for range turnBytes / 128 {
		m.frame(5, 128)
	}
	if m.shared.Load() {
		t.Fatal("a turn of one stream's small frames left the direction shared")
	}
}

// TestTurnDone: a goroutine's run ends after turnBytes and restarts; it
// yields at the end only if the direction is shared.
func TestTurnDone(t *testing.T) {
	var m turnMeter
	var run uint32
	if turnDone(&run, turnBytes-1, &m) || run != turnBytes-1 {
		t.Fatalf("run %d: a turn ended early", run)
	}
	if turnDone(&run, 1, &m) || run != 0 {
		t.Fatalf("run %d after a turn of an unshared direction, want 0 and no yield", run)
	}
	m.shared.Store(true)
	if turnDone(&run, turnBytes/2, &m) {
		t.Fatal("half a turn yielded")
	}
	if !turnDone(&run, turnBytes/2, &m) || run != 0 {
		t.Fatalf("run %d after a turn of a shared direction, want 0 and a yield", run)
	}
	if !turnDone(&run, 3*turnBytes, &m) || run != 0 {
		t.Fatal("a Write of several turns at once did not end its turn")
	}
}
