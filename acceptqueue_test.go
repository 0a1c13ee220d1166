package yamux

import "testing"

// The accept queue on its own.

// len is the number of streams waiting.
func (q *acceptQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

func TestAcceptQueueOrderAndLimit(t *testing.T) {
	var q acceptQueue
	q.init(3)
	streams := []*Stream{{id: 2}, {id: 4}, {id: 6}, {id: 8}}
	for i, st := range streams {
		if got, want := q.push(st), i < 3; got != want {
			t.Fatalf("push %d with %d waiting = %v, want %v", st.id, i, got, want)
		}
	}
	if n := q.len(); n != 3 {
		t.Fatalf("len = %d, want 3", n)
	}
	if !q.full() {
		t.Fatal("full() with 3 of 3 waiting = false, want true")
	}
	for _, want := range streams[:3] {
		if got := q.pop(); got != want {
			t.Fatalf("pop = %v, want stream %d (FIFO)", got, want.id)
		}
	}
	if st := q.pop(); st != nil {
		t.Fatalf("pop of an empty queue = stream %d, want nil", st.id)
	}
	if q.full() {
		t.Fatal("full() of a drained queue = true, want false")
	}
	if !q.push(streams[3]) {
		t.Fatal("push after the queue drained = false, want room again")
	}
}

// TestAcceptQueueWakeups: a push wakes one waiting taker; a taker that
// leaves streams behind passes the wake-up on, so concurrent AcceptStream
// calls each get one.
func TestAcceptQueueWakeups(t *testing.T) {
	var q acceptQueue
	q.init(10)
	q.push(&Stream{id: 2})
	q.push(&Stream{id: 4})
	select {
	case <-q.ready:
	default:
		t.Fatal("no wake-up after a push")
	}
	if q.pop() == nil {
		t.Fatal("pop = nil with two waiting")
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("a pop that left a stream behind did not pass the wake-up on")
	}
	q.pop()
	select {
	case <-q.ready:
		t.Fatal("a wake-up left with nothing waiting")
	default:
	}
}

// TestAcceptQueueMemoryFollowsUse: the queue holds nothing for its bound,
// and lets go of a burst's array once drained.
func TestAcceptQueueMemoryFollowsUse(t *testing.T) {
	var q acceptQueue
	q.init(1 << 15)
	if cap(q.items) != 0 {
		t.Fatalf("new queue holds %d slots, want none", cap(q.items))
	}
	for i := range 1000 {
		q.push(&Stream{id: uint32(2 * (i + 1))})
	}
	for q.pop() != nil {
	}
	if c := cap(q.items); c > keptQueueCap {
		t.Fatalf("drained queue keeps %d slots, want at most %d", c, keptQueueCap)
	}
}

// TestAcceptQueueMemoryUnderSteadyLoad: streams arriving as fast as they
// are accepted, with a few always waiting, keep the queue from emptying;
// its memory must follow the streams waiting, not those that ever passed.
func TestAcceptQueueMemoryUnderSteadyLoad(t *testing.T) {
	var q acceptQueue
	q.init(1 << 15)
	const waiting = 10
	id := uint32(0)
	next := func() *Stream { id += 2; return &Stream{id: id} }
	for range waiting {
		q.push(next())
	}
	maxCap := 0
	for range 100_000 {
		q.push(next())
		if q.pop() == nil {
			t.Fatal("pop of a queue with streams waiting = nil")
		}
		maxCap = max(maxCap, cap(q.items))
	}
	if n := q.len(); n != waiting {
		t.Fatalf("len = %d, want %d: the test no longer keeps the queue busy", n, waiting)
	}
	if maxCap > 4*(waiting+1) {
		t.Fatalf("queue capacity reached %d slots with %d streams waiting, want at most %d", maxCap, waiting+1, 4*(waiting+1))
	}
}

func TestReclaimSpent(t *testing.T) {
	for _, tt := range []struct {
		name           string
		len, cap, head int
		wantLen        int // after the call; wantLen < len means moved down
	}{
		{"nothing spent", 4, 4, 0, 4},
		{"room left", 4, 8, 3, 4},
		{"room left, all spent", 4, 8, 4, 0},
		{"full, under half spent", 8, 8, 3, 8},
		{"full, half spent", 8, 8, 4, 4},
		{"full, all but one spent", 8, 8, 7, 1},
	} {
		items := make([]*int, tt.len, tt.cap)
		for i := range items {
			v := i
			items[i] = &v
		}
		for i := range tt.head {
			items[i] = nil
		}
		got, head := reclaimSpent(items, tt.head)
		if len(got) != tt.wantLen {
			t.Errorf("%s: len after = %d, want %d", tt.name, len(got), tt.wantLen)
			continue
		}
		if tt.wantLen == tt.len {
			if head != tt.head {
				t.Errorf("%s: head = %d, want %d (untouched)", tt.name, head, tt.head)
			}
			continue
		}
		if head != 0 {
			t.Errorf("%s: head after moving = %d, want 0", tt.name, head)
		}
		for i, p := range got {
			if p == nil || *p != tt.head+i {
				t.Errorf("%s: entry %d = %v, want the live entry %d", tt.name, i, p, tt.head+i)
			}
		}
		for i, p := range got[:cap(got)][len(got):] {
			if p != nil {
				t.Errorf("%s: slot %d past the live entries still holds %d", tt.name, len(got)+i, *p)
			}
		}
	}
}
