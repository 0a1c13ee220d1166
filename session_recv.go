package yamux

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Protocol violations detected by the receive loop (spec.md §7).
var (
	errStreamZero     = errors.New("yamux: DATA or WINDOW_UPDATE on stream 0")
	errSessionStream  = errors.New("yamux: PING or GO_AWAY on a non-zero stream")
	errWrongParity    = errors.New("yamux: SYN with a stream id of our parity")
	errDuplicateSYN   = errors.New("yamux: SYN for a live stream")
	errSYNBodyTooLong = fmt.Errorf("%w: DATA with SYN exceeds the initial window", ErrRecvWindowExceeded) // spec.md §7.1 item 6
	errUselessFrames  = errors.New("yamux: too many frames that change nothing")
	errRapidReset     = errors.New("yamux: too many streams opened past MaxIncomingStreams")
)

// rapidResetFactor: how many SYNs, in multiples of MaxIncomingStreams, may
// be refused at the limit before a slot frees up (HTTP/2 servers use the
// same 4x queue bound against rapid reset).
const rapidResetFactor = 4

// recvLoop is the session's receive loop: it reads frames from the conn
// whenever it holds the read role (recvrole.go), which is always on conns
// a Read may not read itself, and acts on them; it never blocks on a
// stream: DATA is copied into the stream's buffer, which the window
// bounds. Once the session ends it reads until the peer's EOF.
func (s *Session) recvLoop() {
	defer close(s.recvDone)
	// A closed Session may stay referenced by the application: its read
	// buffer goes back to the pool (only the role's holder uses it, and
	// the role is the loop's for good by then).
	defer func() {
		s.releaseReadBuffers()
		s.rd.stop()
	}()
	// If the session was already ending and the read failed, it failed
	// because of that.
	s.failRead(s.readFrames())
	// A Read holding the role is interrupted by the shutdown and hands it
	// back when it leaves.
	for !s.rd.loopHolds() {
		<-s.rd.wake
	}
	// Read and discard until the peer's EOF or until the conn is closed,
	// so that the final write can linger (Session.linger) without our
	// kernel resetting the connection. After a failed read, or once the
	// conn is closed, this returns at once.
	// The read buffer does the discarding: nothing is allocated.
	for {
		if _, err := s.br.Discard(max(s.br.Buffered(), 1)); err != nil {
			return
		}
	}
}

// readFrames handles frames while the loop holds the read role, until the
// conn fails or the session ends.
func (s *Session) readFrames() error {
	// Only the loop itself gives the role away (leaveIdle): while it holds
	// it, it need not look.
	holds := true
	for {
		if !holds {
			select {
			case <-s.rd.wake:
			case <-s.rd.graceChan():
				s.rd.graceExpired()
			case <-s.done:
				return nil
			}
			holds = s.rd.loopHolds()
			continue
		}
		if s.err() != nil {
			return nil // the session ended; what follows is discarded (recvLoop)
		}
		gave, err := s.step()
		if err != nil {
			return err
		}
		if turnDone(&s.recvRun, 0, &s.recvTurn) {
			// The streams just handed data may be waiting for this P.
			s.yieldTurn()
		}
		if gave != nil && s.br.Buffered() == 0 {
			holds = !s.rd.leaveIdle(gave)
		}
	}
}

// readFor reads the conn for st's Read, which holds the read role, until
// st has data for it or a reason to stop waiting (Stream.readStatus), then
// gives the role up (readRole.release). Frames for other streams, and
// control frames, are handled on the way exactly as the receive loop
// handles them; a read error or a protocol violation ends the session
// here as it would there.
func (s *Session) readFor(st *Stream) {
	s.byStream = true
	toLoop := false
	defer func() {
		// The holder's own state is left as found before the role goes:
		// whoever takes it next reads it.
		s.byStream = false
		if toLoop {
			s.rd.handToLoop(st)
		} else {
			s.rd.release(st)
		}
	}()
	for {
		got, room, leave := st.readStatus()
		// With data in hand, go on only while more can be handled without
		// waiting for the conn and the slice has room: a stream of small
		// frames then fills one Read, as it does from the buffer.
		if leave || got && (!room || !s.bufferedStep()) {
			return
		}
		// What is buffered is handled as the receive loop handles it, with
		// none of the role's bookkeeping around reads of the conn (a kick
		// meanwhile is seen before the next one, enterRead), and, as there,
		// nothing once the session has ended: a frame that ends it (a
		// GO_AWAY, a protocol error) may have more behind it in the buffer.
		for s.err() == nil && s.bufferedStep() && !(s.body.left == 0 && s.send.repliesFull()) {
			if _, err := s.step(); err != nil {
				s.failRead(err)
				return
			}
		}
		if s.body.left == 0 && s.send.repliesFull() {
			// Only the receive loop waits for reply room (waitReplyRoom):
			// a peer piling up pings or resets is its business.
			toLoop = true
			return
		}
		if got, _, leave := st.readStatus(); got || leave {
			return
		}
		if !s.rd.enterRead(st) {
			continue // kicked before it read: look at the stream again
		}
		err := s.stepFor(st)
		if s.rd.exitRead() && isTimeout(err) {
			continue // interrupted by a kick, nothing lost
		}
		if err != nil {
			s.failRead(err)
			return
		}
	}
}

// failRead ends the session because of what reading the conn found (the
// receive loop's or a Read's), unless it is already ending.
func (s *Session) failRead(err error) {
	select {
	case <-s.done:
	default:
		s.fail(err)
	}
}

// bufferedStep says whether the next step can be taken from the read
// buffer alone, without reading the conn.
func (s *Session) bufferedStep() bool {
	if s.body.left > 0 {
		return s.br.Buffered() > 0
	}
	return s.br.Buffered() >= frame.HeaderSize-s.hdrN
}

// isTimeout reports whether err is a read deadline's timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// bodyState is the DATA body being read: left bytes of the frame with
// header h, for st, or to be discarded (st nil). It lives in the session,
// not on a goroutine's stack, because the read role may change hands in
// the middle of a body.
type bodyState struct {
	st   *Stream
	left uint32
	h    frame.Header
}

// step reads and acts on one unit of what the conn brings: a frame header
// (and everything the header alone decides), or one piece of the DATA body
// being read. It returns the stream whose Read, waiting for data, it gave
// data to, if it did. A step interrupted by a read deadline (a holding
// Read's kick) consumes nothing it has not acted on, so the next step goes
// on from there.
func (s *Session) step() (gave *Stream, err error) {
	if s.body.left == 0 {
		h, err := s.readHeader()
		if err != nil {
			return nil, err
		}
		if err := s.handleHeader(h); err != nil {
			return nil, err
		}
		if s.body.left == 0 || s.br.Buffered() < int(s.body.left) {
			return nil, nil
		}
		// The whole body is here too (a small frame): on with it.
	}
	return s.readBodyPiece()
}

// bigFrame is the DATA payload from which a Read holding the read role
// reads the next header apart from the read buffer, so that the body after
// it goes from the conn straight into the Read's slice (stepFor): one copy
// fewer per byte, for a system call more per frame where the header cannot
// come with the body before it (bodyReader).
const bigFrame = 16 * 1024

// stepFor is step for st's Read holding the read role. When nothing is
// buffered ahead, st's body is read from the conn straight into the
// Read's slice, with no copy; and while frames are large (bigFrames) and
// the slice has room for one, the next header is read apart from the read
// buffer, so that the body after it can be: with the end of the body
// before it in one system call where a bodyReader can, else on its own.
func (s *Session) stepFor(st *Stream) error {
	if s.br.Buffered() > 0 {
		_, err := s.step()
		return err
	}
	if s.body.left > 0 && s.body.st == st {
		if dst := st.parkedSpare(); len(dst) > 0 {
			s.dropBigReadBuffer()
			dst = dst[:min(len(dst), int(s.body.left))]
			var n, nh int
			var err error
			if s.bodyReader != nil && s.bigFrames && len(dst) == int(s.body.left) {
				// A large body's end: the next header comes in the same
				// system call, if it has arrived. Not after a small body:
				// the read buffer takes a run of small frames in one read,
				// and a header read here would lead to the next small body
				// being read on its own too.
				n, nh, err = s.bodyReader.read(dst, s.hdr[s.hdrN:])
			} else {
				n, err = s.conn.Read(dst)
			}
			if n > 0 {
				st.deliverInPlace(n)
				s.bodyRead(uint32(n))
			}
			s.hdrN += nh
			return err
		}
	}
	if s.body.left == 0 && s.bigFrames && len(st.parkedSpare()) >= bigFrame {
		s.dropBigReadBuffer()
		if s.hdrN < frame.HeaderSize {
			n, err := s.conn.Read(s.hdr[s.hdrN:])
			s.hdrN += n
			if s.hdrN < frame.HeaderSize {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF // a header cut short
				}
				return err
			}
		}
		s.hdrN = 0
		h, err := s.decodeHeader(s.hdr[:])
		if err != nil {
			return err
		}
		return s.handleHeader(h)
	}
	_, err := s.step()
	return err
}

// handleHeader acts on a validated frame header.
func (s *Session) handleHeader(h frame.Header) error {
	var err error
	useful := true
	switch h.Type() {
	case frame.TypeData, frame.TypeWindowUpdate:
		useful, err = s.handleStreamFrame(h)
	case frame.TypePing:
		useful, err = s.handlePing(h)
	case frame.TypeGoAway:
		err = s.handleGoAway(h)
	}
	if err != nil {
		return err
	}
	s.framesRecv.Add(1)
	if s.byStream {
		s.stats.framesByStreams.Add(1)
	}
	s.stats.bytesRecv.Add(uint64(frame.HeaderSize) + uint64(bodyLen(h)))
	if useful {
		s.uselessFrames = 0
	} else if s.uselessFrames++; s.uselessFrames > maxUselessFrames {
		return protocolError(errUselessFrames)
	}
	return nil
}

// readHeader reads and validates the next header through the read buffer,
// completing one that stepFor began to read on its own. It peeks before it
// consumes, so a read interrupted half way through a header loses nothing.
func (s *Session) readHeader() (frame.Header, error) {
	need := frame.HeaderSize - s.hdrN
	b, err := s.fillReadBuffer(need)
	if err != nil {
		if (len(b) > 0 || s.hdrN > 0) && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return frame.Header{}, err
	}
	if s.hdrN > 0 {
		copy(s.hdr[s.hdrN:], b)
		b, s.hdrN = s.hdr[:], 0
	}
	h, err := s.decodeHeader(b)
	if err != nil {
		return h, err
	}
	s.br.Discard(need) // buffered: cannot fail
	return h, nil
}

// decodeHeader validates a header's 12 bytes; a bad one is the peer's
// protocol violation (spec.md §7).
func (s *Session) decodeHeader(b []byte) (frame.Header, error) {
	h, err := frame.Decode(b, s.config.MaxStreamWindowSize)
	if err != nil {
		return h, protocolError(err)
	}
	return h, nil
}

// maxUselessFrames is how many frames in a row may change nothing (empty
// DATA, tiny window updates, frames for unknown streams, repeated flags,
// pongs we did not ask for) before the peer is judged to be flooding us
// (spec.md §7).
// Honest peers interleave such frames with useful ones.
const maxUselessFrames = 10000

// minUsefulDelta is the smallest window update that counts as useful;
// implementations batch updates to at least half a window.
const minUsefulDelta = 1024

// handleStreamFrame handles DATA and WINDOW_UPDATE, whose flags mean the
// same on both types (spec.md §3.3). It reports whether the frame did
// anything useful.
func (s *Session) handleStreamFrame(h frame.Header) (bool, error) {
	id := h.StreamID()
	if id == 0 {
		return false, protocolError(errStreamZero)
	}
	if h.Flags()&frame.FlagSYN != 0 {
		st, err := s.incomingStream(h)
		if err != nil {
			return false, err
		}
		if st == nil {
			// Refused (answered with RST, which the reply bound paces)
			// or the session is ending: not flooding by this measure.
			s.startBody(nil, bodyLen(h), h)
			return true, nil
		}
		_, err = s.applyStreamFrame(st, h)
		return true, err
	}
	s.mu.Lock()
	st := s.streams[id]
	s.mu.Unlock()
	if st == nil {
		// Unknown, closed or refused stream: ignore, but consume the body
		// (spec.md §3.7). ReadHeader bounded its length. A payload is not
		// a flood: an honest peer keeps writing to a stream until our RST
		// reaches it, and it pays for every byte.
		n := bodyLen(h)
		s.startBody(nil, n, h)
		return n > 0, nil
	}
	return s.applyStreamFrame(st, h)
}

// bodyLen is the payload length of a frame: DATA's length, 0 otherwise.
func bodyLen(h frame.Header) uint32 {
	if h.Type() == frame.TypeData {
		return h.Length()
	}
	return 0
}

// applyStreamFrame lets st decide what the frame means (receiveHeader),
// then does the I/O the decision asks for: reading the body into the
// stream or past it, the RST reply, and the release of the stream's
// session resources.
func (s *Session) applyStreamFrame(st *Stream, h frame.Header) (bool, error) {
	d, err := st.receiveHeader(h)
	if err != nil {
		return false, err
	}
	if d.ackSlot {
		<-s.ackSlots // never blocks: the stream held the slot
	}
	if d.replyRST {
		s.stats.streamProtocolErrors.Add(1)
		if err := s.waitReplyRoom(replyReset); err != nil {
			return false, err
		}
		s.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagRST, st.id, 0), replyReset)
	}
	if d.terminal {
		st.release()
	}
	if d.discard > 0 {
		s.startBody(nil, d.discard, h)
	}
	if d.deliver > 0 {
		// The FIN, if any, is applied once the body is delivered
		// (bodyRead).
		s.bigFrames = d.deliver >= bigFrame
		s.startBody(st, d.deliver, h)
		return true, nil
	}
	return d.useful, nil
}

// incomingStream handles a SYN. It returns nil when the stream is refused
// (RST sent) or the session is ending.
func (s *Session) incomingStream(h frame.Header) (st *Stream, err error) {
	id := h.StreamID()
	if (id%2 == 1) == s.client {
		return nil, protocolError(fmt.Errorf("%w: %d", errWrongParity, id))
	}
	if h.Type() == frame.TypeData && h.Length() > initialWindow {
		return nil, protocolError(errSYNBodyTooLong)
	}
	// Reserved before taking mu: the manager is not called under it.
	mem, memErr := s.reserveStream()
	defer func() {
		if st == nil {
			mem.done()
		}
	}()
	s.mu.Lock()
	if _, live := s.streams[id]; live {
		s.mu.Unlock()
		return nil, protocolError(fmt.Errorf("%w: %d", errDuplicateSYN, id))
	}
	if s.err() != nil {
		s.mu.Unlock()
		return nil, nil
	}
	atLimit := s.numIncoming >= s.config.MaxIncomingStreams
	if atLimit {
		// Slots are held until the application has released its streams,
		// even those the peer reset, so handlers stay bounded; a peer that
		// keeps pushing past that is flooding us (spec.md §7).
		if s.refusedAtLimit++; s.refusedAtLimit > rapidResetFactor*s.config.MaxIncomingStreams {
			s.mu.Unlock()
			return nil, protocolError(errRapidReset)
		}
	}
	// A full backlog is looked at before a stream is made for nothing:
	// it only gains room meanwhile (AcceptStream takes without mu).
	refuse := s.localGoAway || s.remoteGoAway != nil || atLimit || memErr != nil || s.accepts.full()
	if !refuse {
		st = newStream(s, id, hsAckPending)
		st.mem = mem
		if s.accepts.push(st) {
			s.streams[id] = st
			s.numIncoming++
			s.stats.streamsInbound.Add(1)
			// The spec's initial window, granted by the peer's SYN (st
			// belongs to the acceptor now: its fields are not ours to read).
			s.stats.windowGranted.Add(initialWindow)
		} else {
			refuse = true
			st = nil
		}
	}
	s.mu.Unlock()
	if refuse {
		reason := ErrBacklogFull
		if memErr != nil {
			reason = memErr
		}
		s.logger.Debug("yamux: refusing stream", "id", id, "err", reason)
		s.stats.streamsRefused.Add(1)
		if err := s.waitReplyRoom(replyReset); err != nil {
			return nil, err
		}
		s.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagRST, id, 0), replyReset)
	}
	return st, nil
}

// waitReplyRoom blocks the receive loop while the replies of kind pending
// are at their bound: we stop reading rather than grow the queue. Only a
// peer unlike us gets here (config.go, maxPendingPongs).
func (s *Session) waitReplyRoom(kind replyKind) error {
	for {
		wait := s.send.replyRoom(kind)
		if wait == nil {
			return nil
		}
		s.stats.replyPauses.Add(1)
		select {
		case <-wait:
		case <-s.done:
			return s.err()
		}
	}
}

// startBody makes the next steps read n body bytes of h into st, or
// discard them (st nil).
func (s *Session) startBody(st *Stream, n uint32, h frame.Header) {
	s.body = bodyState{st: st, left: n, h: h}
	if st != nil {
		s.recvTurn.frame(st.id, int(n))
	}
}

// readBodyPiece reads what has arrived of the body being read, at least
// one byte: into its stream (deliver: a waiting Read's slice or the
// stream's buffer) or past it. Nothing of the stream's is held while
// waiting for the network, so a parked Read is never held up by a
// trickling peer. The body's last piece applies the frame's FIN.
func (s *Session) readBodyPiece() (gave *Stream, err error) {
	b := &s.body
	if b.st == nil {
		n, err := s.br.Discard(int(b.left))
		b.left -= uint32(n)
		return nil, err
	}
	if s.br.Buffered() == 0 {
		if _, err := s.fillReadBuffer(1); err != nil {
			return nil, err
		}
	}
	k := min(int(b.left), s.br.Buffered())
	p, _ := s.br.Peek(k)
	if b.st.deliver(p) {
		gave = b.st
	}
	s.br.Discard(k) // buffered: cannot fail
	s.bodyRead(uint32(k))
	return gave, nil
}

// bodyRead accounts for n bytes of the body being read, delivered; its
// last byte applies the frame's FIN.
func (s *Session) bodyRead(n uint32) {
	s.recvRun += n
	b := &s.body
	b.left -= n
	if b.left > 0 {
		return
	}
	st, h := b.st, b.h
	b.st = nil
	if h.Flags()&frame.FlagFIN != 0 {
		if end := st.endFrame(h); end.terminal {
			st.release()
		}
	}
}

// handlePing answers a PING(SYN) and matches a pong. It reports whether
// the frame did anything: a pong we did not ask for, or a PING with
// neither SYN nor ACK, changes nothing and so counts toward
// maxUselessFrames; otherwise one such frame per 10,000 would let a flood
// of useless frames go on for free.
func (s *Session) handlePing(h frame.Header) (bool, error) {
	if h.StreamID() != 0 {
		return false, protocolError(errSessionStream)
	}
	flags := h.Flags()
	switch {
	case flags&frame.FlagSYN != 0:
		// Exactly one pong per ping, with only ACK set (spec.md §5).
		s.stats.pingsRecv.Add(1)
		if err := s.waitReplyRoom(replyPong); err != nil {
			return false, err
		}
		s.send.control(frame.New(frame.TypePing, frame.FlagACK, 0, h.Length()), replyPong)
		return true, nil
	case flags&frame.FlagACK != 0:
		return s.handlePong(h.Length()), nil
	}
	return false, nil
}

func (s *Session) handleGoAway(h frame.Header) error {
	if h.StreamID() != 0 {
		return protocolError(errSessionStream)
	}
	code := ErrorCode(h.Length())
	s.stats.goAway(false, code)
	reason := &SessionError{Code: code, Remote: true, Cause: ErrRemoteGoAway}
	if code != CodeNormal {
		s.logger.Debug("yamux: peer went away with an error", "code", code)
		// Nothing more to say to it, but the conn is not closed at once:
		// frames the peer sent after its GO_AWAY would still be unread,
		// and closing on them resets the connection, destroying what we
		// sent before that the peer has not read yet (spec.md §6.3).
		s.shutdown(reason, shutdownQuiet)
		return nil
	}
	// GO_AWAY(normal): no new streams either way; existing ones finish,
	// then the session ends (spec.md §6).
	s.mu.Lock()
	if s.err() != nil {
		// The session has ended (it lingers, reading): a GO_AWAY now is
		// the peer answering ours, not news for the application.
		s.mu.Unlock()
		return nil
	}
	if s.remoteGoAway == nil {
		s.remoteGoAway = reason
		close(s.goAwayCh)
	}
	idle := len(s.streams) == 0
	s.mu.Unlock()
	if idle {
		s.shutdown(reason, shutdownFlush)
	}
	return nil
}
