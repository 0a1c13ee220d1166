package yamux

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Writing the conn: whoever holds the send queue's writer role
// (sendqueue.go) writes everything it takes in one (vectored) write,
// control frames first: an application goroutine whose Write found the
// role free, or the send loop, which writes what no application goroutine
// will (frames queued by the receive loop, timers and Close) and performs
// the final write and lingering close.

// closeFlushTimeout bounds the final flush and GO_AWAY of Close.
const closeFlushTimeout = time.Second

// lingerTimeout bounds how long Close, after its final write, waits for
// the peer's EOF (see linger); like closeFlushTimeout it is capped by
// ConnectionWriteTimeout.
const lingerTimeout = time.Second

// BuffersWriter is implemented by connections that write a whole batch of
// buffers as one unit, such as a security layer that seals them into as
// few records as possible (noise.Conn). The send loop hands such a
// connection each batch in one call; on any other connection it uses
// net.Buffers.WriteTo, which is one writev on a socket but one Write per
// buffer elsewhere.
type BuffersWriter interface {
	WriteBuffers(bufs [][]byte) (int64, error)
}

// sendLoopState belongs to the writer role's holder: whoever writes
// (closeTimer: armed by shutdown before done is closed, then the loop's).
type sendLoopState struct {
	// The watchdog bounds every write by ConnectionWriteTimeout without a
	// timer operation per write (changing a runtime timer wakes the
	// runtime's network poller or another thread, which per message cost
	// a request/response exchange its tail latency): writeStart is when
	// the write in progress began (monoNow; 0 when none), watching says
	// the watchdog timer runs; it fires at most once per timeout while
	// writes go on (writeWatchdog).
	writeWatch *time.Timer
	writeStart atomic.Int64
	watching   atomic.Bool
	timedOut   atomic.Bool
	closeTimer *time.Timer
	hdrBytes   []byte
	bufs       net.Buffers
	writing    net.Buffers
	spareCtrl  []frame.Header
	spareLane  []laneEntry
	flat       []byte // writeFlat's buffer, made on first use
	tuned      bool   // tuneConn has been called
	// piece is segmentedWrite's piece size (0: batches are written
	// whole), read with readPiece every pieceRefresh large batches.
	readPiece func() int
	piece     int
	pieceAge  int
	pieceBufs net.Buffers
	pieceOut  net.Buffers
}

// tuneBatch is the batch size from which the conn is tuned (tuneConn).
const tuneBatch = 64 << 10

// pieceRefresh is how many batches of tuneBatch bytes or more are written
// between two readings of the write piece size (tuneConn).
const pieceRefresh = 64

// armCloseTimer bounds the final write: if the peer does not read, the
// conn is closed anyway.
func (s *Session) armCloseTimer(mode shutdownMode) {
	if mode != shutdownNow {
		s.loop.closeTimer = time.AfterFunc(min(s.config.ConnectionWriteTimeout, closeFlushTimeout), s.closeConn)
	}
}

// sendLoop writes what the send queue wakes it for, when no other writer
// is at work, and performs the final write once the session ends.
func (s *Session) sendLoop() {
	defer close(s.sendDone)
	defer func() {
		s.send.release()
		if t := s.loop.writeWatch; t != nil {
			t.Stop()
		}
		s.loop.flat = nil
	}()
	for {
		select {
		case <-s.send.ready:
		case <-s.done:
			s.finalWrite()
			return
		}
		if s.send.acquire() {
			s.writeRounds(nil, true)
		}
		if err := s.send.failed(); err != nil {
			s.writeFailed(err)
			return
		}
	}
}

// writeRounds writes batches while the caller holds the writer role: until
// own (the caller's request; nil for none) has been taken and written, and
// for the send loop (loop) until nothing is left that a waiting writer
// would take; then the role is passed on (sendQueue.leave).
func (s *Session) writeRounds(own *sendReq, loop bool) {
	l := &s.loop
	for {
		b, ok := s.send.take(l.spareCtrl, l.spareLane)
		if ok {
			err := s.writeBatch(&b, nil)
			s.send.commit(&b, err)
			l.spareCtrl, l.spareLane = b.ctrl[:0], b.lane[:0]
			if err != nil {
				s.send.leave(own, loop) // wakes the send loop: it ends the session (writeFailed)
				return
			}
		}
		if !s.send.leave(own, loop) {
			return
		}
	}
}

// failed returns the error of a failed write, if one failed.
func (q *sendQueue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.writeErr
}

// writeBatch writes b's control headers, ring bytes and stream-lane
// frames, then extra, under ConnectionWriteTimeout.
func (s *Session) writeBatch(b *sendBatch, extra []byte) error {
	l := &s.loop
	// Headers first, in one buffer sized up front: the iovecs below point
	// into it.
	need := (len(b.ctrl) + len(b.lane)) * frame.HeaderSize
	if cap(l.hdrBytes) < need {
		l.hdrBytes = make([]byte, 0, max(need, 64*frame.HeaderSize))
	}
	hb := l.hdrBytes[:0]
	for i := range b.ctrl {
		hb = append(hb, b.ctrl[i][:]...)
	}
	ctrlEnd := len(hb)
	l.bufs = l.bufs[:0]
	if ctrlEnd > 0 {
		l.bufs = append(l.bufs, hb[:ctrlEnd])
	}
	l.bufs = ringSegments(l.bufs, b.ring, b.head, b.tail)
	bytes := uint64(ctrlEnd) + (b.tail - b.head)
	// Consecutive headers without payload (FINs) share one iovec.
	run := len(hb)
	for i := range b.lane {
		e := &b.lane[i]
		hb = append(hb, e.h[:]...)
		if len(e.payload) == 0 {
			continue
		}
		l.bufs = append(l.bufs, hb[run:], e.payload)
		run = len(hb)
		bytes += uint64(len(e.payload))
	}
	if run < len(hb) {
		l.bufs = append(l.bufs, hb[run:])
	}
	bytes += uint64(len(hb) - ctrlEnd)
	if len(extra) > 0 {
		l.bufs = append(l.bufs, extra)
		bytes += uint64(len(extra))
	}
	if !l.tuned && bytes >= tuneBatch {
		// Only a session that moves bulk data gets TCP_NOTSENT_LOWAT: the
		// socket then signals writability (an epoll event, a netpoll
		// wake-up) whenever its unsent bytes drain, which costs a session
		// of small messages more than it gains (churn-par32-tcp ran at
		// 1.9x go-yamux with it from the first write, 2.0-2.6x without).
		l.tuned = true
		l.readPiece = tuneConn(s.conn)
	}
	if l.readPiece != nil && bytes >= tuneBatch {
		if l.pieceAge--; l.pieceAge < 0 {
			l.piece, l.pieceAge = l.readPiece(), pieceRefresh
		}
	}
	s.startWrite()
	var err error
	switch {
	case s.buffersWriter != nil:
		_, err = s.buffersWriter.WriteBuffers(l.bufs)
	case len(l.bufs) == 1:
		// One frame (a ping-pong message): write spares writev's iovec.
		_, err = s.conn.Write(l.bufs[0])
	case !s.vectored():
		err = s.writeFlat(l.bufs)
	case l.piece > 0 && bytes > uint64(l.piece):
		err = s.segmentedWrite(l.bufs, bytes)
	default:
		l.writing = l.bufs                 // WriteTo consumes its receiver; l.bufs keeps the backing array
		_, err = l.writing.WriteTo(s.conn) // writev on a *net.TCPConn
	}
	l.writeStart.Store(0)
	clear(l.bufs) // do not pin the callers' slices
	if err != nil && l.timedOut.Load() {
		return ErrConnectionWriteTimeout
	}
	if err == nil {
		frames := len(b.ctrl) + b.ringFrames + len(b.lane) + len(extra)/frame.HeaderSize
		s.stats.countSent(bytes, frames)
	}
	return err
}

// startWrite marks the start of a write for the watchdog, arming it if it
// is not running.
func (s *Session) startWrite() {
	l := &s.loop
	l.writeStart.Store(monoNow())
	if l.watching.CompareAndSwap(false, true) {
		s.armWatchdog(s.config.ConnectionWriteTimeout)
	}
}

// armWatchdog runs the watchdog after d; only whoever set watching (or the
// watchdog itself, while it is set) calls it, so one at a time.
func (s *Session) armWatchdog(d time.Duration) {
	l := &s.loop
	if l.writeWatch == nil {
		l.writeWatch = time.AfterFunc(d, s.writeWatchdog)
		return
	}
	l.writeWatch.Reset(d)
}

// writeWatchdog fails the session if the write in progress has taken
// ConnectionWriteTimeout, waits for the rest of that time if one is in
// progress, and otherwise stops until the next write arms it again.
func (s *Session) writeWatchdog() {
	l := &s.loop
	timeout := int64(s.config.ConnectionWriteTimeout)
	if start := l.writeStart.Load(); start != 0 {
		waited := monoNow() - start
		if waited < timeout {
			s.armWatchdog(time.Duration(timeout - waited))
			return
		}
		l.timedOut.Store(true)
		// Record the cause before the conn closes: otherwise the receive
		// loop's failing read may end the session first, with a
		// misleading "use of closed connection".
		s.fail(ErrConnectionWriteTimeout)
		s.closeConn()
		return
	}
	l.watching.Store(false)
	// A write that began just now found the watchdog still running and
	// left it alone: arm it for that write.
	if start := l.writeStart.Load(); start != 0 && l.watching.CompareAndSwap(false, true) {
		s.armWatchdog(time.Duration(max(timeout-(monoNow()-start), 0)))
	}
}

// flatMax bounds the buffer writeFlat copies a batch into; a buffer of
// flatDirect bytes or more that starts a Write is written as it is.
const (
	flatMax    = 128 << 10
	flatDirect = 16 << 10
)

// vectored says whether net.Buffers.WriteTo writes a batch to the conn in
// one system call (writev): on a socket. Anywhere else (a security layer
// without BuffersWriter, a pipe) it is one Write per buffer, and a frame's
// 12-byte header becomes a record and a system call of its own.
func (s *Session) vectored() bool {
	switch s.conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// writeFlat writes bufs to a conn that is not vectored by copying them
// into one buffer of up to flatMax bytes per Write: a copy costs less
// than a record (or a system call) per buffer.
func (s *Session) writeFlat(bufs [][]byte) error {
	l := &s.loop
	if l.flat == nil {
		l.flat = make([]byte, 0, flatMax)
	}
	out := l.flat[:0]
	for _, b := range bufs {
		if len(out) == 0 && len(b) >= flatDirect {
			// A run of copied frames (the ring): already one buffer.
			if _, err := s.conn.Write(b); err != nil {
				return err
			}
			continue
		}
		for len(b) > 0 {
			n := min(len(b), flatMax-len(out))
			out = append(out, b[:n]...)
			b = b[n:]
			if len(out) == flatMax {
				if _, err := s.conn.Write(out); err != nil {
					return err
				}
				out = out[:0]
			}
		}
	}
	if len(out) > 0 {
		if _, err := s.conn.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// writePiece is the size of the pieces segmentedWrite cuts a batch into
// on a TCP connection whose maximum segment size is mss: the largest
// multiple of mss that is at most 64 KiB (the kernel's largest GSO/TSO
// packet), or mss if that is larger.
//
// Why: on loopback (MSS 65,483 bytes) a write of one 64 KiB frame plus its
// header, or of several, leaves a segment of a few dozen bytes at its end,
// and Linux spends far more per byte on such a stream of full and tiny
// segments than on full ones: measured on this project's 2-core machines
// (Linux 6.18), raw TCP moved 1.5 GiB/s in 64 KiB writes against 7 GiB/s
// in 65,483-byte ones, and our bulk stream went from 1.8 to 2.6 GiB/s
// written in pieces (BENCHMARKS.md, "Write pieces"). On a network the
// piece is about 64 KiB and costs a system call per 45 segments.
func writePiece(mss int) int {
	const gsoMax = 64 << 10
	if mss <= 0 {
		return 0
	}
	return max(gsoMax/mss*mss, mss)
}

// segmentedWrite writes bufs, total bytes, in as few pieces of at most
// l.piece bytes as it takes, all of one size (the last a few bytes
// shorter), each one writev; the cuts fall anywhere, frames included,
// since the conn is one byte stream. Equal pieces, not full ones and a
// remainder: on loopback a piece is one segment, and a short last piece
// would be the tiny segment the pieces are there to avoid (a 256 KiB
// batch goes out as 5 segments of 52 KiB, not 4 full ones and 212 bytes).
func (s *Session) segmentedWrite(bufs net.Buffers, total uint64) error {
	l := &s.loop
	size := evenPiece(int(total), l.piece)
	for len(bufs) > 0 {
		piece := l.pieceBufs[:0]
		for n := 0; len(bufs) > 0 && n < size; {
			b := bufs[0]
			if k := size - n; len(b) > k {
				piece = append(piece, b[:k])
				bufs[0] = b[k:]
				break
			}
			piece = append(piece, b)
			n += len(b)
			bufs = bufs[1:]
		}
		l.pieceBufs, l.pieceOut = piece[:0], piece // WriteTo consumes its receiver: a field, so it does not escape
		if _, err := l.pieceOut.WriteTo(s.conn); err != nil {
			clear(l.pieceBufs[:cap(l.pieceBufs)])
			return err
		}
	}
	clear(l.pieceBufs[:cap(l.pieceBufs)]) // do not pin the callers' slices
	return nil
}

// evenPiece is the size of the pieces that split total bytes into as few
// pieces of at most max bytes as possible, all of one size but the last,
// which is at most a few bytes shorter.
func evenPiece(total, max int) int {
	n := (total + max - 1) / max
	return (total + n - 1) / n
}

// ringSegments appends to bufs the ring bytes [head, tail): the writer
// reads them without the lock, since producers only write beyond tail
// until the batch is committed.
func ringSegments(bufs [][]byte, ring []byte, head, tail uint64) [][]byte {
	if head == tail {
		return bufs
	}
	size := uint64(len(ring))
	from, to := int(head%size), int(tail%size)
	if from < to {
		return append(bufs, ring[from:to])
	}
	return append(bufs, ring[from:], ring[:to])
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

// finalWrite runs once the session is finishing: it waits for the writer
// role, then, depending on the mode, flushes the queue and sends GO_AWAY,
// then lingers (see linger) and closes the conn.
func (s *Session) finalWrite() {
	l := &s.loop
	defer func() {
		s.closeConn()
		if l.closeTimer != nil {
			l.closeTimer.Stop()
		}
	}()
	mode, code, b, ok := s.send.takeFinal()
	if !ok {
		return // a write failed: the conn is broken
	}
	switch mode {
	case shutdownNow:
		return
	case shutdownQuiet:
		if l.closeTimer != nil {
			l.closeTimer.Stop()
		}
		s.linger()
		return
	}
	goAway := frame.New(frame.TypeGoAway, 0, 0, uint32(code))
	err := s.writeBatch(&b, goAway[:])
	s.send.commit(&b, err)
	if err != nil {
		return
	}
	s.stats.goAway(true, code)
	if l.closeTimer != nil {
		l.closeTimer.Stop()
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
