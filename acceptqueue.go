package yamux

import "sync"

// acceptQueue holds the inbound streams waiting for AcceptStream, in the
// order they arrived, up to AcceptBacklog of them (beyond, the receive loop
// refuses SYNs). Its memory follows what waits, not the configured bound:
// a channel of AcceptBacklog slots was allocated and zeroed by every new
// session (256 KiB per session at a backlog of 32,768, which showed as a
// fifth of a dial's CPU time), while most sessions never have more than a
// few streams waiting. No goroutine; safe for concurrent use.
type acceptQueue struct {
	mu    sync.Mutex
	items []*Stream // waiting streams are items[head:]
	head  int
	limit int
	// ready wakes one waiting AcceptStream (1-buffered); a taker that
	// leaves streams behind passes the wake-up on.
	ready chan struct{}
}

// keptQueueCap is the backing array an empty queue keeps; a larger one
// (after a burst) is dropped.
const keptQueueCap = 64

func (q *acceptQueue) init(limit int) {
	q.limit = limit
	q.ready = make(chan struct{}, 1)
}

// push queues st and reports whether there was room.
func (q *acceptQueue) push(st *Stream) bool {
	q.mu.Lock()
	if len(q.items)-q.head >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items, q.head = reclaimSpent(q.items, q.head)
	q.items = append(q.items, st)
	q.mu.Unlock()
	notify(q.ready)
	return true
}

// full reports whether push would refuse a stream now.
func (q *acceptQueue) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)-q.head >= q.limit
}

// pop takes the oldest waiting stream, nil if none.
func (q *acceptQueue) pop() *Stream {
	q.mu.Lock()
	if q.head == len(q.items) {
		q.mu.Unlock()
		return nil
	}
	st := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	more := q.head < len(q.items)
	if !more {
		q.head = 0
		if cap(q.items) > keptQueueCap {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
	}
	q.mu.Unlock()
	if more {
		notify(q.ready) // another AcceptStream may take the next one
	}
	return st
}
