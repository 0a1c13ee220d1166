package yamux_test

// A connection fed batch by batch, for the hostile-peer cases that
// measure what handling one frame allocates and what an idle stream or
// session costs, and small helpers of individual cases.

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// feedConn is a connection for one session whose input the test
// hands over batch by batch, with nothing else running: no harness
// goroutine, no allocation per Read. What our session writes is dropped.
type feedConn struct {
	feed     chan []byte   // the next batch to read
	consumed chan struct{} // the session asked for more after a batch
	cur      []byte
	fed      bool // a batch was handed out and not yet reported consumed
	closed   chan struct{}
	once     sync.Once
}

func newFeedConn() *feedConn {
	return &feedConn{
		feed:     make(chan []byte),
		consumed: make(chan struct{}),
		closed:   make(chan struct{}),
	}
}

func (c *feedConn) Read(b []byte) (int, error) {
	if len(c.cur) == 0 {
		if c.fed {
			// Everything handed out before has been decoded and handled:
			// the receive loop reads only once its buffer is empty.
			c.fed = false
			select {
			case c.consumed <- struct{}{}:
			case <-c.closed:
				return 0, io.EOF
			}
		}
		select {
		case c.cur = <-c.feed:
			c.fed = true
		case <-c.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *feedConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return len(b), nil
}

func (c *feedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// give feeds one batch and waits until the session has handled all of it
// or has ended. It reports whether the session is still reading.
func (c *feedConn) give(s *yamux.Session, batch []byte) bool {
	select {
	case c.feed <- batch:
	case <-s.CloseChan():
		return false
	}
	select {
	case <-c.consumed:
		return true
	case <-s.CloseChan():
		return false
	}
}

// startFed starts a server session on a new feedConn (closed at cleanup)
// and feeds it the pong of its RTT ping, so that nothing is outstanding,
// followed by first.
func startFed(t testing.TB, cfg *yamux.Config, first []byte) (*feedConn, *yamux.Session) {
	t.Helper()
	c := newFeedConn()
	s, err := yamux.Server(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pong := frame.New(frame.TypePing, frame.FlagACK, 0, 1)
	if !c.give(s, append(pong[:], first...)) {
		t.Fatalf("fed session ended on its first frames: %v", s.Err())
	}
	return c, s
}

// handlingAlloc measures the bytes our session allocates while it
// handles offending (fed after prefix, which sets up state), until it has
// handled it and either asks for more or has ended. Our session is a
// server and the only thing running on the connection. Call it inside a
// synctest bubble.
func handlingAlloc(t testing.TB, cfg *yamux.Config, prefix, offending []byte) (alloc uint64, s *yamux.Session) {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
		cfg.EnableKeepAlive = false
	}
	// The count is the whole process's: goroutines of earlier tests still
	// winding down, or the runtime itself, can allocate during one
	// measurement (seen once: 6 KiB in a full shuffled run). They cannot
	// do so during every one of several, while a cost of handling the
	// frame shows in each: so the least of a few measurements is the
	// frame's.
	const measurements = 3
	alloc = ^uint64(0)
	for range measurements {
		c, fed := startFed(t, cfg, prefix)
		before := allocatedBytes()
		if c.give(fed, offending) {
			// Still alive: it handled the frame and asked for more.
		} else {
			<-fed.CloseChan()
		}
		// Let the session's goroutines finish what the frame caused.
		synctest.Wait()
		alloc = min(alloc, allocatedBytes()-before)
		s = fed
	}
	return alloc, s
}

// appendUseless appends one frame for stream id that changes nothing: a
// WINDOW_UPDATE with delta 0 or 1 and, at random, ACK (the stream is
// already established), or a flagless empty DATA (A4, A6). It returns the
// window credit it carries.
func appendUseless(b []byte, rng *rand.Rand, id uint32) ([]byte, uint32) {
	if rng.IntN(3) == 0 {
		return appendFrame(b, frame.TypeData, 0, id, 0, nil), 0
	}
	var flags frame.Flags
	if rng.IntN(2) == 0 {
		flags = frame.FlagACK
	}
	delta := uint32(rng.IntN(2))
	return appendFrame(b, frame.TypeWindowUpdate, flags, id, delta, nil), delta
}

// loopReader serves the same bytes over and over.
type loopReader struct {
	b   []byte
	off int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.b[r.off:])
		n += k
		r.off = (r.off + k) % len(r.b)
	}
	return n, nil
}

// expectReadProtocolError asserts that Read on st fails with an error matching
// ErrProtocol, ErrSessionShutdown and want (after any buffered data).
func expectReadProtocolError(t testing.TB, st *yamux.Stream, want error) {
	t.Helper()
	_, err := io.Copy(io.Discard, st)
	for _, w := range []error{yamux.ErrProtocol, yamux.ErrSessionShutdown, want} {
		if !errors.Is(err, w) {
			t.Errorf("stream %d: Read = %v, want an error matching %v", st.StreamID(), err, w)
		}
	}
}

// expectAlloc checks a handlingAlloc measurement: the session
// ended with want, allocating less than bound.
func expectAlloc(t testing.TB, alloc, bound uint64, s *yamux.Session, want error) {
	t.Helper()
	if err := s.Err(); !errors.Is(err, want) {
		t.Errorf("fed session: Err() = %v, want an error matching %v", err, want)
	}
	t.Logf("handling the header allocated %d B (bound %d B)", alloc, bound)
	if alloc >= bound {
		t.Errorf("handling the header allocated %d B, want < %d", alloc, bound)
	}
}

// idleStreamBytes measures streamOverhead: the heap growth per idle
// accepted stream, over n streams.
func idleStreamBytes(t *testing.T, n int) (perStream int64) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		cfg.AcceptBacklog = n
		cfg.MaxIncomingStreams = n
		c, s := startFed(t, cfg, nil)
		held := make([]*yamux.Stream, 0, n)
		syns := make([]byte, 0, n*frame.HeaderSize)
		for i := range n {
			syns = appendFrame(syns, frame.TypeWindowUpdate, frame.FlagSYN, uint32(1+2*i), 0, nil)
		}
		synctest.Wait()
		heap0 := heapBytes()
		if !c.give(s, syns) {
			t.Fatalf("session ended: %v", s.Err())
		}
		for range n {
			st, err := s.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, st)
		}
		synctest.Wait()
		perStream = (heapBytes() - heap0) / int64(len(held))
	})
	return perStream
}

// idleSessionBytes measures what a session holds before any attack:
// the Session, its read buffer, its send ring (allocated on the first
// DATA) and one stream.
func idleSessionBytes(t *testing.T) (n int64) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		synctest.Wait()
		heap0 := heapBytes()
		_, s := startFed(t, cfg, appendFrame(nil, frame.TypeWindowUpdate, frame.FlagSYN, 1, 0, nil))
		st, err := s.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, st, []byte("x"))
		synctest.Wait()
		n = heapBytes() - heap0
	})
	return n
}
