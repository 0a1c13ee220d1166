package yamux

import (
	"sync"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send queue: what producers (streams, the receive loop, pings) hand
// to the send loop, the only writer of the conn (spec.md §4.5):
//
//   - control frames (SYN, ACK, WINDOW_UPDATE, RST, PING, pong, GO_AWAY) sit
//     in a FIFO of 12-byte headers and go out ahead of data;
//   - DATA frames and FINs are copied into a fixed-size byte ring, so Write
//     never keeps the caller's slice, small writes coalesce, and a stream's
//     DATA and FIN leave in order. A writer waits while the ring is full,
//     in line: writers that found no room get it in the order they asked
//     (sendTicket), so none is starved by luckier ones.
//
// A FIN must never block (Stream.Close never blocks), so when the ring is
// full it waits in a small overflow list that is moved into the ring,
// ahead of any new DATA, as room appears.
//
// The queue starts no goroutine and knows nothing of the conn: its own
// tests drive it directly (sendqueue_test.go).

// ringSize is the byte capacity of the data ring: four default frames.
const ringSize = 4 * (64*1024 + frame.HeaderSize)

type sendQueue struct {
	mu sync.Mutex // guards the fields below; taken after Session.mu or Stream.mu
	// ctrl are the queued control frames, FIFO.
	ctrl []frame.Header
	// pongs and resets count the frames of ctrl queued by recvLoop in
	// answer to the peer; bounded by maxPendingPongs and maxPendingResets.
	pongs, resets int
	// ring holds queued DATA and FIN bytes in [head, tail) (monotonic
	// counters, modulo len(ring)). Allocated on first use.
	ring       []byte
	head, tail uint64
	// ringFrames counts the frames put in the ring since the last take.
	ringFrames int
	// overflow are stream frames without payload (FIN) that found the ring
	// full; while it is non-empty the ring counts as full.
	overflow []frame.Header
	// waiters are the writers waiting for ring room, first come first
	// served.
	waiters []*sendTicket
	// spaceCh is closed when reply room is freed; nil when nobody waits.
	spaceCh chan struct{}
	// mode and code are the final write's, once the session is finishing.
	finishing bool
	mode      shutdownMode
	code      ErrorCode
	stopped   bool // the send loop has exited: nothing is queued any more

	// ready wakes the send loop.
	ready chan struct{}
}

// sendTicket is a writer's place in line for ring room; a stream has one
// (its Writes are serialised). Guarded by sendQueue.mu.
type sendTicket struct {
	// ch gets a token when it is this writer's turn to retry (or the
	// session is finishing). Made once, at the ticket's first wait, and
	// kept: waiting for room allocates nothing after that. A token left
	// over from an earlier wait only causes one retry that finds its
	// place in line again.
	ch     chan struct{}
	queued bool
}

// signal gives t's writer a token, without blocking.
func (t *sendTicket) signal() {
	select {
	case t.ch <- struct{}{}:
	default:
	}
}

// sendBatch is what the send loop takes in one round: the control frames
// and the ring bytes [head, tail), with the replies among them.
type sendBatch struct {
	ctrl          []frame.Header
	head, tail    uint64
	pongs, resets int
	ringFrames    int // frames in [head, tail) (for Stats)
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

// control queues a control frame; kind says whether it answers the peer.
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
	case replyReset:
		q.resets++
	}
	q.mu.Unlock()
	q.wake()
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

func (q *sendQueue) ringLenLocked() int { return int(q.tail - q.head) }

// appendRingLocked copies a header and payload into the ring; the caller
// made sure they fit.
func (q *sendQueue) appendRingLocked(h frame.Header, payload []byte) {
	if q.ring == nil {
		q.ring = make([]byte, ringSize)
	}
	q.copyInLocked(h[:])
	q.copyInLocked(payload)
	q.ringFrames++
}

func (q *sendQueue) copyInLocked(p []byte) {
	for len(p) > 0 {
		at := int(q.tail % uint64(len(q.ring)))
		n := copy(q.ring[at:], p)
		q.tail += uint64(n)
		p = p[n:]
	}
}

// writeData queues one DATA frame for stream id with as much of p as fits
// (at least minBytes, or all of p if shorter): it returns how many bytes
// it queued, or, when there is no room or another writer is ahead in line,
// a channel to wait on before retrying with the same ticket. closed
// reports that the session is finishing. The caller must leave the line
// (leave) if it stops retrying.
func (q *sendQueue) writeData(t *sendTicket, id uint32, flags frame.Flags, p []byte, minBytes int) (n int, wait <-chan struct{}, closed bool) {
	q.mu.Lock()
	if q.finishing {
		q.mu.Unlock()
		return 0, nil, true
	}
	free := ringSize - q.ringLenLocked() - frame.HeaderSize
	ahead := len(q.waiters) > 0 && q.waiters[0] != t
	if ahead || len(q.overflow) > 0 || free < min(minBytes, len(p)) {
		wait = q.enqueueLocked(t)
		q.mu.Unlock()
		return 0, wait, false
	}
	n = min(len(p), free)
	q.appendRingLocked(frame.New(frame.TypeData, flags, id, uint32(n)), p[:n])
	if t.queued { // it was our turn: the next in line may try now
		q.leaveLocked(t)
	}
	q.mu.Unlock()
	q.wake()
	return n, nil, false
}

// enqueueLocked puts t in line (if it is not already) and returns the
// channel that tells it to retry.
func (q *sendQueue) enqueueLocked(t *sendTicket) <-chan struct{} {
	if !t.queued {
		t.queued = true
		q.waiters = append(q.waiters, t)
	}
	if t.ch == nil {
		t.ch = make(chan struct{}, 1)
	}
	return t.ch
}

// leave takes t out of the line, if it is in it: a writer that stops
// waiting for room (deadline, reset, window exhausted) must not hold up
// the others.
func (q *sendQueue) leave(t *sendTicket) {
	q.mu.Lock()
	if t.queued {
		q.leaveLocked(t)
	}
	q.mu.Unlock()
}

func (q *sendQueue) leaveLocked(t *sendTicket) {
	for i, w := range q.waiters {
		if w == t {
			copy(q.waiters[i:], q.waiters[i+1:])
			q.waiters[len(q.waiters)-1] = nil
			q.waiters = q.waiters[:len(q.waiters)-1]
			break
		}
	}
	t.queued = false
	q.wakeHeadLocked()
}

// wakeHeadLocked tells the first writer in line to retry.
func (q *sendQueue) wakeHeadLocked() {
	if len(q.waiters) == 0 {
		return
	}
	q.waiters[0].signal()
}

// fin queues a payload-free stream frame behind the stream's DATA without
// ever blocking.
func (q *sendQueue) fin(h frame.Header) {
	q.mu.Lock()
	if q.finishing && (q.mode != shutdownFlush || q.stopped) {
		q.mu.Unlock()
		return
	}
	if len(q.overflow) == 0 && ringSize-q.ringLenLocked() >= frame.HeaderSize {
		q.appendRingLocked(h, nil)
	} else {
		q.overflow = append(q.overflow, h)
	}
	q.mu.Unlock()
	q.wake()
}

// take returns everything queued for one write, or ok false when there is
// nothing to write or the session is finishing (takeFinal then takes
// over). spare is recycled as the next control FIFO.
func (q *sendQueue) take(spare []frame.Header) (b sendBatch, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.finishing || (len(q.ctrl) == 0 && q.head == q.tail) {
		return sendBatch{}, false
	}
	b = sendBatch{ctrl: q.ctrl, head: q.head, tail: q.tail, pongs: q.pongs, resets: q.resets, ringFrames: q.ringFrames}
	q.ctrl = spare[:0]
	q.ringFrames = 0
	return b, true
}

// commit frees what batch b held once it is written: ring room (FINs
// waiting in overflow move in first, then the first writer in line is
// woken) and reply room.
func (q *sendQueue) commit(b sendBatch) {
	q.mu.Lock()
	q.pongs -= b.pongs
	q.resets -= b.resets
	q.head = b.tail
	q.drainOverflowLocked()
	q.wakeHeadLocked()
	if q.spaceCh != nil {
		close(q.spaceCh)
		q.spaceCh = nil
	}
	q.mu.Unlock()
}

// drainOverflowLocked moves FINs that found the ring full into it, in order.
func (q *sendQueue) drainOverflowLocked() {
	n := 0
	for _, h := range q.overflow {
		if ringSize-q.ringLenLocked() < frame.HeaderSize {
			break
		}
		q.appendRingLocked(h, nil)
		n++
	}
	q.overflow = append(q.overflow[:0], q.overflow[n:]...)
	if len(q.overflow) == 0 {
		q.overflow = nil
	}
}

// ringSegments appends to bufs the ring bytes [head, tail) of a batch
// taken earlier: the send loop reads them without the lock, since
// producers only write beyond tail until the batch is committed.
func (q *sendQueue) ringSegments(bufs [][]byte, head, tail uint64) [][]byte {
	if head == tail {
		return bufs
	}
	size := uint64(len(q.ring))
	from, to := int(head%size), int(tail%size)
	if from < to {
		return append(bufs, q.ring[from:to])
	}
	return append(bufs, q.ring[from:], q.ring[:to])
}

// finish marks the queue finishing with the final write's mode and code,
// and wakes every waiter; called once by Session.shutdown.
func (q *sendQueue) finish(mode shutdownMode, code ErrorCode) {
	q.mu.Lock()
	q.finishing, q.mode, q.code = true, mode, code
	for _, t := range q.waiters {
		t.signal()
	}
	if q.spaceCh != nil {
		close(q.spaceCh)
		q.spaceCh = nil
	}
	q.mu.Unlock()
}

// takeFinal takes what the final write sends: with shutdownFlush, the
// queued frames and the overflowed FINs (in order behind the ring).
func (q *sendQueue) takeFinal() (mode shutdownMode, code ErrorCode, b sendBatch, overflow []frame.Header) {
	q.mu.Lock()
	defer q.mu.Unlock()
	mode, code = q.mode, q.code
	b = sendBatch{ctrl: q.ctrl, head: q.head, tail: q.tail, ringFrames: q.ringFrames}
	overflow = q.overflow
	q.ctrl, q.overflow = nil, nil
	q.pongs, q.resets = 0, 0
	return mode, code, b, overflow
}

// release drops the queue's buffers when the send loop exits, so a closed
// Session that the application still references does not pin them.
func (q *sendQueue) release() {
	q.mu.Lock()
	q.stopped = true
	q.ring, q.ctrl, q.overflow, q.waiters = nil, nil, nil, nil
	q.mu.Unlock()
}

// depth reports what is queued: control frames and ring bytes.
func (q *sendQueue) depth() (ctrl, data int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ctrl) + len(q.overflow), q.ringLenLocked()
}
