package yamux

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux/internal/frame"
)

// Session multiplexes streams over one connection. Create it with Client
// or Server; it runs until Close, CloseWithError, a peer's GO_AWAY or EOF,
// or a failure, and every blocked call then returns an error matching
// ErrSessionShutdown.
type Session struct {
	// Immutable after construction.
	conn io.ReadWriteCloser
	// buffersWriter is conn when it takes whole batches (BuffersWriter).
	buffersWriter BuffersWriter
	config        Config
	client        bool
	logger        *slog.Logger

	// Owned by the holder of the read role (recvrole.go): the receive
	// loop, or a Read reading the conn itself.
	// br is the read buffer in use: brSmall, or a large one while the
	// conn has a backlog (readbuf.go); lastFill is what the last read
	// into it brought.
	br       *bufio.Reader
	brSmall  *bufio.Reader
	lastFill int
	body     bodyState // the DATA body being read
	// hdr holds the first hdrN bytes of a header read apart from br, on its
	// own or with the end of a body (stepFor);
	// bigFrames: the last DATA frame delivered was large (bigFrame);
	// byStream: a stream's Read holds the role (for Stats).
	hdr           frame.Header
	hdrN          int
	bigFrames     bool
	byStream      bool
	uselessFrames int // consecutive frames that changed nothing
	// recvTurn says whether inbound DATA is shared between streams;
	// recvRun is what the receive loop has delivered since its last turn
	// ended (turns.go).
	recvTurn turnMeter
	recvRun  uint32
	rd       readRole
	// bodyReader reads a body's last bytes and the next header in one
	// system call (readv_linux.go); nil where that is not possible.
	bodyReader *bodyReader
	// inq says whether the conn has unread bytes (inq_linux.go), for a
	// turn's end (wakeParkedReader); nil where it cannot.
	inq *inqProbe

	// Guarded by mu. Lock order: a Stream's mu may be held while taking
	// mu or send.mu; mu may be held while taking send.mu; mu is never held
	// while taking a Stream's mu.
	mu          sync.Mutex
	streams     map[uint32]*Stream
	nextID      uint32
	numIncoming int // inbound streams holding a slot of MaxIncomingStreams
	// refusedAtLimit counts SYNs refused at MaxIncomingStreams since a slot
	// was last released: a peer that keeps opening (and resetting) streams
	// faster than the application finishes them is a rapid-reset attack.
	refusedAtLimit int
	// unread are the ended streams that still hold window memory for
	// data the application has not read (Stream.unreadHeld); the session
	// releases it for them when it ends. Nil until the first one.
	unread       map[*Stream]struct{}
	localGoAway  bool
	drainTimer   *time.Timer // after our GoAway, closes the session once idle
	remoteGoAway error       // set by the peer's GO_AWAY(0): no new streams
	// closeErr is why the session ended: stored once, under mu, before
	// done is closed; read with err() from anywhere, lock-free.
	closeErr atomic.Pointer[SessionError]

	accepts   acceptQueue   // inbound streams waiting for AcceptStream
	ackSlots  chan struct{} // semaphore of the outbound ACK backlog
	goAwayCh  chan struct{} // closed on the peer's GO_AWAY
	done      chan struct{} // closed when the session ends
	recvDone  chan struct{} // closed when recvLoop returns
	sendDone  chan struct{} // closed when sendLoop returns
	closeOnce sync.Once
	connOnce  sync.Once

	// Send side: the queue (sendqueue.go) and the loop's own state
	// (session_send.go).
	send sendQueue
	loop sendLoopState

	// Pings and keepalive (keepalive.go).
	ping pingState
	// Counters behind Stats (stats.go).
	stats sessionStats
	// framesRecv counts complete frames received: any frame proves the
	// peer alive for keepalive purposes.
	framesRecv atomic.Uint64
	rtt        atomic.Int64 // nanoseconds, 0 until measured

	// budget is what remains of MaxSessionReceiveBuffer for receive
	// windows grown above their initial size; growFn is growWindow as a
	// func value made once, so passing it allocates nothing.
	budget atomic.Int64
	growFn func(extra uint32) bool
	// busy counts the streams that have returned credit (Stream.credited),
	// for windowCeiling.
	busy atomic.Int32
}

var _ net.Listener = (*Session)(nil)

// Client starts the dialing side of a session over conn: it opens streams
// with odd ids.
func Client(conn io.ReadWriteCloser, config *Config) (*Session, error) {
	return newSession(conn, config, true)
}

// Server starts the listening side of a session over conn: it opens
// streams with even ids.
func Server(conn io.ReadWriteCloser, config *Config) (*Session, error) {
	return newSession(conn, config, false)
}

func newSession(conn io.ReadWriteCloser, config *Config, client bool) (*Session, error) {
	if err := VerifyConfig(config); err != nil {
		return nil, err
	}
	cfg := withDefaults(config)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{
		conn:     conn,
		config:   cfg,
		client:   client,
		logger:   logger,
		streams:  make(map[uint32]*Stream),
		ackSlots: make(chan struct{}, maxAckBacklog),
		goAwayCh: make(chan struct{}),
		done:     make(chan struct{}),
		recvDone: make(chan struct{}),
		sendDone: make(chan struct{}),
	}
	if client {
		s.nextID = 1
	} else {
		s.nextID = 2
	}
	s.accepts.init(cfg.AcceptBacklog)
	s.buffersWriter, _ = conn.(BuffersWriter)
	s.brSmall = readBufferPool.Get().(*bufio.Reader)
	s.brSmall.Reset(conn)
	s.br = s.brSmall
	s.rd.init(conn)
	s.bodyReader = newBodyReader(conn)
	s.inq = newInqProbe(conn)
	s.budget.Store(int64(cfg.MaxSessionReceiveBuffer))
	s.growFn = s.growWindow
	s.send.init()
	s.ping.init()

	// The first ping is registered before the receive loop can read
	// anything: a peer whose first bytes end the session must find it
	// there for shutdown to clear, not race it.
	s.startKeepalive()
	go s.recvLoop()
	go s.sendLoop()
	return s, nil
}

// OpenStream opens a new stream. It does not wait for the peer's ACK
// (spec.md §3.1); it waits only while 256 of our streams are unacknowledged.
func (s *Session) OpenStream() (*Stream, error) {
	return s.OpenStreamContext(context.Background())
}

// Open is OpenStream returning a net.Conn; on error the net.Conn is nil
// (a nil interface, not a nil *Stream inside one).
func (s *Session) Open() (net.Conn, error) {
	st, err := s.OpenStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

// OpenStreamContext is OpenStream honouring ctx while it waits for room in
// the ACK backlog. With Config.MemoryManager, a refused reservation fails
// it with an error matching ErrMemoryRefused.
func (s *Session) OpenStreamContext(ctx context.Context) (*Stream, error) {
	if err := s.openErr(); err != nil {
		return nil, err
	}
	mem, err := s.reserveStream()
	if err != nil {
		return nil, err
	}
	st, err := s.openStream(ctx, mem)
	if err != nil {
		mem.done()
	}
	return st, err
}

func (s *Session) openStream(ctx context.Context, mem *streamMemory) (*Stream, error) {
	select {
	case s.ackSlots <- struct{}{}:
	default:
		// 256 of our streams are unacknowledged: only the peer's ACKs,
		// which the conn brings, make room.
		s.rd.waitFor()
		err := s.waitAckSlot(ctx)
		s.rd.waitDone()
		if err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if err := s.openErrLocked(); err != nil {
		s.mu.Unlock()
		<-s.ackSlots
		return nil, err
	}
	id := s.nextID
	if id >= 1<<32-2 || id == 0 {
		s.mu.Unlock()
		<-s.ackSlots
		return nil, ErrStreamsExhausted
	}
	s.nextID += 2
	st := newStream(s, id, hsSynSent)
	st.mem = mem
	st.ackHeld = true
	s.streams[id] = st
	// The SYN is queued while mu is held so that SYNs leave in id order.
	s.send.control(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, id, st.initialDelta()), notReply)
	s.mu.Unlock()
	s.stats.streamsOpened.Add(1)
	s.stats.windowGranted.Add(uint64(initialWindow + st.initialDelta())) // what our SYN grants
	st.armOpenTimer()
	return st, nil
}

// waitAckSlot takes a slot of the ACK backlog once the peer's ACKs make
// room.
func (s *Session) waitAckSlot(ctx context.Context) error {
	select {
	case s.ackSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.err()
	case <-s.goAwayCh:
		return ErrRemoteGoAway
	}
}

func (s *Session) openErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openErrLocked()
}

func (s *Session) openErrLocked() error {
	if err := s.err(); err != nil {
		return err
	}
	if s.remoteGoAway != nil {
		return ErrRemoteGoAway
	}
	return nil
}

// AcceptStream waits for the peer to open a stream. Once the session has
// ended, or the peer has sent GO_AWAY, it returns an error matching
// ErrSessionShutdown.
func (s *Session) AcceptStream() (*Stream, error) {
	return s.AcceptStreamContext(context.Background())
}

// Accept is AcceptStream returning a net.Conn, for net.Listener; on error
// the net.Conn is nil (a nil interface).
func (s *Session) Accept() (net.Conn, error) {
	st, err := s.AcceptStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

// AcceptStreamContext is AcceptStream honouring ctx.
func (s *Session) AcceptStreamContext(ctx context.Context) (*Stream, error) {
	// Streams that arrived before a GO_AWAY are still handed out.
	if st := s.accepts.pop(); st != nil {
		return s.accepted(st), nil
	}
	s.rd.waitFor() // a SYN comes with the conn
	defer s.rd.waitDone()
	for {
		select {
		case <-s.accepts.ready:
			if st := s.accepts.pop(); st != nil {
				return s.accepted(st), nil
			}
		case <-s.done:
			return nil, s.err()
		case <-s.goAwayCh:
			s.mu.Lock()
			err := s.remoteGoAway
			if closed := s.err(); closed != nil {
				err = closed // the end of the session wins over its cause
			}
			s.mu.Unlock()
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// accepted hands st to the application (its ACK goes out).
func (s *Session) accepted(st *Stream) *Stream {
	st.accepted()
	s.stats.streamsAccepted.Add(1)
	return st
}

// Close ends the session: it flushes the frames already queued, sends
// GO_AWAY(normal) under a short deadline and closes the connection. Every
// blocked call returns. It is idempotent and safe to call concurrently; it
// returns once both session goroutines have exited.
func (s *Session) Close() error {
	return s.CloseWithError(CodeNormal)
}

// CloseWithError is Close sending GO_AWAY with code.
func (s *Session) CloseWithError(code ErrorCode) error {
	s.shutdown(&SessionError{Code: code}, shutdownFlush)
	<-s.recvDone
	<-s.sendDone
	return nil
}

// GoAway tells the peer we accept no new streams: its further SYNs are
// answered with RST. Existing streams, and streams we open, carry on; once
// the session has had no stream for GoAwayDrainTimeout, it closes.
func (s *Session) GoAway() error {
	s.mu.Lock()
	if err := s.err(); err != nil {
		s.mu.Unlock()
		return err
	}
	already := s.localGoAway
	s.localGoAway = true
	s.armDrainLocked()
	s.mu.Unlock()
	if !already {
		s.send.control(frame.New(frame.TypeGoAway, 0, 0, uint32(CodeNormal)), notReply)
		s.stats.goAway(true, CodeNormal)
	}
	return nil
}

// NumStreams returns the number of live streams.
func (s *Session) NumStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// IsClosed reports whether the session has ended.
func (s *Session) IsClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// CloseChan is closed when the session ends.
func (s *Session) CloseChan() <-chan struct{} { return s.done }

// Err says why the session ended; nil while it runs.
func (s *Session) Err() error { return s.err() }

// err returns closeErr as an error: nil (not a nil *SessionError) while
// the session runs.
func (s *Session) err() error {
	if e := s.closeErr.Load(); e != nil {
		return e
	}
	return nil
}

// RTT returns the last measured round-trip time, 0 if none yet.
func (s *Session) RTT() time.Duration { return time.Duration(s.rtt.Load()) }

// Addr returns the local address, for net.Listener.
func (s *Session) Addr() net.Addr { return s.LocalAddr() }

type localAddrer interface{ LocalAddr() net.Addr }
type remoteAddrer interface{ RemoteAddr() net.Addr }

// LocalAddr returns the connection's local address if it has one.
func (s *Session) LocalAddr() net.Addr {
	if c, ok := s.conn.(localAddrer); ok {
		return c.LocalAddr()
	}
	return yamuxAddr{}
}

// RemoteAddr returns the connection's remote address if it has one.
func (s *Session) RemoteAddr() net.Addr {
	if c, ok := s.conn.(remoteAddrer); ok {
		return c.RemoteAddr()
	}
	return yamuxAddr{}
}

// yamuxAddr stands in when the connection has no addresses.
type yamuxAddr struct{}

func (yamuxAddr) Network() string { return "yamux" }
func (yamuxAddr) String() string  { return "yamux" }

// shutdownMode says what the send loop writes before the conn is closed.
type shutdownMode uint8

const (
	shutdownNow    shutdownMode = iota // close the conn at once
	shutdownQuiet                      // write nothing, then linger and close
	shutdownGoAway                     // write only GO_AWAY(code), then linger and close
	shutdownFlush                      // write queued frames, then GO_AWAY(code), then linger and close
)

// shutdown ends the session exactly once: it records why, moves every
// stream to Reset (FullyClosed ones stay), wakes every waiter by closing
// done and clears the maps and queues. The send loop performs the final write
// and closes the conn; a timer bounds that (spec.md §6).
func (s *Session) shutdown(reason *SessionError, mode shutdownMode) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closeErr.Store(reason)
		if s.drainTimer != nil {
			s.drainTimer.Stop()
			s.drainTimer = nil
		}
		streams := s.streams
		s.streams = make(map[uint32]*Stream)
		s.numIncoming = 0
		unread := s.unread
		s.unread = nil
		s.mu.Unlock()
		for st := range unread {
			st.settleUnread(true)
		}

		s.send.finish(mode, reason.Code)
		s.armCloseTimer(mode)
		// Streams go to Reset before done is closed, so that once the
		// session reports its end (CloseChan, IsClosed) no stream still
		// reports a live state.
		for _, st := range streams {
			st.sessionClosed()
		}
		close(s.done)
		s.rd.close()
		s.stopKeepalive()
		if reason.Cause != nil {
			s.logger.Debug("yamux: session ended", "err", reason)
		}

		for st := s.accepts.pop(); st != nil; st = s.accepts.pop() {
			st.sessionClosed()
		}
		s.ping.clear()
		if mode == shutdownNow {
			s.closeConn()
		}
	})
}

// fail ends the session because of err: a protocol error is answered with
// GO_AWAY(protocol error), anything else closes the conn at once.
func (s *Session) fail(err error) {
	if errors.Is(err, ErrProtocol) {
		s.stats.protocolErrors.Add(1)
		s.logger.Warn("yamux: protocol error from peer", "err", err)
		s.shutdown(&SessionError{Code: CodeProtocolError, Cause: err}, shutdownGoAway)
		return
	}
	remote := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	s.shutdown(&SessionError{Code: CodeNormal, Remote: remote, Cause: err}, shutdownNow)
}

func (s *Session) closeConn() {
	s.connOnce.Do(func() { s.conn.Close() })
}

// removeStream is called once when a stream reaches a terminal state: it
// frees the stream's session resources.
func (s *Session) removeStream(st *Stream) {
	s.mu.Lock()
	if s.streams[st.id] == st {
		delete(s.streams, st.id)
	}
	drained := s.remoteGoAway != nil && len(s.streams) == 0
	goAway := s.remoteGoAway
	s.armDrainLocked()
	s.mu.Unlock()
	if drained {
		// The peer said GO_AWAY(normal) and the last stream is done.
		s.shutdown(goAway.(*SessionError), shutdownFlush)
	}
}

// armDrainLocked starts the drain timer once a session that sent GoAway
// has no stream left; if a stream is opened before it fires, it does
// nothing and the next idle moment arms it again.
func (s *Session) armDrainLocked() {
	if !s.localGoAway || len(s.streams) > 0 || s.err() != nil || s.drainTimer != nil {
		return
	}
	s.drainTimer = time.AfterFunc(s.config.GoAwayDrainTimeout, func() {
		s.mu.Lock()
		s.drainTimer = nil
		idle := len(s.streams) == 0
		s.mu.Unlock()
		if idle {
			s.logger.Debug("yamux: drained after GoAway, closing")
			s.shutdown(&SessionError{Code: CodeNormal}, shutdownFlush)
		}
	})
}

// holdUnread records st among the ended streams holding memory for unread
// data (Stream.unreadHeld), unless the session has ended (false: the
// shutdown has gone through the set already); forgetUnread removes it.
// Both are called with st's mu held, so that the set and the flag agree.
func (s *Session) holdUnread(st *Stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err() != nil {
		return false
	}
	if s.unread == nil {
		s.unread = make(map[*Stream]struct{})
	}
	s.unread[st] = struct{}{}
	return true
}

func (s *Session) forgetUnread(st *Stream) {
	s.mu.Lock()
	delete(s.unread, st)
	s.mu.Unlock()
}

// releaseIncoming gives back an inbound stream's MaxIncomingStreams slot.
func (s *Session) releaseIncoming() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err() == nil { // at shutdown the count was reset
		s.numIncoming--
		s.refusedAtLimit = 0
	}
}

// windowCeiling is how far a stream's receive window may grow now:
// MaxStreamWindowSize, but with several streams moving data no more than
// the initial window plus an equal share of MaxSessionReceiveBuffer among
// them, so that streams moving data together end with windows of one size,
// rather than the first to grow taking the budget and the others sending
// at the initial window's pace (64 streams of bulk data: the slowest
// finished at 0.79-0.93 of the mean rate, against 0.95-0.97 with windows
// that never grew). A stream moves data once it has returned credit
// (Stream.credited; a window grows only from its second update, so the
// stream asking is counted); streams that only sit open do not count, so
// one busy stream among 10,000 idle ones still grows to
// MaxStreamWindowSize.
func (s *Session) windowCeiling() uint32 {
	cfg := &s.config
	share := uint64(cfg.InitialStreamWindowSize) + uint64(cfg.MaxSessionReceiveBuffer)/uint64(max(s.busy.Load(), 1))
	return uint32(min(share, uint64(cfg.MaxStreamWindowSize)))
}

// growWindow reserves extra receive-window bytes from the session budget.
func (s *Session) growWindow(extra uint32) bool {
	if s.budget.Add(-int64(extra)) < 0 {
		s.budget.Add(int64(extra))
		return false
	}
	return true
}

func (s *Session) releaseWindow(extra uint32) {
	if extra > 0 {
		s.budget.Add(int64(extra))
	}
}
