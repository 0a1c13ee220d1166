package yamux

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send queue: what producers (streams, the receive loop, pings) hand
// to whoever writes the conn (spec.md §4.5). It has three lanes, written
// in this order within a batch:
//
//   - control frames (SYN, ACK, WINDOW_UPDATE, RST, PING, pong, GO_AWAY),
//     a FIFO of 12-byte headers;
//   - copied DATA frames, in a byte ring: their Write returns at once,
//     and many of them leave in one write. A frame above smallWriteMax is
//     copied only while the stream lane is empty, a small one whenever
//     it fits, so that it never queues behind bulk frames;
//   - the stream lane: DATA frames that did not fit, written from the
//     caller's slice (a sendReq: the Write waits until its frame is
//     written), and FINs, FIFO across streams. A stream has at most one
//     request queued (its Writes are serialised), so the FIFO is
//     round-robin between busy streams; a batch takes a bounded share of
//     it (maxBatchBytes).
//
// A stream's frames keep their order: each batch takes the whole ring as
// far as it is published, and the stream lane only when no copy is in
// progress, so a copied frame always leaves no later than anything the
// stream queued after it; a request is queued only when the stream has
// nothing else pending but copied frames (its Write waits for it); a FIN
// goes to the stream lane behind the stream's request, and never blocks.
//
// Nobody waits for room: a frame that does not fit in the ring waits in
// the lane in its writer's own buffer, so the queue's memory is the ring
// plus one entry per stream.
//
// A frame above smallWriteMax is copied into the ring without the lock
// (sendring.go).
//
// Writing is a role (writing), held by one goroutine at a time: a Write
// that finds it free takes it and writes the batch itself (no hand-off to
// another goroutine); others queue behind it. The holder looks again
// before it leaves and passes the role on (to the oldest waiting request's
// owner, or to the send loop) if anything is left. The send loop takes the
// role for what no application goroutine writes: frames queued by the
// receive loop, timers and Close. The queue starts no goroutine and knows
// nothing of the conn: its own tests drive it directly (sendqueue_test.go).

const (
	// ringSize is the byte capacity of the copy ring: four default
	// frames. A Write that finds it full waits for its frame to be
	// written; a 64 KiB ring made 1-4 KiB writes 1.6-2x slower
	// (BenchmarkWriteSizes), since the writer then waited for most writes.
	ringSize = 4 * (64*1024 + frame.HeaderSize)
	// smallWriteMax is the largest DATA payload that may be copied into
	// the ring while frames wait in the stream lane: a small frame (a
	// message, a reply) does not queue behind bulk frames. A larger frame
	// is copied only when the lane is empty, so that under contention every
	// bulk writer takes its turn in the lane.
	smallWriteMax = 8 * 1024
	// smallReserve is the part of the ring that only frames of at most
	// smallWriteMax may fill: bulk writers that keep the ring full would
	// otherwise send a small frame to the back of the lane, behind a frame
	// of each of them (fairness-tcp: ping Write p99 3 ms).
	smallReserve = 64 * 1024
	// maxBatchBytes bounds the stream-lane bytes one batch takes, so that
	// frames queued meanwhile wait for at most this much.
	maxBatchBytes = 256 * 1024
	// coalesceGap: a small Write that comes within this time of the
	// previous one is left for the writer that follows (the send loop),
	// so a stream of small writes coalesces; a lone one (a request, a
	// reply) is written at once by its own goroutine.
	coalesceGap = 2 * time.Microsecond
)

// clockBase anchors the queue's monotonic timestamps.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// reqState is where a request is; guarded by sendQueue.mu.
type reqState uint8

const (
	reqIdle   reqState = iota
	reqQueued          // in the stream lane; may be withdrawn
	reqTaken           // in a batch being written: its owner waits for the result
	reqDone            // written
	reqFailed          // not written: the write failed or the session ended
)

// sendReq is a stream's DATA frame that is written from the caller's
// slice; one per stream (Writes are serialised). Guarded by sendQueue.mu.
type sendReq struct {
	state reqState
	// ch wakes the owner (the stream's sendNotify); set when it waits.
	ch chan struct{}
}

func (r *sendReq) signal() { notify(r.ch) }

// laneEntry is a stream-lane frame: a request's header and payload, or a
// FIN (req nil, no payload).
type laneEntry struct {
	h       frame.Header
	payload []byte
	req     *sendReq
}

type sendQueue struct {
	mu sync.Mutex // guards the fields below; taken after Session.mu or Stream.mu
	// ctrl are the queued control frames, FIFO.
	ctrl []frame.Header
	// pongs and resets count the frames of ctrl queued by recvLoop in
	// answer to the peer; bounded by maxPendingPongs and maxPendingResets.
	pongs, resets int
	// repliesAtBound mirrors whether either is at its bound, for
	// repliesFull to read without the lock.
	repliesAtBound atomic.Bool
	// ring holds copied DATA frames in [head, tail) (monotonic counters,
	// modulo len(ring)); ringFrames counts those since the last take.
	// Allocated on first use.
	ring       []byte
	head, tail uint64
	ringFrames int
	// copies are the frames reserved in [head, tail) whose unlocked copy
	// (copyUnlocked) is in progress or finished out of order, by start,
	// from copiesHead: writers take the ring only up to the first one
	// unfinished (publishedLocked). At most one per stream.
	copies     []ringCopy
	copiesHead int
	// lane is the stream lane, FIFO from laneHead.
	lane     []laneEntry
	laneHead int
	// writing: the writer role is held; handoff is the waiting request
	// whose owner it was passed to (nil: the holder is running).
	writing bool
	handoff *sendReq
	// lastSmall is when the last small Write queued, or the last batch
	// holding one was written (monoNow).
	lastSmall int64
	// writeErr is the failed write's error: nothing is written any more.
	writeErr error
	// spaceCh is closed when reply room is freed; nil when nobody waits.
	spaceCh chan struct{}
	// mode and code are the final write's, once the session is finishing.
	finishing bool
	mode      shutdownMode
	code      ErrorCode
	stopped   bool // the send loop has exited: nothing is written any more

	// ready wakes the send loop.
	ready chan struct{}
	// turn says whether outbound DATA is shared between streams
	// (turns.go).
	turn turnMeter
}

// sendBatch is what one writer takes in one round: the control frames,
// the ring bytes [head, tail) and a prefix of the stream lane.
type sendBatch struct {
	ctrl          []frame.Header
	ring          []byte
	head, tail    uint64
	ringFrames    int
	lane          []laneEntry
	pongs, resets int
}

func (q *sendQueue) init() {
	q.ready = make(chan struct{}, 1)
}

// wake tells the send loop there is something to write.
func (q *sendQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// replyKind says whether a control frame answers the peer, and how it is
// bounded (spec.md §5.1).
type replyKind uint8

const (
	notReply   replyKind = iota // ours: SYN, ACK, WINDOW_UPDATE, PING, GO_AWAY, Reset
	replyPong                   // a pong, bounded by maxPendingPongs
	replyReset                  // a refusal or a DATA-after-FIN RST, bounded by maxPendingResets
)

// closedLocked says whether nothing more may be queued.
func (q *sendQueue) closedLocked() bool {
	return q.finishing || q.writeErr != nil || q.stopped
}

// emptyLocked says whether nothing is queued for a writer to take: a
// frame still being copied is not there yet, nor, while one is, the stream
// lane (takeLocked).
func (q *sendQueue) emptyLocked() bool {
	return len(q.ctrl) == 0 && q.head == q.publishedLocked() && (q.laneHead == len(q.lane) || q.copyingLocked())
}

// control queues a control frame; kind says whether it answers the peer.
// Whoever queues it, the send loop writes it unless a writer is at work
// (it takes it with its next batch): the receive loop must never write.
func (q *sendQueue) control(h frame.Header, kind replyKind) {
	q.mu.Lock()
	if q.finishing {
		q.mu.Unlock()
		return
	}
	q.ctrl = append(q.ctrl, h)
	switch kind {
	case replyPong:
		q.pongs++
		q.boundLocked()
	case replyReset:
		q.resets++
		q.boundLocked()
	}
	idle := !q.writing
	q.mu.Unlock()
	if idle {
		q.wake()
	}
}

// replyRoom returns nil if another reply of kind may be queued, or a
// channel closed when room appears. The receive loop stops reading until
// then, which only a peer unlike us can make happen.
func (q *sendQueue) replyRoom(kind replyKind) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if (kind != replyPong || q.pongs < maxPendingPongs) && (kind != replyReset || q.resets < maxPendingResets) {
		return nil
	}
	if q.spaceCh == nil {
		q.spaceCh = make(chan struct{})
	}
	return q.spaceCh
}

// repliesFull reports whether either reply bound is reached, so that the
// next frame might make its reader wait for room.
func (q *sendQueue) repliesFull() bool { return q.repliesAtBound.Load() }

func (q *sendQueue) boundLocked() {
	q.repliesAtBound.Store(q.pongs >= maxPendingPongs || q.resets >= maxPendingResets)
}

// requestLocked queues r, a DATA frame written from payload, and reports
// whether the caller now holds the writer role (it was free) and is to
// write it; otherwise r's owner waits (awaitRequest) on ch.
func (q *sendQueue) requestLocked(r *sendReq, h frame.Header, payload []byte, ch chan struct{}) (write bool) {
	r.state = reqQueued
	r.ch = ch
	q.pushLaneLocked(laneEntry{h: h, payload: payload, req: r})
	if q.writing {
		return false
	}
	q.writing = true
	return true
}

func (q *sendQueue) pushLaneLocked(e laneEntry) {
	q.lane, q.laneHead = reclaimSpent(q.lane, q.laneHead)
	q.lane = append(q.lane, e)
}

// withdrawLocked takes r, still queued, out of the lane: its owner gives
// up (deadline, reset) and keeps its bytes.
func (q *sendQueue) withdrawLocked(r *sendReq) {
	for i := q.laneHead; i < len(q.lane); i++ {
		if q.lane[i].req == r {
			copy(q.lane[i:], q.lane[i+1:])
			q.lane[len(q.lane)-1] = laneEntry{}
			q.lane = q.lane[:len(q.lane)-1]
			break
		}
	}
	r.state = reqIdle
}

// fin queues a payload-free stream frame (FIN) behind the stream's DATA
// without ever blocking.
func (q *sendQueue) fin(h frame.Header) {
	q.mu.Lock()
	if q.finishing && (q.mode != shutdownFlush || q.stopped) {
		q.mu.Unlock()
		return
	}
	q.pushLaneLocked(laneEntry{h: h})
	idle := !q.writing
	q.mu.Unlock()
	if idle {
		q.wake()
	}
}

// acquire takes the writer role for the send loop, if it is free and
// there is something to write.
func (q *sendQueue) acquire() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.writing || q.closedLocked() || q.emptyLocked() {
		return false
	}
	q.writing = true
	return true
}

// take returns the next batch for the role's holder: every control frame,
// the whole ring and the stream lane up to maxBatchBytes (at least one
// entry); all of the lane if final. ok is false when there is nothing to
// write, or the session is finishing (the final write takes over) or
// broken. Taken requests are marked reqTaken. spare and spareLane are
// recycled as the next control FIFO and lane slice.
func (q *sendQueue) take(spare []frame.Header, spareLane []laneEntry) (b sendBatch, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closedLocked() || q.emptyLocked() {
		return sendBatch{}, false
	}
	return q.takeLocked(spare, spareLane, false), true
}

func (q *sendQueue) takeLocked(spare []frame.Header, spareLane []laneEntry, final bool) sendBatch {
	b := sendBatch{ctrl: q.ctrl, ring: q.ring, head: q.head, tail: q.publishedLocked(), ringFrames: q.ringFrames, pongs: q.pongs, resets: q.resets}
	q.ctrl = spare[:0]
	q.ringFrames = 0
	lane := spareLane[:0]
	bytes := 0
	// While a frame is being copied, the lane waits: a stream whose
	// copied frame is not published yet may have queued its next frame or
	// its FIN there, and the ring goes first. No bulk copy starts while
	// anything waits in the lane (fitsLocked), so it waits for the copies
	// already in progress only.
	for q.laneHead < len(q.lane) && !q.copyingLocked() && (final || len(lane) == 0 || bytes < maxBatchBytes) {
		e := q.lane[q.laneHead]
		q.lane[q.laneHead] = laneEntry{}
		q.laneHead++
		bytes += frame.HeaderSize + len(e.payload)
		if e.req != nil {
			e.req.state = reqTaken
		}
		lane = append(lane, e)
	}
	b.lane = lane
	return b
}

// commit records the outcome of writing b: ring and reply room are freed,
// and each request's owner learns whether its frame was written.
func (q *sendQueue) commit(b *sendBatch, err error) {
	q.mu.Lock()
	q.pongs -= b.pongs
	q.resets -= b.resets
	q.boundLocked()
	if b.tail > q.head {
		q.head = b.tail
	}
	if q.head == q.tail && q.ring != nil {
		// Drained, and nobody reads it until the next take: a session
		// holds a ring only while it has bytes in it.
		putRing(q.ring)
		q.ring = nil
	}
	if b.ringFrames > 0 {
		// A small Write that follows at once is part of a stream of
		// them, even if this batch took the writer a while.
		q.lastSmall = monoNow()
	}
	state := reqDone
	if err != nil {
		state = reqFailed
		if q.writeErr == nil {
			q.writeErr = err
		}
	}
	for i := range b.lane {
		if r := b.lane[i].req; r != nil {
			r.state = state
			r.signal()
		}
		b.lane[i] = laneEntry{}
	}
	if q.spaceCh != nil {
		close(q.spaceCh)
		q.spaceCh = nil
	}
	q.mu.Unlock()
}

// leave gives the writer role up after a batch, unless more must be
// written by the holder: it returns true (keep writing) when own (the
// holder's request, nil for none) is still queued, or when the holder is
// the send loop (loop) and frames are left that no waiting request's owner
// would take. Otherwise the role goes to the oldest waiting request's
// owner, or back to nobody (waking the send loop if frames are left).
func (q *sendQueue) leave(own *sendReq, loop bool) (again bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closedLocked() {
		q.writing = false
		q.wake() // the send loop may be waiting for the role (finalWrite)
		return false
	}
	if own != nil && own.state == reqQueued && !q.copyingLocked() {
		return true
	}
	if q.emptyLocked() {
		// With a frame being copied, its copier settles what is left
		// (settleLocked), own's request included: own's owner waits for it.
		q.writing = false
		return false
	}
	for i := q.laneHead; i < len(q.lane); i++ {
		if r := q.lane[i].req; r != nil && r != own {
			q.handoff = r
			r.signal()
			return false
		}
	}
	if loop {
		return true
	}
	q.writing = false
	q.wake()
	return false
}

// finish marks the queue finishing with the final write's mode and code.
// Requests still queued are failed, except that shutdownFlush writes them
// in the final write (their owners wait for it). Called once by
// Session.shutdown.
func (q *sendQueue) finish(mode shutdownMode, code ErrorCode) {
	q.mu.Lock()
	q.finishing, q.mode, q.code = true, mode, code
	if q.handoff != nil {
		// The role was passed to a waiting owner that has not taken it
		// yet: it goes back, to the final write.
		q.handoff = nil
		q.writing = false
	}
	if mode != shutdownFlush || q.writeErr != nil {
		q.failQueuedLocked()
	}
	if q.spaceCh != nil {
		close(q.spaceCh)
		q.spaceCh = nil
	}
	q.mu.Unlock()
	q.wake()
}

// failQueuedLocked fails every queued request, leaving FINs.
func (q *sendQueue) failQueuedLocked() {
	kept := q.lane[:q.laneHead]
	for _, e := range q.lane[q.laneHead:] {
		if e.req != nil {
			e.req.state = reqFailed
			e.req.signal()
			continue
		}
		kept = append(kept, e)
	}
	clear(q.lane[len(kept):])
	q.lane = kept
}

// takeFinal waits for the writer role and takes what the final write
// sends: with shutdownFlush, everything queued. ok is false when nothing
// may be written any more (a write failed).
func (q *sendQueue) takeFinal() (mode shutdownMode, code ErrorCode, b sendBatch, ok bool) {
	q.mu.Lock()
	for q.writing || q.copyingLocked() {
		// The holder wakes the loop when it leaves (leave), a copier when
		// it publishes (endCopyLocked): a frame whose Write was told it is
		// queued is written with the rest.
		q.mu.Unlock()
		<-q.ready
		q.mu.Lock()
	}
	defer q.mu.Unlock()
	mode, code = q.mode, q.code
	if q.writeErr != nil {
		return mode, code, sendBatch{}, false
	}
	q.writing = true
	if mode != shutdownFlush {
		return mode, code, sendBatch{}, true
	}
	return mode, code, q.takeLocked(nil, nil, true), true
}

// release drops the queue's buffers when the send loop exits, so a closed
// Session that the application still references does not pin them, and
// fails what is left.
func (q *sendQueue) release() {
	q.mu.Lock()
	for q.copyingLocked() {
		// A copier still writes into the ring: it may go back to the
		// spare list only afterwards. No copy starts any more (the queue
		// is closed), and the copier wakes the loop when it is done.
		q.mu.Unlock()
		<-q.ready
		q.mu.Lock()
	}
	q.stopped = true
	q.failQueuedLocked()
	if q.ring != nil {
		// Nobody writes any more (the role is the send loop's for good,
		// or a write failed and take refuses), so no batch still reads
		// the ring.
		putRing(q.ring)
	}
	q.ring, q.ctrl, q.lane, q.laneHead = nil, nil, nil, 0
	q.copies, q.copiesHead = nil, 0
	q.mu.Unlock()
}

// depth reports what is queued: control frames and FINs, and DATA bytes
// (ring and stream lane, headers included).
func (q *sendQueue) depth() (ctrl, data int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	fins, bytes := 0, q.ringLenLocked()
	for _, e := range q.lane[q.laneHead:] {
		if e.req == nil {
			fins++
		} else {
			bytes += frame.HeaderSize + len(e.payload)
		}
	}
	return len(q.ctrl) + fins, bytes
}

// dataOutcome is what became of a DATA frame handed to the queue
// (queueData), and so what its Write does next.
type dataOutcome uint8

const (
	dataClosed         dataOutcome = iota // not queued: the session is ending or a write failed
	dataCopied                            // copied into the ring: the Write goes on at once
	dataCopiedWrite                       // copied, and the caller now holds the writer role: it writes
	dataRequested                         // queued as a request from the caller's slice: the owner waits (requestStatus)
	dataRequestedWrite                    // queued as a request, and the caller holds the writer role: it writes
	dataNeedChan                          // not queued: a request must wait and ch was nil; call again with a channel
)

// queueData hands one DATA frame of stream request r to the queue: copied
// into the ring if it fits (copyLocked), else queued as r, pointing into
// payload. ch is what r's owner waits on; it may be nil only while the
// writer role is free (the owner then writes itself).
func (q *sendQueue) queueData(r *sendReq, h frame.Header, payload []byte, ch chan struct{}) dataOutcome {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closedLocked() {
		return dataClosed
	}
	if len(payload) > smallWriteMax {
		if start, alone, ok := q.reserveLocked(len(payload)); ok {
			q.turn.frame(h.StreamID(), len(payload))
			q.copyUnlocked(start, h, payload)
			if q.closedLocked() {
				return dataCopied // the final write takes it, or nothing is written
			}
			return q.copiedLocked(q.settleLocked(alone))
		}
	} else if ok, d, w := q.copyLocked(h, payload); ok {
		q.turn.frame(h.StreamID(), len(payload))
		return q.copiedLocked(d, w)
	}
	if q.writing && ch == nil {
		return dataNeedChan
	}
	q.turn.frame(h.StreamID(), len(payload))
	if q.requestLocked(r, h, payload, ch) {
		return dataRequestedWrite
	}
	return dataRequested
}

// copiedLocked is the outcome of a copied frame, settled as direct or wake.
func (q *sendQueue) copiedLocked(direct, wake bool) dataOutcome {
	switch {
	case direct:
		return dataCopiedWrite
	case wake:
		q.wake()
	}
	return dataCopied
}

// reqStatus is where a request stands for its owner (requestStatus).
type reqStatus uint8

const (
	statusQueued  reqStatus = iota // in the lane: its owner may withdraw it
	statusTaken                    // being written: only the write's outcome ends the wait
	statusDone                     // written
	statusFailed                   // not written
	statusHandoff                  // the writer role was passed to its owner: it writes now
)

// requestStatus reports where r stands, and settles it: a written or
// failed request becomes idle again, and a hand-off is taken by the
// owner. ch is the channel r's owner waits on (nil: none set yet).
func (q *sendQueue) requestStatus(r *sendReq) (status reqStatus, ch chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.handoff == r {
		q.handoff = nil
		return statusHandoff, r.ch
	}
	switch r.state {
	case reqDone:
		r.state = reqIdle
		return statusDone, r.ch
	case reqFailed:
		r.state = reqIdle
		return statusFailed, r.ch
	case reqTaken:
		return statusTaken, r.ch
	}
	return statusQueued, r.ch
}

// setRequestChan sets the channel r's owner waits on.
func (q *sendQueue) setRequestChan(r *sendReq, ch chan struct{}) {
	q.mu.Lock()
	r.ch = ch
	q.mu.Unlock()
}

// withdraw takes r back if it is still queued and reports whether it did;
// a request already taken (or settled) is the writer's.
func (q *sendQueue) withdraw(r *sendReq) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.state != reqQueued || q.handoff == r {
		return false
	}
	q.withdrawLocked(r)
	return true
}
