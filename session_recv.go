package yamux

import (
	"errors"
	"fmt"

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

// recvLoop is the session's only reader of the conn. It decodes each
// header, dispatches it, and never blocks on a stream: DATA is copied into
// the stream's buffer, which the window bounds.
func (s *Session) recvLoop() {
	defer close(s.recvDone)
	// A closed Session may stay referenced by the application: its read
	// buffer goes back to the pool (only this goroutine ever uses it).
	defer func() {
		s.br.Reset(nil)
		readBufferPool.Put(s.br)
		s.br, s.fr = nil, nil
	}()
	err := s.readFrames()
	select {
	case <-s.done:
		// The session was already ending: if the read failed, it failed
		// because of that.
	default:
		s.fail(err)
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

// readFrames handles frames until the conn fails or the session ends.
func (s *Session) readFrames() error {
	for {
		select {
		case <-s.done:
			return nil // what follows is discarded (recvLoop)
		default:
		}
		h, err := s.fr.ReadHeader()
		if err != nil {
			if errors.Is(err, frame.ErrInvalidHeader) {
				return protocolError(err)
			}
			return err
		}
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
		s.stats.bytesRecv.Add(uint64(frame.HeaderSize) + uint64(bodyLen(h)))
		if useful {
			s.uselessFrames = 0
		} else if s.uselessFrames++; s.uselessFrames > maxUselessFrames {
			return protocolError(errUselessFrames)
		}
	}
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
			return true, s.discard(bodyLen(h))
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
		return n > 0, s.discard(n)
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
		if err := s.discard(d.discard); err != nil {
			return false, err
		}
	}
	if d.deliver > 0 {
		if err := s.readBody(st, d.deliver); err != nil {
			return false, err
		}
		// Without FIN the frame's effects are complete (and it was
		// useful): no need to take the stream's lock again.
		if h.Flags()&frame.FlagFIN != 0 {
			if end := st.endFrame(h); end.terminal {
				st.release()
			}
		}
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
	refuse := s.localGoAway || s.remoteGoAway != nil || atLimit || memErr != nil
	if !refuse {
		st = newStream(s, id, hsAckPending)
		st.mem = mem
		select {
		case s.acceptCh <- st:
			s.streams[id] = st
			s.numIncoming++
			s.stats.streamsInbound.Add(1)
			// The spec's initial window, granted by the peer's SYN (st
			// belongs to the acceptor now: its fields are not ours to read).
			s.stats.windowGranted.Add(initialWindow)
		default:
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

// discard consumes n body bytes without buffering them.
func (s *Session) discard(n uint32) error {
	_, err := s.br.Discard(int(n))
	return err
}

// readBody hands n DATA bytes from the conn to st (deliver: into a waiting
// Read's slice or the stream's buffer), piece by piece as they arrive, so
// nothing of the stream's is held while waiting for the network.
func (s *Session) readBody(st *Stream, n uint32) error {
	for n > 0 {
		if s.br.Buffered() == 0 {
			if _, err := s.br.Peek(1); err != nil {
				return err
			}
		}
		k := min(int(n), s.br.Buffered())
		p, _ := s.br.Peek(k)
		st.deliver(p)
		if _, err := s.br.Discard(k); err != nil {
			return err
		}
		n -= uint32(k)
	}
	return nil
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
