package yamux

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send side: one goroutine (sendLoop) is the only writer of the conn.
// Producers never write; they queue, and the loop writes everything queued
// in one batch (spec.md §2.4):
//
//   - control frames (SYN, ACK, WINDOW_UPDATE, RST, PING, pong, GO_AWAY) sit
//     in a FIFO of 12-byte headers and go out ahead of data;
//   - DATA frames and FINs are copied into a fixed-size byte ring, so Write
//     never keeps the caller's slice, small writes coalesce, and a stream's
//     DATA and FIN leave in order. A writer waits while the ring is full.
//
// A FIN must never block (Stream.Close never blocks), so when the ring is
// full it waits in a small overflow list that the loop moves into the ring,
// ahead of any new DATA, as room appears.

// ringSize is the byte capacity of the data ring: four default frames.
const ringSize = 4 * (64*1024 + frame.HeaderSize)

// closeFlushTimeout bounds the final flush and GO_AWAY of Close.
const closeFlushTimeout = time.Second

// lingerTimeout bounds how long Close, after its final write, waits for
// the peer's EOF (see linger); like closeFlushTimeout it is capped by
// ConnectionWriteTimeout.
const lingerTimeout = time.Second

type sendQueue struct {
	s *Session

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
	// overflow are stream frames without payload (FIN) that found the ring
	// full; while it is non-empty the ring counts as full.
	overflow []frame.Header
	// spaceCh is closed when ring space or reply room is freed; nil when
	// nobody waits.
	spaceCh chan struct{}
	// mode and code are the final write's, once the session is finishing.
	finishing bool
	mode      shutdownMode
	code      ErrorCode
	stopped   bool // the send loop has exited: nothing is queued any more

	// ready wakes the send loop.
	ready chan struct{}

	// Owned by sendLoop.
	writeTimer   *time.Timer
	timedOut     atomic.Bool
	closeTimer   *time.Timer
	ctrlBytes    []byte
	spareHeaders []frame.Header
	bufs         net.Buffers
	writing      net.Buffers
}

func (q *sendQueue) init(s *Session) {
	q.s = s
	q.ready = make(chan struct{}, 1)
}

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
	return q.spaceChLocked()
}

func (q *sendQueue) spaceChLocked() chan struct{} {
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
}

func (q *sendQueue) copyInLocked(p []byte) {
	for len(p) > 0 {
		at := int(q.tail % uint64(len(q.ring)))
		n := copy(q.ring[at:], p)
		q.tail += uint64(n)
		p = p[n:]
	}
}

// dataRoomLocked returns how many payload bytes fit in the ring now (after
// a header), or a channel to wait on when fewer than minBytes fit.
func (q *sendQueue) dataRoomLocked(minBytes int) (int, <-chan struct{}) {
	free := ringSize - q.ringLenLocked() - frame.HeaderSize
	if len(q.overflow) > 0 || free < minBytes {
		return 0, q.spaceChLocked()
	}
	return free, nil
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

// release drops the queue's buffers when the send loop exits, so a closed
// Session that the application still references does not pin them.
func (q *sendQueue) release() {
	q.mu.Lock()
	q.stopped = true
	q.ring, q.ctrl, q.overflow = nil, nil, nil
	q.mu.Unlock()
	q.ctrlBytes, q.spareHeaders, q.bufs, q.writing = nil, nil, nil, nil
}

// finish tells the send loop to make its final write; called once by
// Session.shutdown.
func (q *sendQueue) finish(mode shutdownMode, code ErrorCode) {
	q.mu.Lock()
	q.finishing, q.mode, q.code = true, mode, code
	if q.spaceCh != nil {
		close(q.spaceCh)
		q.spaceCh = nil
	}
	q.mu.Unlock()
	if mode != shutdownNow {
		// Bound the final write: if the peer does not read, close anyway.
		q.closeTimer = time.AfterFunc(min(q.s.config.ConnectionWriteTimeout, closeFlushTimeout), q.s.closeConn)
	}
}

// sendLoop is the session's only writer. Each round it takes everything
// queued and writes it with one (vectored) write.
func (s *Session) sendLoop() {
	q := &s.send
	defer close(s.sendDone)
	defer q.release()
	q.writeTimer = time.AfterFunc(time.Hour, func() {
		q.timedOut.Store(true)
		// Record the cause before the conn closes: otherwise the receive
		// loop's failing read may end the session first, with a misleading
		// "use of closed connection".
		s.fail(ErrConnectionWriteTimeout)
		s.closeConn()
	})
	q.writeTimer.Stop()
	defer q.writeTimer.Stop()
	for {
		select {
		case <-q.ready:
		case <-s.done:
			s.finalWrite()
			return
		}
		if err := s.writeQueued(); err != nil {
			s.writeFailed(err)
			return
		}
	}
}

// writeQueued writes batches until the queues are empty.
func (s *Session) writeQueued() error {
	q := &s.send
	for {
		q.mu.Lock()
		if q.finishing {
			q.mu.Unlock()
			return nil // finalWrite takes over
		}
		ctrl := q.ctrl
		q.ctrl = q.spareHeaders[:0]
		pongs, resets := q.pongs, q.resets
		head, tail := q.head, q.tail
		q.mu.Unlock()
		if len(ctrl) == 0 && head == tail {
			q.spareHeaders = ctrl
			return nil
		}
		err := s.writeBatch(ctrl, head, tail, nil)
		q.spareHeaders = ctrl[:0]
		if err != nil {
			return err
		}
		q.mu.Lock()
		q.pongs -= pongs
		q.resets -= resets
		q.head = tail
		q.drainOverflowLocked()
		if q.spaceCh != nil {
			close(q.spaceCh)
			q.spaceCh = nil
		}
		q.mu.Unlock()
	}
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

// writeBatch writes control headers, then ring bytes [head, tail), then
// extra, under ConnectionWriteTimeout.
func (s *Session) writeBatch(ctrl []frame.Header, head, tail uint64, extra []byte) error {
	q := &s.send
	q.ctrlBytes = q.ctrlBytes[:0]
	for i := range ctrl {
		q.ctrlBytes = append(q.ctrlBytes, ctrl[i][:]...)
	}
	q.bufs = q.bufs[:0]
	if len(q.ctrlBytes) > 0 {
		q.bufs = append(q.bufs, q.ctrlBytes)
	}
	if head != tail {
		size := uint64(len(q.ring))
		from, to := int(head%size), int(tail%size)
		if from < to {
			q.bufs = append(q.bufs, q.ring[from:to])
		} else {
			q.bufs = append(q.bufs, q.ring[from:], q.ring[:to])
		}
	}
	if len(extra) > 0 {
		q.bufs = append(q.bufs, extra)
	}
	q.writeTimer.Reset(s.config.ConnectionWriteTimeout)
	q.writing = q.bufs                  // WriteTo consumes its receiver; q.bufs keeps the backing array
	_, err := q.writing.WriteTo(s.conn) // writev on a *net.TCPConn
	q.writeTimer.Stop()
	if err != nil && q.timedOut.Load() {
		return ErrConnectionWriteTimeout
	}
	return err
}

// writeFailed ends the session after a failed write. A peer that sends
// GO_AWAY(code) and closes makes our next write fail, often before the
// receive loop has read that GO_AWAY: the peer's reason must win over our
// symptom. So, unless the write timed out, the receive loop first gets the
// chance to read what the peer sent before it closed; it ends the session
// itself on the GO_AWAY, or on the read error that follows. A conn that
// fails writes while reads still work is failed with the write error after
// the same bound as the final write.
func (s *Session) writeFailed(err error) {
	if !errors.Is(err, ErrConnectionWriteTimeout) {
		t := time.NewTimer(min(s.config.ConnectionWriteTimeout, closeFlushTimeout))
		defer t.Stop()
		select {
		case <-s.done:
			return // the session ended on what the peer sent, or it was closed
		case <-s.recvDone:
		case <-t.C:
		}
	}
	s.fail(err)
}

// closeWriter is a conn that can half-close: *net.TCPConn, *net.UnixConn,
// *tls.Conn, memconn.
type closeWriter interface{ CloseWrite() error }

// finalWrite runs once the session is finishing: depending on the mode it
// flushes the queues and sends GO_AWAY, then lingers (see linger) and
// closes the conn.
func (s *Session) finalWrite() {
	q := &s.send
	defer func() {
		s.closeConn()
		if q.closeTimer != nil {
			q.closeTimer.Stop()
		}
	}()
	q.mu.Lock()
	mode, code := q.mode, q.code
	ctrl := q.ctrl
	head, tail := q.head, q.tail
	overflow := q.overflow
	q.ctrl, q.overflow = nil, nil
	q.pongs, q.resets = 0, 0
	q.mu.Unlock()
	if mode == shutdownNow {
		return
	}
	goAway := frame.New(frame.TypeGoAway, 0, 0, uint32(code))
	var extra []byte
	if mode == shutdownFlush {
		for _, h := range overflow {
			extra = append(extra, h[:]...)
		}
	} else {
		ctrl, head, tail = nil, 0, 0
	}
	extra = append(extra, goAway[:]...)
	if err := s.writeBatch(ctrl, head, tail, extra); err != nil {
		return
	}
	if q.closeTimer != nil {
		q.closeTimer.Stop()
	}
	s.linger()
}

// linger is the lingering close (spec.md §6.3). Closing a socket whose
// receive buffer still holds unread bytes makes the kernel answer with
// RST, and the peer's kernel then discards what it had received from us
// but not yet delivered: the end of our data and the GO_AWAY. So once the
// final frames are written we half-close (the peer reads EOF after them)
// and let the receive loop, which owns the reads, discard whatever the
// peer still sends until its EOF. A peer like us ends its session on our
// EOF and closes, so this normally takes one round trip; lingerTimeout
// bounds it when the peer never closes. A conn that cannot half-close
// (net.Pipe, most wrappers) has no kernel buffer behind it to reset and
// is closed at once.
func (s *Session) linger() {
	cw, ok := s.conn.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	t := time.NewTimer(min(s.config.ConnectionWriteTimeout, lingerTimeout))
	defer t.Stop()
	select {
	case <-s.recvDone: // the peer's EOF (or a read error)
	case <-t.C:
	}
}
