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
	for _, want := range streams[:3] {
		if got := q.pop(); got != want {
			t.Fatalf("pop = %v, want stream %d (FIFO)", got, want.id)
		}
	}
	if st := q.pop(); st != nil {
		t.Fatalf("pop of an empty queue = stream %d, want nil", st.id)
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
