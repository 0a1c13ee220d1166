package yamux

import (
	"context"
	"sync"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// pingState tracks our outstanding pings and the keepalive cycle
// (spec.md §5). One timer drives keepalive: it alternates between "wait
// an interval, then ping" and "wait the timeout, then check".
type pingState struct {
	// slots is a semaphore of maxOutstandingPings: a Ping holds one from
	// sending its PING until the pong arrives (even if the caller gave up
	// waiting), so a peer like us never owes us more pongs than its reply
	// bound takes (config.go).
	slots chan struct{}

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]*pingWaiter
	closed  bool

	timer        *time.Timer // keepalive; nil when disabled
	kaWaiting    bool        // a keepalive ping is outstanding
	kaID         uint32
	kaFramesSeen uint64 // framesRecv when the keepalive ping was sent
}

type pingWaiter struct {
	sent time.Time
	done chan struct{} // nil for keepalive and the initial RTT ping
	slot bool          // holds one of slots (a Ping call's ping)
}

func (p *pingState) init() {
	p.pending = make(map[uint32]*pingWaiter)
	p.slots = make(chan struct{}, maxOutstandingPings)
}

// clear forgets the outstanding pings (their callers wait on the
// session's done channel); called once at shutdown, after stopKeepalive.
func (p *pingState) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.pending = nil
}

// newPingLocked registers a ping and returns its opaque id.
func (p *pingState) newPingLocked(done chan struct{}) uint32 {
	p.nextID++
	id := p.nextID
	p.pending[id] = &pingWaiter{sent: time.Now(), done: done}
	return id
}

// Ping sends a PING and waits for its pong, returning the round-trip time.
// It waits at most ConnectionWriteTimeout (then ErrTimeout). At most 16
// pings are outstanding at a time; a Ping beyond that first waits for a
// pong.
func (s *Session) Ping() (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.config.ConnectionWriteTimeout)
	defer cancel()
	rtt, err := s.PingContext(ctx)
	if err == context.DeadlineExceeded {
		err = ErrTimeout
	}
	return rtt, err
}

// PingContext is Ping honouring ctx instead of a fixed timeout.
func (s *Session) PingContext(ctx context.Context) (time.Duration, error) {
	p := &s.ping
	select {
	case p.slots <- struct{}{}:
	case <-s.done:
		return 0, s.Err()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	done := make(chan struct{})
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, s.Err()
	}
	id := p.newPingLocked(done)
	w := p.pending[id]
	w.slot = true
	sent := w.sent
	p.mu.Unlock()
	s.rd.pingSent()
	s.send.control(frame.New(frame.TypePing, frame.FlagSYN, 0, id), notReply)
	s.stats.pingsSent.Add(1)
	select {
	case <-done:
		return time.Since(sent), nil
	case <-s.done:
		return 0, s.err()
	case <-ctx.Done():
		// The ping stays pending: its slot is freed by the pong.
		return 0, ctx.Err()
	}
}

// handlePong matches a pong to its ping and reports whether it did; pongs
// we did not ask for are ignored (spec.md §5).
func (s *Session) handlePong(id uint32) bool {
	p := &s.ping
	p.mu.Lock()
	w, ok := p.pending[id]
	if !ok || p.closed {
		p.mu.Unlock()
		return false
	}
	delete(p.pending, id)
	if w.slot {
		<-p.slots
	}
	rtt := time.Since(w.sent)
	s.rtt.Store(int64(max(rtt, 1)))
	if p.kaWaiting && id == p.kaID {
		p.kaWaiting = false
		p.timer.Reset(s.config.KeepAliveInterval)
	}
	p.mu.Unlock()
	s.rd.pongSettled(1)
	if w.done != nil {
		close(w.done)
	}
	return true
}

// startKeepalive sends the first ping, which measures the RTT used by
// window auto-tuning, and arms the keepalive timer.
func (s *Session) startKeepalive() {
	p := &s.ping
	p.mu.Lock()
	if p.closed { // the peer's first bytes already ended the session
		p.mu.Unlock()
		return
	}
	id := p.newPingLocked(nil)
	if s.config.EnableKeepAlive {
		p.timer = time.AfterFunc(s.config.KeepAliveInterval, s.keepaliveTick)
	}
	p.mu.Unlock()
	s.rd.pingSent()
	s.send.control(frame.New(frame.TypePing, frame.FlagSYN, 0, id), notReply)
	s.stats.pingsSent.Add(1)
}

// stopKeepalive stops the keepalive for good: closed is set in the same
// critical section as the timer stops, so neither a pong (handlePong) nor
// a tick can re-arm it afterwards.
func (s *Session) stopKeepalive() {
	p := &s.ping
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
}

// keepaliveTick runs on the keepalive timer: after an interval it sends a
// ping; after the timeout it checks that the pong, or any other complete
// frame, has arrived since, and fails the session otherwise.
func (s *Session) keepaliveTick() {
	p := &s.ping
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if !p.kaWaiting {
		p.kaWaiting = true
		p.kaID = p.newPingLocked(nil)
		p.kaFramesSeen = s.framesRecv.Load()
		p.timer.Reset(s.config.KeepAliveTimeout)
		id := p.kaID
		p.mu.Unlock()
		s.rd.pingSent()
		s.send.control(frame.New(frame.TypePing, frame.FlagSYN, 0, id), notReply)
		s.stats.pingsSent.Add(1)
		return
	}
	alive := s.framesRecv.Load() != p.kaFramesSeen
	if alive {
		delete(p.pending, p.kaID)
		p.kaWaiting = false
		p.timer.Reset(s.config.KeepAliveInterval)
	}
	p.mu.Unlock()
	if alive {
		s.rd.pongSettled(1)
	}
	if !alive {
		s.logger.Warn("yamux: keepalive timeout")
		s.shutdown(&SessionError{Code: CodeNormal, Cause: ErrKeepAliveTimeout}, shutdownNow)
	}
}
