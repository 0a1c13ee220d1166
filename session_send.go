package yamux

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send loop: one goroutine (sendLoop) is the only writer of the conn.
// Producers never write; they queue (sendqueue.go), and the loop writes
// everything queued in one (vectored) write per round, control frames
// first.

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

// sendLoopState is owned by the send loop (closeTimer: armed by shutdown
// before done is closed, then the loop's).
type sendLoopState struct {
	writeTimer   *time.Timer
	timedOut     atomic.Bool
	closeTimer   *time.Timer
	ctrlBytes    []byte
	spareHeaders []frame.Header
	bufs         net.Buffers
	writing      net.Buffers
}

// armCloseTimer bounds the final write: if the peer does not read, the
// conn is closed anyway.
func (s *Session) armCloseTimer(mode shutdownMode) {
	if mode != shutdownNow {
		s.loop.closeTimer = time.AfterFunc(min(s.config.ConnectionWriteTimeout, closeFlushTimeout), s.closeConn)
	}
}

// sendLoop is the session's only writer. Each round it takes everything
// queued and writes it with one (vectored) write.
func (s *Session) sendLoop() {
	l := &s.loop
	defer close(s.sendDone)
	defer func() {
		s.send.release()
		l.ctrlBytes, l.spareHeaders, l.bufs, l.writing = nil, nil, nil, nil
	}()
	l.writeTimer = time.AfterFunc(time.Hour, func() {
		l.timedOut.Store(true)
		// Record the cause before the conn closes: otherwise the receive
		// loop's failing read may end the session first, with a misleading
		// "use of closed connection".
		s.fail(ErrConnectionWriteTimeout)
		s.closeConn()
	})
	l.writeTimer.Stop()
	defer l.writeTimer.Stop()
	for {
		select {
		case <-s.send.ready:
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

// writeQueued writes batches until the queue is empty.
func (s *Session) writeQueued() error {
	l := &s.loop
	for {
		b, ok := s.send.take(l.spareHeaders)
		if !ok {
			return nil // empty, or finalWrite takes over
		}
		err := s.writeBatch(b, nil)
		l.spareHeaders = b.ctrl[:0]
		if err != nil {
			return err
		}
		s.send.commit(b)
	}
}

// writeBatch writes b's control headers, then its ring bytes, then extra,
// under ConnectionWriteTimeout.
func (s *Session) writeBatch(b sendBatch, extra []byte) error {
	l := &s.loop
	l.ctrlBytes = l.ctrlBytes[:0]
	for i := range b.ctrl {
		l.ctrlBytes = append(l.ctrlBytes, b.ctrl[i][:]...)
	}
	l.bufs = l.bufs[:0]
	if len(l.ctrlBytes) > 0 {
		l.bufs = append(l.bufs, l.ctrlBytes)
	}
	l.bufs = s.send.ringSegments(l.bufs, b.head, b.tail)
	if len(extra) > 0 {
		l.bufs = append(l.bufs, extra)
	}
	l.writeTimer.Reset(s.config.ConnectionWriteTimeout)
	var err error
	if s.buffersWriter != nil {
		_, err = s.buffersWriter.WriteBuffers(l.bufs)
	} else {
		l.writing = l.bufs                 // WriteTo consumes its receiver; l.bufs keeps the backing array
		_, err = l.writing.WriteTo(s.conn) // writev on a *net.TCPConn
	}
	l.writeTimer.Stop()
	if err != nil && l.timedOut.Load() {
		return ErrConnectionWriteTimeout
	}
	if err == nil {
		s.stats.countSent(b, extra)
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
// flushes the queue and sends GO_AWAY, then lingers (see linger) and
// closes the conn.
func (s *Session) finalWrite() {
	l := &s.loop
	defer func() {
		s.closeConn()
		if l.closeTimer != nil {
			l.closeTimer.Stop()
		}
	}()
	mode, code, b, overflow := s.send.takeFinal()
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
	var extra []byte
	if mode == shutdownFlush {
		for _, h := range overflow {
			extra = append(extra, h[:]...)
		}
	} else {
		b = sendBatch{}
	}
	extra = append(extra, goAway[:]...)
	if err := s.writeBatch(b, extra); err != nil {
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
