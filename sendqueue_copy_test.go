package yamux

import (
	"bytes"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Frames above smallWriteMax are copied into the ring without the lock
// (sendQueue.copyUnlocked). These tests hold such a copy in progress
// between beginCopyLocked and endCopyLocked, as a copier descheduled in
// the middle of its copy would.

// pendingCopy is a bulk frame reserved and begun, not yet copied.
type pendingCopy struct {
	q       *sendQueue
	start   uint64
	ring    []byte
	h       frame.Header
	payload []byte
}

func beginBulkCopy(t *testing.T, q *sendQueue, id uint32, payload []byte) *pendingCopy {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	start, _, ok := q.reserveLocked(len(payload))
	if !ok {
		t.Fatalf("stream %d: no room for %d bytes", id, len(payload))
	}
	return &pendingCopy{q: q, start: start, ring: q.beginCopyLocked(start), h: dataHeader(id, payload), payload: payload}
}

// finish copies the frame and publishes it, as copyUnlocked does.
func (c *pendingCopy) finish() {
	copyIntoRing(c.ring, c.start, c.h[:], c.payload)
	c.q.mu.Lock()
	c.q.endCopyLocked(c.start)
	c.q.mu.Unlock()
}

func patternPayload(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i%251)
	}
	return p
}

// TestSendQueueCopyInProgress: while a bulk frame is being copied, other
// frames queue without waiting for it, control frames still leave, and
// nothing queued behind the copy (ring or lane) is written before it.
func TestSendQueueCopyInProgress(t *testing.T) {
	q := newTestQueue()
	bulk := patternPayload(4*smallWriteMax, 1)
	c := beginBulkCopy(t, q, 1, bulk)

	// The lock is free: a small frame and stream 1's FIN queue at once.
	copySmall(t, q, 3, []byte("small"))
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0))
	q.mu.Lock()
	empty := q.emptyLocked()
	q.mu.Unlock()
	if !empty {
		t.Fatal("frames behind a copy in progress are offered to writers")
	}
	if _, ok := q.take(nil, nil); ok {
		t.Fatal("a batch taken with only frames behind a copy in progress")
	}

	// A control frame is not held up by it.
	q.control(frame.New(frame.TypePing, frame.FlagSYN, 0, 7), notReply)
	hs, _ := frames(t, drain(t, q))
	if len(hs) != 1 || hs[0].Type() != frame.TypePing {
		t.Fatalf("batch during the copy %v, want the PING alone", hs)
	}

	c.finish()
	hs, bodies := frames(t, drain(t, q))
	if len(hs) != 3 {
		t.Fatalf("batch after the copy: %v, want 3 frames", hs)
	}
	if hs[0].StreamID() != 1 || !bytes.Equal(bodies[0], bulk) {
		t.Fatal("the bulk frame is not first, or not intact")
	}
	if hs[1].StreamID() != 3 || string(bodies[1]) != "small" {
		t.Fatalf("second frame %v %q, want stream 3's small frame", hs[1], bodies[1])
	}
	if hs[2].StreamID() != 1 || hs[2].Flags() != frame.FlagFIN {
		t.Fatalf("third frame %v, want stream 1's FIN behind its DATA", hs[2])
	}
	if q.ring != nil {
		t.Fatal("the ring is still held after it drained")
	}
}

// TestSendQueueCopiesPublishInOrder: copies finishing out of order are
// written in the order their room was reserved, and each becomes visible
// only when every copy ahead of it is complete.
func TestSendQueueCopiesPublishInOrder(t *testing.T) {
	q := newTestQueue()
	a, b := patternPayload(2*smallWriteMax, 10), patternPayload(3*smallWriteMax, 20)
	ca := beginBulkCopy(t, q, 1, a)
	cb := beginBulkCopy(t, q, 3, b)
	cb.finish()
	if got := drain(t, q); got != nil {
		t.Fatalf("%d bytes written while the first copy is in progress", len(got))
	}
	ca.finish()
	hs, bodies := frames(t, drain(t, q))
	if len(hs) != 2 || hs[0].StreamID() != 1 || hs[1].StreamID() != 3 ||
		!bytes.Equal(bodies[0], a) || !bytes.Equal(bodies[1], b) {
		t.Fatalf("frames %v, want stream 1's then stream 3's, intact", hs)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.copies) != 0 || q.copiesHead != 0 {
		t.Fatalf("copy records left: %d from %d", len(q.copies), q.copiesHead)
	}
}

// TestSendQueueRequestBehindCopy: a writer whose request queued behind a
// copy in progress gives the role up instead of waiting (or spinning) for
// it; the copier hands the request on when it publishes.
func TestSendQueueRequestBehindCopy(t *testing.T) {
	q := newTestQueue()
	c := beginBulkCopy(t, q, 1, patternPayload(4*smallWriteMax, 3))
	var r sendReq
	q.mu.Lock()
	write := q.requestLocked(&r, dataHeader(5, make([]byte, smallWriteMax+1)), make([]byte, smallWriteMax+1), nil)
	q.mu.Unlock()
	if !write {
		t.Fatal("the free writer role was not given to the request's owner")
	}
	if _, ok := q.take(nil, nil); ok {
		t.Fatal("a batch taken behind a copy in progress")
	}
	if q.leave(&r, false) {
		t.Fatal("the request's owner keeps the role while a copy it cannot pass is in progress")
	}
	if q.writing {
		t.Fatal("the role is still held")
	}
	drainReady(q)
	c.finish()
	q.mu.Lock()
	direct, wake := q.settleLocked(false)
	q.mu.Unlock()
	if direct || !wake {
		t.Fatalf("after the copy: direct %v, wake %v; want the send loop woken", direct, wake)
	}
	if !q.acquire() {
		t.Fatal("the send loop finds nothing to write")
	}
	hs, _ := frames(t, drain(t, q))
	if len(hs) != 2 || hs[0].StreamID() != 1 || hs[1].StreamID() != 5 {
		t.Fatalf("frames %v, want the copied frame, then the request", hs)
	}
	if r.state != reqDone {
		t.Fatalf("request state %d, want written", r.state)
	}
}

func drainReady(q *sendQueue) {
	select {
	case <-q.ready:
	default:
	}
}

// TestSendQueueFinalWriteWaitsForCopy: a frame whose Write was told it is
// queued goes out in Close's final write even if its copy was still in
// progress when the session began to close.
func TestSendQueueFinalWriteWaitsForCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newTestQueue()
		bulk := patternPayload(4*smallWriteMax, 5)
		c := beginBulkCopy(t, q, 1, bulk)
		q.finish(shutdownFlush, CodeNormal)
		drainReady(q) // finish's own wake-up
		got := make(chan sendBatch, 1)
		go func() {
			_, _, b, _ := q.takeFinal()
			got <- b
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("the final write took its batch while a copy was in progress")
		default:
		}
		c.finish()
		b := <-got
		hs, bodies := frames(t, batchBytes(&b))
		if len(hs) != 1 || !bytes.Equal(bodies[0], bulk) {
			t.Fatalf("final batch %v, want the copied frame, intact", hs)
		}
	})
}

// TestSendQueueReleaseWaitsForCopy: the ring does not go back to the
// process-wide spare list (where another session would write into it)
// while a copier still writes into it.
func TestSendQueueReleaseWaitsForCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newTestQueue()
		c := beginBulkCopy(t, q, 1, patternPayload(4*smallWriteMax, 7))
		q.finish(shutdownNow, CodeNormal)
		drainReady(q)
		released := make(chan struct{})
		go func() {
			q.release()
			close(released)
		}()
		synctest.Wait()
		select {
		case <-released:
			t.Fatal("release returned while a copy was in progress")
		default:
		}
		q.mu.Lock()
		held := q.ring != nil
		q.mu.Unlock()
		if !held {
			t.Fatal("the ring was given back during a copy")
		}
		c.finish()
		<-released
		if q.ring != nil || q.copies != nil {
			t.Fatal("release left the ring or the copy records")
		}
	})
}

// TestSendQueueNoBulkCopyBehindLane: no bulk copy starts while anything,
// a FIN included, waits in the stream lane, since the lane waits for
// copies in progress; small frames still go to the ring.
func TestSendQueueNoBulkCopyBehindLane(t *testing.T) {
	q := newTestQueue()
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0))
	q.mu.Lock()
	_, _, bulkFits := q.reserveLocked(4 * smallWriteMax)
	q.mu.Unlock()
	if bulkFits {
		t.Fatal("a bulk copy may start while a FIN waits in the lane")
	}
	copySmall(t, q, 3, []byte("small"))
	hs, _ := frames(t, drain(t, q))
	if len(hs) != 2 || hs[0].StreamID() != 3 || hs[1].Flags() != frame.FlagFIN {
		t.Fatalf("frames %v, want the small frame, then the FIN", hs)
	}
	q.mu.Lock()
	_, _, bulkFits = q.reserveLocked(4 * smallWriteMax)
	q.mu.Unlock()
	if !bulkFits {
		t.Fatal("no bulk copy once the lane is empty")
	}
}
