package yamux_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// rawPeer is a scripted, frame-level peer of one of our sessions, so that
// protocol tests read like wire transcripts (in the style of x/net/http2's
// connframes_test.go). The test writes raw frames with writeFrame/writeRaw
// and asserts what our session sends with the expect* methods.
//
// A background goroutine reads every frame our session writes into a
// queue. By default it answers our session's own PING(SYN) frames (the RTT
// ping sent at start and keepalive pings) with a pong and hides them from
// the test, like a real peer would; a test that cares turns that off with
// rawPeerOptions.
//
// By default a rawPeer runs over memconn inside a synctest bubble: waits
// are durable, time is fake, and expectNoFrame and pendingFrames rely on
// synctest.Wait. With rawPeerOptions.Pair it runs over any transport (TCP
// loopback on real time, outside bubbles), where every expect* except
// expectNoFrame and pendingFrames works the same, bounded by Timeout.
type rawPeer struct {
	t testing.TB

	// Conn is the raw end the test drives; Ours is the end our session
	// runs on (for fault injection such as BlockWrites, see oursMem).
	Conn, Ours net.Conn
	// S is our session under test.
	S *yamux.Session

	answerPings bool
	// timeout bounds how long (fake time) readFrame waits for a frame.
	timeout time.Duration

	// wsem serialises writes on Conn so that frames never interleave. It
	// is a channel, not a mutex, so that waiting on it is durably blocking
	// in a synctest bubble.
	wsem chan struct{}

	mu      sync.Mutex
	queue   []rawFrame
	readErr error         // why the reader stopped; nil while it runs
	notify  chan struct{} // 1-buffered: the queue or readErr changed

	readerDone chan struct{}
	// watchdog turns a test that blocks forever into a failure.
	watchdog *time.Timer
	// ourPings counts PING(SYN) frames our session sent (answered or not).
	ourPings atomic.Int64
}

// rawFrame is one frame our session sent: its exact 12 header bytes and,
// for DATA, its body.
type rawFrame struct {
	h    frame.Header
	body []byte
}

func (f rawFrame) String() string {
	if len(f.body) > 0 {
		b := f.body
		if len(b) > 16 {
			return fmt.Sprintf("%v body=%q…", f.h, b[:16])
		}
		return fmt.Sprintf("%v body=%q", f.h, b)
	}
	return f.h.String()
}

// rawPeerOptions configures newRawPeerOpts.
type rawPeerOptions struct {
	// AsClient: the raw peer plays the client (opens odd ids) and our
	// session is a yamux.Server; otherwise our session is the client.
	AsClient bool
	// Config of our session; nil means testConfig().
	Config *yamux.Config
	// Capacity of each memconn direction; 0 means memconn's default (1 MiB).
	Capacity int
	// NoPingAnswers: our session's PING(SYN) frames are not answered (they
	// are still hidden from the test). Needed when the test's own writes
	// may block, since an answer would wait behind them, and for tests of
	// keepalive against a silent peer.
	NoPingAnswers bool
	// Pair makes the connection (our end first); nil means a memconn pair
	// of Capacity.
	Pair pairFunc
	// Timeout bounds each wait for a frame; 0 means 10 minutes (of fake
	// time, in a bubble). Give real-time transports guard.
	Timeout time.Duration
}

// newRawPeer starts our session on one end of a memconn pair and returns the
// raw peer driving the other end. asClient says which role the raw peer
// plays: true makes our session a yamux.Server. It must run inside a
// synctest bubble.
func newRawPeer(t testing.TB, asClient bool, cfg *yamux.Config) *rawPeer {
	t.Helper()
	return newRawPeerOpts(t, rawPeerOptions{AsClient: asClient, Config: cfg})
}

// newRawPeerState builds the rawPeer around an already started session;
// the caller starts whichever reader the test needs.
func newRawPeerState(t testing.TB, raw, ours net.Conn, s *yamux.Session, o rawPeerOptions) *rawPeer {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	return &rawPeer{
		t:           t,
		Conn:        raw,
		Ours:        ours,
		S:           s,
		answerPings: !o.NoPingAnswers,
		timeout:     timeout,
		wsem:        make(chan struct{}, 1),
		notify:      make(chan struct{}, 1),
		readerDone:  make(chan struct{}),
	}
}

func newRawPeerOpts(t testing.TB, o rawPeerOptions) *rawPeer {
	t.Helper()
	cfg := o.Config
	if cfg == nil {
		cfg = testConfig()
	}
	var ours, raw net.Conn
	if o.Pair != nil {
		ours, raw = o.Pair(t)
	} else {
		ours, raw = memconn.PipeWith(memconn.Options{Capacity: o.Capacity})
	}
	var (
		s   *yamux.Session
		err error
	)
	if o.AsClient {
		s, err = yamux.Server(ours, cfg)
	} else {
		s, err = yamux.Client(ours, cfg)
	}
	if err != nil {
		t.Fatalf("starting our session: %v", err)
	}
	p := newRawPeerState(t, raw, ours, s, o)
	go p.readLoop()
	// Keepalive timers let fake time run on forever, so a call that blocks
	// by mistake would never end the bubble: give up after an hour.
	p.watchdog = time.AfterFunc(time.Hour, func() {
		t.Errorf("test still blocked after an hour of fake time; closing the session")
		p.S.Close()
		p.Conn.Close()
	})
	t.Cleanup(func() {
		p.watchdog.Stop()
		if mc, ok := p.Ours.(*memconn.Conn); ok {
			mc.BlockWrites(false) // time may not advance during cleanup
		}
		p.S.Close()
		p.Conn.Close()
		p.Ours.Close()
		<-p.readerDone
	})
	return p
}

// oursMem is our session's end as a *memconn.Conn, for fault injection
// (BlockWrites); it fails the test on other transports.
func (p *rawPeer) oursMem() *memconn.Conn {
	p.t.Helper()
	return memOf(p.t, p.Ours)
}

// rawMem is the raw end as a *memconn.Conn (BytesWritten).
func (p *rawPeer) rawMem() *memconn.Conn {
	p.t.Helper()
	return memOf(p.t, p.Conn)
}

// readLoop decodes every frame our session writes into the queue until the
// connection ends.
func (p *rawPeer) readLoop() {
	defer close(p.readerDone)
	fr := frame.NewReader(p.Conn, math.MaxUint32)
	var err error
	for {
		var h frame.Header
		h, err = fr.ReadHeader()
		if err != nil {
			break
		}
		f := rawFrame{h: h}
		if h.Type() == frame.TypeData && h.Length() > 0 {
			f.body = make([]byte, h.Length())
			if _, err = io.ReadFull(p.Conn, f.body); err != nil {
				break
			}
		}
		if h.Type() == frame.TypePing && h.Flags()&frame.FlagSYN != 0 {
			p.ourPings.Add(1)
			if p.answerPings {
				pong := frame.New(frame.TypePing, frame.FlagACK, 0, h.Length())
				p.write(pong[:]) // may fail once our session is gone; that is fine
			}
			continue
		}
		p.mu.Lock()
		p.queue = append(p.queue, f)
		p.mu.Unlock()
		p.signal()
	}
	p.mu.Lock()
	p.readErr = err
	p.mu.Unlock()
	p.signal()
}

func (p *rawPeer) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// write writes b as one unit, never interleaved with other writes.
func (p *rawPeer) write(b []byte) error {
	p.wsem <- struct{}{}
	defer func() { <-p.wsem }()
	_, err := p.Conn.Write(b)
	return err
}

// appendFrame appends one encoded frame to b. For DATA, length is what
// the header announces and payload what follows; they may differ.
func appendFrame(b []byte, typ frame.Type, flags frame.Flags, id, length uint32, payload []byte) []byte {
	h := frame.New(typ, flags, id, length)
	return append(append(b, h[:]...), payload...)
}

// rawEncode encodes one frame; for DATA, length is normally len(payload),
// but a test may announce any length.
func rawEncode(typ frame.Type, flags frame.Flags, id, length uint32, payload ...byte) []byte {
	return appendFrame(nil, typ, flags, id, length, payload)
}

// rawData encodes a DATA frame whose length is its payload's.
func rawData(flags frame.Flags, id uint32, payload []byte) []byte {
	return rawEncode(frame.TypeData, flags, id, uint32(len(payload)), payload...)
}

// writeFrame writes one frame. For DATA, length is what the header
// announces; payload is what follows (they may differ on purpose).
func (p *rawPeer) writeFrame(typ frame.Type, flags frame.Flags, id, length uint32, payload ...byte) {
	p.t.Helper()
	p.writeRaw(rawEncode(typ, flags, id, length, payload...))
}

// writeData writes a DATA frame carrying payload.
func (p *rawPeer) writeData(flags frame.Flags, id uint32, payload []byte) {
	p.t.Helper()
	p.writeRaw(rawData(flags, id, payload))
}

// writeWindowUpdate writes a WINDOW_UPDATE with the given flags and delta.
func (p *rawPeer) writeWindowUpdate(flags frame.Flags, id, delta uint32) {
	p.t.Helper()
	p.writeFrame(frame.TypeWindowUpdate, flags, id, delta)
}

// writeRaw writes bytes as they are, in one Write: several frames written
// together arrive coalesced.
func (p *rawPeer) writeRaw(b []byte) {
	p.t.Helper()
	if err := p.write(b); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

// next returns the next frame our session sent, waiting up to p.timeout of
// (fake) time. ok is false if the connection ended or nothing came.
func (p *rawPeer) next() (f rawFrame, ok bool, err error) {
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			f = p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			return f, true, nil
		}
		err = p.readErr
		p.mu.Unlock()
		if err != nil {
			return rawFrame{}, false, err
		}
		select {
		case <-p.notify:
		case <-timer.C:
			return rawFrame{}, false, fmt.Errorf("no frame within %v", p.timeout)
		}
	}
}

// readFrame returns the next frame our session sent (header and DATA body),
// skipping our session's own pings. It fails the test if none comes.
func (p *rawPeer) readFrame() (frame.Header, []byte) {
	p.t.Helper()
	f, ok, err := p.next()
	if !ok {
		p.t.Fatalf("readFrame: got %v, want a frame", err)
	}
	return f.h, f.body
}

// expectFrame reads the next frame and fails unless its header is exactly
// typ, flags, id, length. It returns the DATA body.
func (p *rawPeer) expectFrame(typ frame.Type, flags frame.Flags, id, length uint32) []byte {
	p.t.Helper()
	h, body := p.readFrame()
	if want := frame.New(typ, flags, id, length); h != want {
		p.t.Fatalf("got frame %v, want %v", rawFrame{h, body}, want)
	}
	return body
}

// skipTo reads frames until one is exactly want (type, flags, stream id,
// length), for tests that care about one frame among others.
func (p *rawPeer) skipTo(want frame.Header) {
	p.t.Helper()
	for {
		f, ok, err := p.next()
		if !ok {
			p.t.Fatalf("frame %v not received: %v", want, err)
		}
		if f.h == want {
			return
		}
	}
}

// expectWindowUpdate expects a WINDOW_UPDATE with exactly these flags and delta.
func (p *rawPeer) expectWindowUpdate(id uint32, flags frame.Flags, delta uint32) {
	p.t.Helper()
	p.expectFrame(frame.TypeWindowUpdate, flags, id, delta)
}

// expectSYN expects our WINDOW_UPDATE|SYN, delta 0, opening id.
func (p *rawPeer) expectSYN(id uint32) {
	p.t.Helper()
	p.expectWindowUpdate(id, frame.FlagSYN, 0)
}

// expectACK expects our WINDOW_UPDATE|ACK, delta 0, accepting id.
func (p *rawPeer) expectACK(id uint32) {
	p.t.Helper()
	p.expectWindowUpdate(id, frame.FlagACK, 0)
}

// expectFIN expects our WINDOW_UPDATE|FIN, delta 0.
func (p *rawPeer) expectFIN(id uint32) {
	p.t.Helper()
	p.expectWindowUpdate(id, frame.FlagFIN, 0)
}

// expectRST expects our WINDOW_UPDATE|RST with code 0.
func (p *rawPeer) expectRST(id uint32) {
	p.t.Helper()
	p.expectRSTCode(id, 0)
}

// expectRSTCode expects our WINDOW_UPDATE|RST carrying code.
func (p *rawPeer) expectRSTCode(id, code uint32) {
	p.t.Helper()
	p.expectWindowUpdate(id, frame.FlagRST, code)
}

// expectData expects one DATA frame with exactly flags and payload.
func (p *rawPeer) expectData(id uint32, flags frame.Flags, payload []byte) {
	p.t.Helper()
	body := p.expectFrame(frame.TypeData, flags, id, uint32(len(payload)))
	if !bytes.Equal(body, payload) {
		p.t.Fatalf("DATA body on stream %d: got %q, want %q", id, body, payload)
	}
}

// expectPong expects exactly one PING with only ACK set, echoing value, on stream 0.
func (p *rawPeer) expectPong(value uint32) {
	p.t.Helper()
	p.expectFrame(frame.TypePing, frame.FlagACK, 0, value)
}

// expectGoAway expects GO_AWAY(code) on stream 0, no flags.
func (p *rawPeer) expectGoAway(code uint32) {
	p.t.Helper()
	p.expectFrame(frame.TypeGoAway, 0, 0, code)
}

// expectClosed reads until our session closes the connection and fails on
// any frame that arrives first.
func (p *rawPeer) expectClosed() {
	p.t.Helper()
	f, ok, err := p.next()
	if ok {
		p.t.Fatalf("got frame %v, want the connection closed", f)
	}
	if !errors.Is(err, io.EOF) {
		p.t.Fatalf("reading after close: got %v, want io.EOF", err)
	}
}

// expectNoFrame waits until every goroutine of the bubble is idle and
// fails if our session sent anything meanwhile.
func (p *rawPeer) expectNoFrame() {
	p.t.Helper()
	synctest.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) > 0 {
		p.t.Fatalf("got unexpected frames %v, want none", p.queue)
	}
	if p.readErr != nil {
		p.t.Fatalf("connection ended (%v), want it open and silent", p.readErr)
	}
}

// pendingFrames waits until every goroutine of the bubble is idle and
// returns (consuming) every frame our session has sent so far.
func (p *rawPeer) pendingFrames() []rawFrame {
	synctest.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queue
	p.queue = nil
	return q
}

// readStreamData collects exactly n payload bytes of DATA frames (flags 0)
// for id, failing on any other frame. It returns the bytes and the size
// of every frame.
func (p *rawPeer) readStreamData(id uint32, n int) (data []byte, sizes []int) {
	p.t.Helper()
	for len(data) < n {
		h, body := p.readFrame()
		if h.Type() != frame.TypeData || h.StreamID() != id || h.Flags() != 0 {
			p.t.Fatalf("got frame %v after %d of %d bytes, want DATA on stream %d", rawFrame{h, body}, len(data), n, id)
		}
		data = append(data, body...)
		sizes = append(sizes, len(body))
	}
	if len(data) != n {
		p.t.Fatalf("got %d DATA bytes on stream %d, want %d", len(data), id, n)
	}
	return data, sizes
}

// ping sends PING(SYN) value and expects its pong.
func (p *rawPeer) ping(value uint32) {
	p.t.Helper()
	p.writeFrame(frame.TypePing, frame.FlagSYN, 0, value)
	p.expectPong(value)
}

// expectAlive checks that our session still runs: it answers the peer's
// ping and its own Ping round trip completes.
func (p *rawPeer) expectAlive() {
	p.t.Helper()
	if p.S.IsClosed() {
		p.t.Fatalf("session closed (%v), want it alive", p.S.Err())
	}
	p.ping(0x5eed)
	if p.answerPings {
		if _, err := p.S.Ping(); err != nil {
			p.t.Fatalf("Ping: got %v, want nil", err)
		}
	}
}

// expectProtocolError expects GO_AWAY(protocol error) followed by the
// connection closing, and Err() to be a local *SessionError with Code 1
// matching ErrProtocol, ErrSessionShutdown and cause (if non-nil).
func (p *rawPeer) expectProtocolError(cause error) {
	p.t.Helper()
	p.expectGoAway(uint32(yamux.CodeProtocolError))
	p.expectClosed()
	<-p.S.CloseChan()
	err := p.S.Err()
	var se *yamux.SessionError
	if !errors.As(err, &se) {
		p.t.Fatalf("Err() = %v (%T), want *yamux.SessionError", err, err)
	}
	if se.Code != yamux.CodeProtocolError || se.Remote {
		p.t.Errorf("Err() Code, Remote = %v, %v; want %v, false", se.Code, se.Remote, yamux.CodeProtocolError)
	}
	for _, want := range []error{yamux.ErrProtocol, yamux.ErrSessionShutdown, cause} {
		if want != nil && !errors.Is(err, want) {
			p.t.Errorf("Err() = %v, want it to match %v", err, want)
		}
	}
}

// acceptStream calls AcceptStream and expects our ACK for id on the wire.
func (p *rawPeer) acceptStream(id uint32) *yamux.Stream {
	p.t.Helper()
	st, err := p.S.AcceptStream()
	if err != nil {
		p.t.Fatalf("AcceptStream: %v", err)
	}
	if st.StreamID() != id {
		p.t.Fatalf("AcceptStream: got stream %d, want %d", st.StreamID(), id)
	}
	p.expectACK(id)
	return st
}

// openInbound makes the raw peer open stream id (WINDOW_UPDATE|SYN) and
// our application accept it.
func (p *rawPeer) openInbound(id uint32) *yamux.Stream {
	p.t.Helper()
	p.writeWindowUpdate(frame.FlagSYN, id, 0)
	return p.acceptStream(id)
}

// openOutbound makes our application open a stream, expects its SYN, and
// has the raw peer ACK it.
func (p *rawPeer) openOutbound(wantID uint32) *yamux.Stream {
	p.t.Helper()
	st, err := p.S.OpenStream()
	if err != nil {
		p.t.Fatalf("OpenStream: %v", err)
	}
	if st.StreamID() != wantID {
		p.t.Fatalf("OpenStream: got id %d, want %d", st.StreamID(), wantID)
	}
	p.expectSYN(wantID)
	p.writeWindowUpdate(frame.FlagACK, wantID, 0)
	return st
}

// TestRawPeerPings checks the harness's handling of our session's own
// pings, and the behaviour it relies on (spec.md §5.2, §5.3): one PING at
// start, answered, gives an RTT; a keepalive PING every KeepAliveInterval;
// unanswered, the session fails with ErrKeepAliveTimeout after
// KeepAliveTimeout and closes the connection without GO_AWAY.
func TestRawPeerPings(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newRawPeer(t, true, nil)
			synctest.Wait()
			if n := p.ourPings.Load(); n != 1 {
				t.Fatalf("our session sent %d PINGs at start, want 1", n)
			}
			if rtt := p.S.RTT(); rtt <= 0 {
				t.Fatalf("RTT() = %v after the first pong, want > 0", rtt)
			}
			time.Sleep(95 * time.Second) // keepalive pings at 30, 60 and 90 s
			if n := p.ourPings.Load(); n != 4 {
				t.Fatalf("our session sent %d PINGs in 95 s, want 4", n)
			}
			p.expectNoFrame()
			p.expectAlive()
		})
	})
	t.Run("unanswered", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, NoPingAnswers: true})
			start := time.Now()
			p.expectClosed()
			if d := time.Since(start); d != 40*time.Second {
				t.Fatalf("session ended after %v, want 40s (interval + timeout)", d)
			}
			err := p.S.Err()
			if !errors.Is(err, yamux.ErrKeepAliveTimeout) || !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Fatalf("Err() = %v, want ErrKeepAliveTimeout and ErrSessionShutdown", err)
			}
			if n := p.ourPings.Load(); n != 2 {
				t.Fatalf("our session sent %d PINGs, want 2 (start and one keepalive)", n)
			}
		})
	})
}

// echoRaw has the peer send msg on stream id, our application read it and
// write it back, and the peer receive it: the stream works both ways.
func echoRaw(t testing.TB, p *rawPeer, st *yamux.Stream, msg string) {
	t.Helper()
	p.writeData(0, st.StreamID(), []byte(msg))
	expectRead(t, st, msg)
	writeAll(t, st, []byte(msg))
	p.expectData(st.StreamID(), 0, []byte(msg))
}
