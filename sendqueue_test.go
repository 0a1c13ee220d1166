package yamux

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send queue on its own: no session, no conn, no goroutine. A test
// plays the writer with drain.

func newTestQueue() *sendQueue {
	q := &sendQueue{}
	q.init()
	return q
}

// drain takes one batch as a writer would and returns its bytes in wire
// order (control, ring, stream lane), committing it as written.
func drain(t *testing.T, q *sendQueue) []byte {
	t.Helper()
	b, ok := q.take(nil, nil)
	if !ok {
		return nil
	}
	out := batchBytes(&b)
	q.commit(&b, nil)
	return out
}

func batchBytes(b *sendBatch) []byte {
	var out []byte
	for _, h := range b.ctrl {
		out = append(out, h[:]...)
	}
	for _, seg := range ringSegments(nil, b.ring, b.head, b.tail) {
		out = append(out, seg...)
	}
	for _, e := range b.lane {
		out = append(out, e.h[:]...)
		out = append(out, e.payload...)
	}
	return out
}

// frames splits wire bytes into headers and DATA bodies.
func frames(t *testing.T, wire []byte) (hs []frame.Header, bodies [][]byte) {
	t.Helper()
	for len(wire) > 0 {
		h, err := frame.Parse(wire)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		wire = wire[frame.HeaderSize:]
		var body []byte
		if h.Type() == frame.TypeData {
			body, wire = wire[:h.Length()], wire[h.Length():]
		}
		hs, bodies = append(hs, h), append(bodies, body)
	}
	return hs, bodies
}

func dataHeader(id uint32, p []byte) frame.Header {
	return frame.New(frame.TypeData, 0, id, uint32(len(p)))
}

// copySmall copies p as a DATA frame, expecting room; the writer role is
// given back at once if it was taken (the test is the writer).
func copySmall(t *testing.T, q *sendQueue, id uint32, p []byte) {
	t.Helper()
	q.mu.Lock()
	ok, direct, _ := q.copyLocked(dataHeader(id, p), p)
	if direct {
		q.writing = false
	}
	q.mu.Unlock()
	if !ok {
		t.Fatalf("stream %d: %d bytes not copied", id, len(p))
	}
}

// request queues p as a request of r and reports whether the caller got
// the writer role.
func request(q *sendQueue, r *sendReq, id uint32, p []byte) bool {
	if r.ch == nil {
		r.ch = make(chan struct{}, 1)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.requestLocked(r, dataHeader(id, p), p, r.ch)
}

func signalled(r *sendReq) bool {
	select {
	case <-r.ch:
		return true
	default:
		return false
	}
}

func TestSendQueueControlBeforeData(t *testing.T) {
	q := newTestQueue()
	var r sendReq
	request(q, &r, 5, bytes.Repeat([]byte{5}, 2*smallWriteMax))
	copySmall(t, q, 1, []byte("data"))
	ping := frame.New(frame.TypePing, frame.FlagSYN, 0, 1)
	q.control(ping, notReply)
	hs, bodies := frames(t, drain(t, q))
	if len(hs) != 3 || hs[0] != ping || hs[1].StreamID() != 1 || string(bodies[1]) != "data" || hs[2].StreamID() != 5 {
		t.Fatalf("batch = %v, want the PING, the copied DATA, then the request", hs)
	}
	if r.state != reqDone || !signalled(&r) {
		t.Fatalf("request state %d after its batch was written, want done and its owner woken", r.state)
	}
	if out := drain(t, q); out != nil {
		t.Fatalf("second batch %d bytes, want none", len(out))
	}
}

func TestSendQueueRingWrapAround(t *testing.T) {
	q := newTestQueue()
	chunk := bytes.Repeat([]byte{0xAB}, smallWriteMax-1)
	var want, got []byte
	collect := func() {
		_, bodies := frames(t, drain(t, q))
		for _, b := range bodies {
			got = append(got, b...)
		}
	}
	for i := range 200 { // ~1.6 MB through the ring
		p := append([]byte{byte(i)}, chunk...)
		q.mu.Lock()
		ok, direct, _ := q.copyLocked(dataHeader(3, p), p)
		q.writing = q.writing && !direct
		q.mu.Unlock()
		if !ok {
			collect()
			copySmall(t, q, 3, p)
		}
		want = append(want, p...)
	}
	collect()
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want %d identical", len(got), len(want))
	}
	if q.head < ringSize {
		t.Fatalf("the ring never wrapped (head %d)", q.head)
	}
}

// TestSendQueueCopyBehindRequests: while a request waits in the stream
// lane, a frame above smallWriteMax joins the lane instead of overtaking
// it through the ring; a small one still goes through the ring.
func TestSendQueueCopyBehindRequests(t *testing.T) {
	q := newTestQueue()
	big := make([]byte, smallWriteMax+1)
	copySmall(t, q, 1, big) // nobody waits: copied
	var r sendReq
	request(q, &r, 3, big)
	q.writing = false
	q.mu.Lock()
	ok, _, _ := q.copyLocked(dataHeader(5, big), big)
	q.mu.Unlock()
	if ok {
		t.Fatal("a frame above smallWriteMax overtook a waiting request")
	}
	copySmall(t, q, 7, []byte("small"))
	drain(t, q)
	if r.state != reqDone {
		t.Fatal("the request was not written")
	}
	copySmall(t, q, 5, big) // the lane is empty again
}

// TestSendQueueFINOrder: a FIN follows the stream's DATA, whichever lane
// that DATA took, and never waits for room.
func TestSendQueueFINOrder(t *testing.T) {
	q := newTestQueue()
	var r sendReq
	copySmall(t, q, 1, []byte("first"))
	request(q, &r, 1, make([]byte, 3*smallWriteMax))
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0))
	for range ringSize / 64 { // fill the ring: FINs still go
		q.mu.Lock()
		q.copyLocked(dataHeader(3, make([]byte, 52)), make([]byte, 52))
		q.writing = false
		q.mu.Unlock()
	}
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 3, 0))
	hs, _ := frames(t, drain(t, q))
	var one []frame.Header
	for _, h := range hs {
		if h.StreamID() == 1 {
			one = append(one, h)
		}
	}
	if len(one) != 3 || one[0].Length() != 5 || one[1].Length() != 3*smallWriteMax || one[2].Flags() != frame.FlagFIN {
		t.Fatalf("stream 1 frames %v, want DATA(5), DATA(request), FIN", one)
	}
	if last := hs[len(hs)-1]; last.StreamID() != 3 || last.Flags() != frame.FlagFIN {
		t.Fatalf("last frame %v, want stream 3's FIN behind its DATA", last)
	}
}

func TestSendQueueReplyBound(t *testing.T) {
	q := newTestQueue()
	for i := range maxPendingPongs {
		if q.replyRoom(replyPong) != nil {
			t.Fatalf("no room for pong %d", i)
		}
		q.control(frame.New(frame.TypePing, frame.FlagACK, 0, uint32(i)), replyPong)
	}
	wait := q.replyRoom(replyPong)
	if wait == nil {
		t.Fatal("room for a 65th pong")
	}
	if q.replyRoom(replyReset) != nil {
		t.Fatal("pongs used up the RST bound")
	}
	q.control(frame.New(frame.TypePing, frame.FlagSYN, 0, 1), notReply) // ours: never bounded
	drain(t, q)
	select {
	case <-wait:
	default:
		t.Fatal("writing the pongs did not free reply room")
	}
	if q.replyRoom(replyPong) != nil {
		t.Fatal("no room after the drain")
	}
}

// TestSendQueueFairness: the stream lane is strict FIFO across streams and
// a batch takes a bounded share of it, so a frame queued behind greedy
// streams waits for about one frame of each, and a greedy stream that
// queues again goes behind everyone who queued meanwhile: nobody starves.
func TestSendQueueFairness(t *testing.T) {
	q := newTestQueue()
	const greedy = 16
	frame64k := make([]byte, 64<<10)
	reqs := make([]sendReq, greedy+1)
	for i := range greedy {
		request(q, &reqs[i], uint32(2*i+1), frame64k)
	}
	small := &reqs[greedy]
	request(q, small, 99, make([]byte, 2*smallWriteMax))
	var order []uint32
	for batches := 0; small.state == reqQueued; batches++ {
		if batches > greedy {
			t.Fatal("the frame behind the greedy streams starved")
		}
		b, ok := q.take(nil, nil)
		if !ok {
			t.Fatal("nothing to take while requests are queued")
		}
		if n := len(batchBytes(&b)); n > maxBatchBytes+64<<10+frame.HeaderSize {
			t.Fatalf("a batch of %d B, want at most maxBatchBytes plus one frame", n)
		}
		for _, e := range b.lane {
			order = append(order, e.h.StreamID())
		}
		q.commit(&b, nil)
		// Each greedy stream whose frame was written queues its next one.
		for i := range greedy {
			if reqs[i].state == reqDone {
				request(q, &reqs[i], uint32(2*i+1), frame64k)
			}
		}
	}
	for i, id := range order[:greedy] {
		if id != uint32(2*i+1) {
			t.Fatalf("written in order %v, want FIFO", order)
		}
	}
	if order[greedy] != 99 {
		t.Fatalf("written in order %v, want stream 99 right after one frame of each greedy stream", order)
	}
}

// TestSendQueueWriterRole: the first writer takes the role; one that comes
// while it is held queues, and the role is handed to it when the holder
// leaves with its own frame written.
func TestSendQueueWriterRole(t *testing.T) {
	q := newTestQueue()
	var a, b sendReq
	if !request(q, &a, 1, make([]byte, 2*smallWriteMax)) {
		t.Fatal("the first writer did not get the role")
	}
	if request(q, &b, 3, make([]byte, 2*smallWriteMax)) {
		t.Fatal("a second writer got the role while it was held")
	}
	bt, _ := q.take(nil, nil)
	if bt.lane[0].req != &a || a.state != reqTaken {
		t.Fatal("a's frame not taken first")
	}
	if q.withdraw(&a) {
		t.Fatal("a frame being written was withdrawn")
	}
	q.commit(&bt, nil)
	// Before a's batch was taken, b was in it too (bounded by bytes, not
	// frames): queue c behind to see the handoff.
	var c sendReq
	request(q, &c, 5, make([]byte, 2*smallWriteMax))
	if again := q.leave(&a, false); again {
		t.Fatal("the holder kept writing after its own frame was written")
	}
	if q.handoff != &c || !q.writing || !signalled(&c) {
		t.Fatal("the role was not handed to the waiting writer")
	}
	q.handoff = nil // c takes it
	bt, _ = q.take(nil, nil)
	q.commit(&bt, nil)
	if again := q.leave(&c, false); again || q.writing {
		t.Fatal("the role was not given up with nothing left")
	}
	// A request not yet taken may be withdrawn; it is then not written.
	var d sendReq
	request(q, &d, 7, []byte("withdrawn"))
	q.writing = false
	if !q.withdraw(&d) {
		t.Fatal("a queued request was not withdrawn")
	}
	if out := drain(t, q); out != nil {
		t.Fatalf("a withdrawn request was written: %d bytes", len(out))
	}
}

func TestSendQueueFinish(t *testing.T) {
	q := newTestQueue()
	var a sendReq
	request(q, &a, 3, make([]byte, 2*smallWriteMax))
	q.writing = false
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 5, 0))
	q.finish(shutdownGoAway, CodeProtocolError)
	if a.state != reqFailed || !signalled(&a) {
		t.Fatal("finish did not fail the queued request and wake its writer")
	}
	if _, ok := q.take(nil, nil); ok {
		t.Fatal("a batch taken after finish")
	}

	// shutdownFlush: the queued request goes in the final write.
	q = newTestQueue()
	var b sendReq
	request(q, &b, 3, make([]byte, 2*smallWriteMax))
	q.writing = false
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 3, 0))
	q.finish(shutdownFlush, CodeNormal)
	if b.state != reqQueued {
		t.Fatalf("request state %d after finish(flush), want still queued", b.state)
	}
	mode, _, bt, ok := q.takeFinal()
	if !ok || mode != shutdownFlush {
		t.Fatal("takeFinal refused")
	}
	hs, _ := frames(t, batchBytes(&bt))
	if len(hs) != 2 || hs[0].Type() != frame.TypeData || hs[1].Flags() != frame.FlagFIN {
		t.Fatalf("final batch %v, want the DATA, then the FIN", hs)
	}
	q.commit(&bt, nil)
	if b.state != reqDone {
		t.Fatal("the flushed request was not marked written")
	}
	q.mu.Lock()
	closed := q.closedLocked()
	q.mu.Unlock()
	if !closed {
		t.Fatal("the queue accepts frames after finish")
	}
}

// TestSendQueueSmallReserve: bulk frames that fill the ring leave room
// for small ones, which therefore never wait behind them.
func TestSendQueueSmallReserve(t *testing.T) {
	q := newTestQueue()
	big := make([]byte, 64<<10)
	for n := 0; ; n++ {
		q.mu.Lock()
		ok, direct, _ := q.copyLocked(dataHeader(1, big), big)
		q.writing = q.writing && !direct
		q.mu.Unlock()
		if !ok {
			break
		}
		if n > ringSize/len(big) {
			t.Fatal("bulk frames filled the whole ring")
		}
	}
	for range smallReserve / (smallWriteMax + frame.HeaderSize) {
		copySmall(t, q, 3, make([]byte, smallWriteMax))
	}
}

// TestSendQueueLaneMemoryUnderLoad: busy streams that re-queue as soon as
// their frame is written keep the stream lane from ever emptying; its
// memory must follow the requests queued at once, not the frames written
// since the lane was last empty (it grew by one entry per frame: 48 bytes
// per 64 KiB written, for as long as the load lasted).
func TestSendQueueLaneMemoryUnderLoad(t *testing.T) {
	q := newTestQueue()
	const streams = 64
	payload := make([]byte, 64<<10)
	reqs := make([]sendReq, streams)
	for i := range reqs {
		request(q, &reqs[i], uint32(2*i+1), payload)
	}
	maxCap := 0
	for range 100_000 / streams * 4 {
		b, ok := q.take(nil, nil)
		if !ok {
			t.Fatal("nothing to take while requests are queued")
		}
		q.commit(&b, nil)
		for i := range reqs {
			if reqs[i].state == reqDone {
				request(q, &reqs[i], uint32(2*i+1), payload)
			}
		}
		if q.laneHead == len(q.lane) {
			t.Fatal("the lane emptied: the test no longer keeps it busy")
		}
		maxCap = max(maxCap, cap(q.lane))
	}
	if maxCap > 4*streams {
		t.Fatalf("lane capacity reached %d entries for %d streams, want at most %d", maxCap, streams, 4*streams)
	}
}

// TestSendQueueHoldsRingOnlyWithBytes: a queue takes its copy ring when a
// frame is copied into it and gives it back as soon as a batch drains
// it, so an idle session holds none; a batch that leaves bytes behind
// (copied while it was written) keeps it. A ring given back is the next
// one drawn: a busy session does not allocate one per batch.
func TestSendQueueHoldsRingOnlyWithBytes(t *testing.T) {
	q := newTestQueue()
	if q.ring != nil {
		t.Fatal("a new queue holds a ring")
	}
	copySmall(t, q, 1, []byte("one"))
	if q.ring == nil {
		t.Fatal("no ring after a frame was copied")
	}
	ring := &q.ring[0]
	b, _ := q.take(nil, nil)
	copySmall(t, q, 1, []byte("two")) // while the batch is written
	q.commit(&b, nil)
	if q.ring == nil || &q.ring[0] != ring {
		t.Fatal("the ring was given back with a frame still in it")
	}
	if _, bodies := frames(t, drain(t, q)); len(bodies) != 1 || string(bodies[0]) != "two" {
		t.Fatalf("second batch %q, want the frame copied during the first", bodies)
	}
	if q.ring != nil {
		t.Fatal("the ring is still held after a batch drained it")
	}
	for i := range 100 {
		copySmall(t, q, 1, []byte("again"))
		if &q.ring[0] != ring {
			t.Fatalf("round %d: the ring drawn after one was given back is another", i)
		}
		drain(t, q)
	}
}
