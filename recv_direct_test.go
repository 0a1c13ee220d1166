package yamux_test

// The direct read path (recvrole.go, spec.md §4.4): a Read that would wait
// for data reads the conn itself when nothing else waits for it, so that
// its data reaches it without a hand-off from the receive loop. What must
// hold: the path is taken where it may be (and never on a conn whose Read
// cannot be interrupted); a Read reading the conn leaves at once when its
// deadline passes or its stream is closed, reset or its session ends, and
// loses no byte, wherever in a frame it stops; frames for others and
// control frames are handled on the way; anything that starts waiting
// takes an idle role back at once, and frames nobody waits for are read
// within IdleGrace; a peer piling up replies cannot make a Read wait for
// room; a protocol violation found there ends the session as anywhere.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// holder returns who holds s's read role, as "loop", "idle" or "stream N".
func holder(s *yamux.Session) string {
	kind, id := yamux.ReadRoleHolder(s)
	if kind == "stream" {
		return fmt.Sprintf("stream %d", id)
	}
	return kind
}

// startDirect has the raw peer send two messages on st that our Read
// takes from the receive loop; nothing else waits, so the loop leaves the
// read role idle for st's next Read. It checks that the role is idle.
func startDirect(t *testing.T, p *rawPeer, st *yamux.Stream) {
	t.Helper()
	// Our RTT ping's pong has been read (the loop keeps the role while a
	// ping awaits its pong), and the Read waits before the data comes: the
	// loop gives it the data (had the data come first, the loop would have
	// buffered it). Twice: the loop leaves the role only to a stream it
	// gave data to twice in a row.
	synctest.Wait()
	for range 2 {
		read := goCall(func() error {
			expectRead(t, st, "warm")
			return nil
		})
		synctest.Wait()
		p.writeData(0, st.StreamID(), []byte("warm"))
		waitCall(t, read, "Read")
		synctest.Wait()
	}
	if h := holder(p.S); h != "idle" {
		t.Fatalf("after a Read took its data from the loop with nothing else waiting, the read role is held by %s, want idle", h)
	}
}

// waitingRead starts st.Read(buf) and lets the bubble settle: the Read
// then waits, reading the conn itself.
func waitingRead(t *testing.T, p *rawPeer, st *yamux.Stream, buf []byte) (*pendingCall, *int) {
	t.Helper()
	n := new(int)
	c := goCall(func() error {
		k, err := st.Read(buf)
		*n = k
		return err
	})
	synctest.Wait()
	expectBlocked(t, c, "Read with nothing sent")
	want := fmt.Sprintf("stream %d", st.StreamID())
	if h := holder(p.S); h != want {
		t.Fatalf("a waiting Read with nothing else waiting: read role held by %s, want %s", h, want)
	}
	return c, n
}

// TestDirectReadPingPong: request/response on one stream between two of
// our sessions, over every transport: after the first exchange both sides'
// Reads read the conn themselves, and every byte arrives in order.
func TestDirectReadPingPong(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		c, s := streamPair(t, p)
		done := make(chan error, 1)
		go func() { done <- echoUntilError(s) }()
		const rounds = 500
		msg := make([]byte, 100)
		got := make([]byte, len(msg))
		for i := range rounds {
			pattern(msg, int64(i)*int64(len(msg)))
			writeAll(t, c, msg)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("round %d: echo differs", i)
			}
		}
		c.Close()
		if err := <-done; err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("echo: %v", err)
		}
		for name, sess := range map[string]*yamux.Session{"client": p.client, "server": p.server} {
			st := sess.Stats()
			if st.FramesReadByStreams < rounds/2 {
				t.Errorf("%s: %d of %d frames read by the streams' Reads, want most of the %d messages", name, st.FramesReadByStreams, st.FramesReceived, rounds)
			}
		}
	}, pipeTransport)
}

// TestDirectReadNotOnPlainConn: on a conn that does not say its Read may
// be interrupted, only the receive loop reads.
func TestDirectReadNotOnPlainConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := memconn.Pipe()
		type plain struct{ io.ReadWriteCloser }
		client, server := sessionsOn(t, wrapConn{plain{a}, a}, wrapConn{plain{b}, b}, testConfig(), testConfig())
		p := sessions{client: client, server: server}
		c, s := streamPair(t, p)
		go echoUntilError(s)
		for range 50 {
			writeAll(t, c, []byte("x"))
			expectRead(t, c, "x")
		}
		for _, sess := range []*yamux.Session{client, server} {
			if n := sess.Stats().FramesReadByStreams; n != 0 {
				t.Fatalf("%d frames read by streams on a plain conn, want 0", n)
			}
		}
	})
}

// wrapConn is a net.Conn whose reads and writes go through rw only, so the
// session sees none of the conn's other methods... except these, which
// sessionsOn's cleanup needs.
type wrapConn struct {
	io.ReadWriteCloser
	c net.Conn
}

func (w wrapConn) LocalAddr() net.Addr                { return w.c.LocalAddr() }
func (w wrapConn) RemoteAddr() net.Addr               { return w.c.RemoteAddr() }
func (w wrapConn) SetDeadline(t time.Time) error      { return nil }
func (w wrapConn) SetReadDeadline(t time.Time) error  { return nil }
func (w wrapConn) SetWriteDeadline(t time.Time) error { return nil }

// TestDirectReadDeadlineMidFrame: a Read reading the conn itself times out
// exactly at its deadline, wherever in a frame the bytes stopped (in the
// header, in the body, with small and with large frames, whose headers
// and bodies it reads on their own), and nothing read before the deadline
// is lost: the next Read gets the frame whole.
func TestDirectReadDeadlineMidFrame(t *testing.T) {
	const big = 32 * 1024
	cases := []struct {
		name string
		size int // body size
		cut  int // bytes of header+body sent before the deadline
		big  bool
		// loop: the receive loop, not the next Read, reads the rest
		// (an AcceptStream starts waiting after the deadline).
		loop bool
	}{
		{"small frame, cut in the header", 10, 5, false, false},
		{"small frame, cut in the body", 10, frame.HeaderSize + 4, false, false},
		{"large frame, cut in the header", big, 7, true, false},
		{"large frame, cut in the body", big, frame.HeaderSize + big/3, true, false},
		{"small frame, cut in the header, finished by the loop", 10, 5, false, true},
		{"large frame, cut in the header, finished by the loop", big, 7, true, true},
		{"large frame, cut in the body, finished by the loop", big, frame.HeaderSize + big/3, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, testConfig())
				st := p.openInbound(1)
				startDirect(t, p, st)
				buf := make([]byte, 64*1024)
				if tc.big {
					// One large frame first, so the next header is read
					// on its own.
					body := patternBytes(1, big)
					p.writeData(0, 1, body)
					if got := readN(t, st, big); !bytes.Equal(got, body) {
						t.Fatal("large frame differs")
					}
				}
				body := patternBytes(2, tc.size)
				wire := rawData(0, 1, body)
				start := time.Now()
				st.SetReadDeadline(start.Add(time.Second))
				c, n := waitingRead(t, p, st, buf)
				p.writeRaw(wire[:tc.cut])
				synctest.Wait()
				got := append([]byte(nil), buf[:0]...)
				if tc.cut > frame.HeaderSize {
					// Body bytes arrived: the Read returns them at once.
					r := waitCall(t, c, "Read")
					if r.err != nil || *n == 0 {
						t.Fatalf("Read with part of the body here = %d, %v; want its bytes", *n, r.err)
					}
					got = append(got, buf[:*n]...)
					c, n = waitingRead(t, p, st, buf)
				}
				r := waitCall(t, c, "Read")
				if !errors.Is(r.err, yamux.ErrTimeout) || *n != 0 {
					t.Fatalf("Read = %d, %v; want 0, ErrTimeout", *n, r.err)
				}
				if d := time.Since(start); d != time.Second {
					t.Fatalf("Read timed out after %v, want exactly 1s", d)
				}
				if h := holder(p.S); h == "stream 1" {
					t.Fatal("the Read that timed out still holds the read role")
				}
				st.SetReadDeadline(time.Time{})
				if tc.loop {
					accept := goCall(func() error { _, err := p.S.AcceptStream(); return err })
					synctest.Wait()
					if h := holder(p.S); h != "loop" {
						t.Fatalf("read role held by %s while AcceptStream waits, want the loop", h)
					}
					p.writeRaw(wire[tc.cut:])
					p.writeWindowUpdate(frame.FlagSYN, 3, 0)
					waitCall(t, accept, "AcceptStream")
					p.skipPending()
				} else {
					p.writeRaw(wire[tc.cut:])
				}
				for len(got) < len(body) {
					k, err := st.Read(buf)
					if err != nil {
						t.Fatalf("Read after the deadline: %v", err)
					}
					got = append(got, buf[:k]...)
				}
				if !bytes.Equal(got, body) {
					t.Fatalf("got %d bytes differing from the %d sent", len(got), len(body))
				}
				p.expectAlive()
			})
		})
	}
}

// TestDirectReadLeavesAtOnce: while a Read reads the conn for its stream,
// another goroutine closes, half-closes for reading, resets the stream or
// moves its deadline into the past: the Read returns at once with what
// that means, and the session goes on (another stream still works).
func TestDirectReadLeavesAtOnce(t *testing.T) {
	cases := []struct {
		name string
		do   func(*yamux.Stream)
		want error
	}{
		{"Close", func(st *yamux.Stream) { st.Close() }, yamux.ErrStreamClosed},
		{"CloseRead", func(st *yamux.Stream) { st.CloseRead() }, yamux.ErrStreamClosed},
		{"Reset", func(st *yamux.Stream) { st.Reset() }, yamux.ErrStreamReset},
		{"past deadline", func(st *yamux.Stream) { st.SetReadDeadline(time.Now().Add(-time.Second)) }, yamux.ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, testConfig())
				st := p.openInbound(1)
				startDirect(t, p, st)
				c, _ := waitingRead(t, p, st, make([]byte, 10))
				start := time.Now()
				tc.do(st)
				synctest.Wait()
				r := waitCall(t, c, "Read")
				if !errors.Is(r.err, tc.want) {
					t.Fatalf("Read = %v, want %v", r.err, tc.want)
				}
				if d := time.Since(start); d != 0 {
					t.Fatalf("Read returned after %v, want at once", d)
				}
				p.skipPending() // our FIN or RST for stream 1
				other := p.openInbound(3)
				echoRaw(t, p, other, "still here")
				p.expectAlive()
			})
		})
	}
}

// TestDirectReadSessionClose: closing the session while a Read reads the
// conn ends that Read with the session's error, and the lingering close
// still reads the conn until the peer's EOF (Close returns once the peer
// hangs up, having received GO_AWAY).
func TestDirectReadSessionClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		st := p.openInbound(1)
		startDirect(t, p, st)
		c, _ := waitingRead(t, p, st, make([]byte, 10))
		closed := goCall(p.S.Close)
		p.expectGoAway(uint32(yamux.CodeNormal))
		r := waitCall(t, c, "Read")
		if !errors.Is(r.err, yamux.ErrSessionShutdown) {
			t.Fatalf("Read = %v, want ErrSessionShutdown", r.err)
		}
		expectBlocked(t, closed, "Close lingering for the peer's EOF")
		if h := holder(p.S); h != "loop" {
			t.Fatalf("read role held by %s after the session ended, want the loop (lingering)", h)
		}
		p.Conn.Close()
		if r := waitCall(t, closed, "Close"); r.err != nil {
			t.Fatalf("Close = %v", r.err)
		}
	})
}

// TestDirectReadHandlesOthers: a Read reading the conn for its stream
// handles what comes for others on the way: a ping is answered at once,
// data for a stream nobody reads is buffered, data for a stream whose Read
// waits reaches that Read; its own data ends its wait.
func TestDirectReadHandlesOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		a := p.openInbound(1)
		b := p.openInbound(3)
		c := p.openInbound(5)
		startDirect(t, p, a)
		bufA := make([]byte, 10)
		readA, nA := waitingRead(t, p, a, bufA)

		start := time.Now()
		p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 77)
		p.expectPong(77)
		if d := time.Since(start); d != 0 {
			t.Fatalf("pong after %v while a Read reads the conn, want at once", d)
		}
		p.writeData(0, 3, []byte("for b"))
		synctest.Wait()
		readC := goCall(func() error {
			expectRead(t, c, "for c")
			return nil
		})
		synctest.Wait()
		p.writeData(0, 5, []byte("for c"))
		waitCall(t, readC, "Read of c")
		expectBlocked(t, readA, "Read of a, with nothing for a")
		expectRead(t, b, "for b")
		p.writeData(0, 1, []byte("for a"))
		if r := waitCall(t, readA, "Read of a"); r.err != nil || string(bufA[:*nA]) != "for a" {
			t.Fatalf("Read of a = %q, %v; want \"for a\"", bufA[:*nA], r.err)
		}
		p.expectAlive()
	})
}

// TestDirectReadIdleRole: with the read role idle (no Read waiting),
// frames nobody waits for are read within IdleGrace; and whatever starts
// waiting for the conn takes the role back to the receive loop at once,
// so what it waits for is not delayed: a stream to accept, a window update
// for a blocked Write, the pong of a Ping, data for a Read of another
// stream.
func TestDirectReadIdleRole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		st := p.openInbound(1)
		startDirect(t, p, st)
		start := time.Now()
		p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 1)
		p.expectPong(1)
		if d := time.Since(start); d <= 0 || d > yamux.IdleGrace {
			t.Fatalf("ping answered after %v with the role idle, want within (0, %v]", d, yamux.IdleGrace)
		}
		if h := holder(p.S); h != "loop" {
			t.Fatalf("read role held by %s after the grace, want the loop", h)
		}
	})

	waiters := []struct {
		name   string
		setup  func(t *testing.T, p *rawPeer) // before the role is left idle
		wait   func(t *testing.T, p *rawPeer) *pendingCall
		bring  func(p *rawPeer) // the frame the waiter waits for
		holder string           // who then holds the role
	}{
		{
			name: "AcceptStream",
			wait: func(t *testing.T, p *rawPeer) *pendingCall {
				return goCall(func() error { _, err := p.S.AcceptStream(); return err })
			},
			bring:  func(p *rawPeer) { p.writeWindowUpdate(frame.FlagSYN, 3, 0) },
			holder: "loop",
		},
		{
			name: "Write on an empty window",
			wait: func(t *testing.T, p *rawPeer) *pendingCall {
				st, err := p.S.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				return goCall(func() error {
					_, err := st.Write(make([]byte, yamux.InitialWindow+1))
					return err
				})
			},
			bring:  func(p *rawPeer) { p.writeWindowUpdate(frame.FlagACK, 2, 1) },
			holder: "loop",
		},
		{
			name: "Ping",
			wait: func(t *testing.T, p *rawPeer) *pendingCall {
				return goCall(func() error { _, err := p.S.Ping(); return err })
			},
			// The pong has been read by now (the raw peer answers at
			// once); the loop keeps the role until it next gives a
			// waiting Read its data.
			holder: "loop",
		},
		{
			name: "Read of another stream",
			wait: func(t *testing.T, p *rawPeer) *pendingCall {
				other, err := p.S.AcceptStream() // opened in setup
				if err != nil {
					t.Fatal(err)
				}
				return goCall(func() error { _, err := other.Read(make([]byte, 10)); return err })
			},
			setup: func(t *testing.T, p *rawPeer) { p.writeWindowUpdate(frame.FlagSYN, 3, 0) },
			bring: func(p *rawPeer) { p.writeData(0, 3, []byte("hi")) },
			// That Read takes the idle role and reads the conn itself.
			holder: "stream 3",
		},
	}
	for _, w := range waiters {
		t.Run(w.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRawPeer(t, true, testConfig())
				st := p.openInbound(1)
				if w.setup != nil {
					w.setup(t, p)
				}
				startDirect(t, p, st)
				start := time.Now()
				c := w.wait(t, p)
				synctest.Wait()
				if h := holder(p.S); h != w.holder {
					t.Fatalf("read role held by %s once something waits, want %s", h, w.holder)
				}
				if w.bring != nil {
					p.skipPending()
					w.bring(p)
				}
				if r := waitCall(t, c, w.name); r.err != nil {
					t.Fatalf("%s = %v", w.name, r.err)
				}
				if d := time.Since(start); d != 0 {
					t.Fatalf("%s took %v of fake time, want none (no grace to wait for)", w.name, d)
				}
			})
		})
	}
}

// skipPending drops what our session has sent so far (the waiter's own
// frames: a SYN, DATA up to the window, a PING answered by the reader).
func (p *rawPeer) skipPending() { p.pendingFrames() }

// TestDirectReadBodyChangesHands: a large frame whose body a Read began to
// read straight into its slice is finished by the receive loop once
// something else waits, and by the next Read after a deadline cut it: the
// bytes arrive whole and in order either way.
func TestDirectReadBodyChangesHands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		st := p.openInbound(1)
		startDirect(t, p, st)
		body := patternBytes(3, 48*1024)
		wire := rawData(0, 1, body)
		p.writeRaw(wire[:frame.HeaderSize+10*1024])
		buf := make([]byte, 16*1024)
		k, err := st.Read(buf) // its own Read: 10 KiB of the body
		if err != nil {
			t.Fatal(err)
		}
		got := append([]byte(nil), buf[:k]...)
		// Something else waits: the loop takes the role and goes on with
		// the body into the stream's buffer.
		accept := goCall(func() error { _, err := p.S.AcceptStream(); return err })
		synctest.Wait()
		if h := holder(p.S); h != "loop" {
			t.Fatalf("read role held by %s while AcceptStream waits, want the loop", h)
		}
		p.writeRaw(wire[frame.HeaderSize+10*1024:])
		p.writeWindowUpdate(frame.FlagSYN, 3, 0)
		waitCall(t, accept, "AcceptStream")
		for len(got) < len(body) {
			k, err := st.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:k]...)
		}
		if !bytes.Equal(got, body) {
			t.Fatal("the body changed hands and came out different")
		}
		p.skipPending() // our ACK of stream 3
		p.expectAlive()
	})
}

// TestDirectReadReplyFlood: a peer that floods pings while not reading our
// pongs cannot make a Read wait for reply room: the Read reading the conn
// gives the role to the receive loop when the bound is reached (which
// pauses reading), and its deadline still ends it on time; once the peer
// reads again, everything resumes.
func TestDirectReadReplyFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Capacity: 4096})
		st := p.openInbound(1)
		startDirect(t, p, st)
		st.SetReadDeadline(time.Now().Add(time.Second))
		c, _ := waitingRead(t, p, st, make([]byte, 10))
		p.oursMem().BlockWrites(true)
		var flood []byte
		for i := range yamux.MaxPendingPongs + 50 {
			flood = append(flood, rawEncode(frame.TypePing, frame.FlagSYN, 0, uint32(i))...)
		}
		p.writeRaw(flood)
		synctest.Wait()
		if n := p.S.Stats().ReplyPauses; n == 0 {
			t.Fatal("no reply pause: the reply bound was not reached")
		}
		if h := holder(p.S); h != "loop" {
			t.Fatalf("read role held by %s at the reply bound, want the loop (which waits for room)", h)
		}
		start := time.Now()
		r := waitCall(t, c, "Read")
		if !errors.Is(r.err, yamux.ErrTimeout) || time.Since(start) > time.Second {
			t.Fatalf("Read = %v after %v, want ErrTimeout by its deadline", r.err, time.Since(start))
		}
		p.oursMem().BlockWrites(false)
		st.SetReadDeadline(time.Time{})
		p.skipPending()
		echoRaw(t, p, st, "after the flood")
		p.expectAlive()
	})
}

// TestDirectReadProtocolError: a protocol violation read by a Read reading
// the conn ends the session with GO_AWAY(protocol error), and that Read
// returns the session's error.
func TestDirectReadProtocolError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		st := p.openInbound(1)
		startDirect(t, p, st)
		c, _ := waitingRead(t, p, st, make([]byte, 10))
		bad := rawEncode(frame.TypeData, 0, 1, 4)
		bad[0] = 7 // unknown version
		p.writeRaw(bad)
		p.expectProtocolError(frame.ErrInvalidHeader)
		if r := waitCall(t, c, "Read"); !errors.Is(r.err, yamux.ErrSessionShutdown) {
			t.Fatalf("Read = %v, want ErrSessionShutdown", r.err)
		}
	})
}

// TestDirectReadStress: two of our sessions, over every transport, each
// side running request/response on several streams whose Reads come and
// go with short deadlines that often expire in the middle of a frame,
// while others stream bulk data and a watcher keeps moving deadlines:
// every byte of every stream arrives once and in order.
func TestDirectReadStress(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		const streams, perStream = 4, 256 * 1024
		var wg sync.WaitGroup
		errs := make(chan error, 4*streams)
		for i := range streams {
			c, s := streamPair(t, p)
			bulk := i%2 == 1
			wg.Add(2)
			go func() { // the client sends the pattern, in requests or bulk
				defer wg.Done()
				errs <- stressSend(c, perStream, bulk)
			}()
			go func() { // the server reads it with expiring deadlines
				defer wg.Done()
				errs <- stressRecv(s, perStream, int64(i))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}, pipeTransport)
}

func stressSend(st *yamux.Stream, n int, bulk bool) error {
	defer st.CloseWrite()
	size := 37
	if bulk {
		size = 64 * 1024
	}
	buf := make([]byte, size)
	for off := 0; off < n; off += size {
		b := pattern(buf[:min(size, n-off)], int64(off))
		if _, err := st.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// stressRecv reads n pattern bytes, each Read under a deadline of a few
// microseconds to a millisecond, so that many expire while the Read reads
// the conn; a timeout is retried.
func stressRecv(st *yamux.Stream, n int, seed int64) error {
	buf := make([]byte, 4096+int(seed)*1000)
	want := make([]byte, len(buf))
	off := 0
	for i := 0; off < n; i++ {
		st.SetReadDeadline(time.Now().Add(time.Duration(1+(i*7+int(seed))%1000) * time.Microsecond))
		k, err := st.Read(buf)
		if k > 0 {
			if !bytes.Equal(buf[:k], pattern(want[:k], int64(off))) {
				return errors.New("stream data differs from the pattern")
			}
			off += k
		}
		if err != nil && !errors.Is(err, yamux.ErrTimeout) {
			return err
		}
	}
	st.SetReadDeadline(time.Now().Add(guard))
	if _, err := st.Read(buf); !errors.Is(err, io.EOF) {
		return errors.New("no EOF after the pattern: " + errString(err))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// intoDirectPath brings a Read of st into the direct path over a real
// socket: a Read waits before each message until the receive loop leaves
// the role idle for st's next Read.
func intoDirectPath(t *testing.T, p *rawPeer, st *yamux.Stream) {
	t.Helper()
	for i := 0; ; i++ {
		read := goCall(func() error { expectRead(t, st, "warm"); return nil })
		if ok, _ := poll(guard, func() bool { return readersWaiting(p.S) }); !ok {
			t.Fatal("the Read never waited")
		}
		p.writeData(0, st.StreamID(), []byte("warm"))
		waitCall(t, read, "Read")
		if ok, _ := poll(100*time.Millisecond, func() bool { return holder(p.S) == "idle" }); ok {
			return
		}
		if i == 10 {
			t.Fatalf("read role still held by %s after %d exchanges, want idle", holder(p.S), i+1)
		}
	}
}

// directStream opens stream 1 from a raw peer over pair and brings its
// Reads into the direct path (intoDirectPath).
func directStream(t *testing.T, pair pairFunc) (*rawPeer, *yamux.Stream) {
	t.Helper()
	p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Pair: pair, Timeout: guard})
	st := p.openInbound(1)
	intoDirectPath(t, p, st)
	return p, st
}

// readWith reads n bytes from st with Reads into buf, which may be larger
// than what is left: room in the slice lets a Read go on with what it has
// read ahead.
func readWith(t *testing.T, st *yamux.Stream, n int, buf []byte) []byte {
	t.Helper()
	var got []byte
	for len(got) < n {
		k, err := st.Read(buf)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:k]...)
	}
	return got
}

// socketTransports are the transports where a Read holding the read role
// reads bodies straight into its slice and, on Linux, each body's end
// together with the next header (readv_linux.go).
var socketTransports = []transport{{"tcp", tcpPair}, {"unix", unixPair}}

// TestDirectReadLargeFrames: on a socket a Read reading the conn itself
// takes large frames' bodies straight into its slice and their headers
// on their own or with the body before them. Whatever way the bytes come,
// in one write or cut anywhere (in a body, in a header), with a deadline
// expiring while the Read waits in the conn, every byte arrives once and
// in order.
func TestDirectReadLargeFrames(t *testing.T) {
	for _, tr := range socketTransports {
		t.Run(tr.name, func(t *testing.T) { testDirectReadLargeFrames(t, tr.pair) })
	}
}

func testDirectReadLargeFrames(t *testing.T, pair pairFunc) {
	p, st := directStream(t, pair)
	before := p.S.Stats().FramesReadByStreams
	const size = 64 * kib
	var want []byte
	var wire []byte
	for i := range 4 { // the initial window, so the peer needs no credit
		body := patternBytes(uint64(10+i), size)
		want = append(want, body...)
		wire = append(wire, rawData(0, 1, body)...)
	}
	buf := make([]byte, size)
	var got []byte
	readSome := func(deadline time.Duration) error {
		st.SetReadDeadline(time.Now().Add(deadline))
		n, err := st.Read(buf)
		got = append(got, buf[:n]...)
		return err
	}
	// Frame 1 whole; then frame 2 cut in its body with a deadline
	// expiring in the read of the rest; then the rest, cut inside the
	// header of frame 3; then everything else at once.
	const framed = frame.HeaderSize + size
	cuts := []int{framed, framed + frame.HeaderSize + size/3, 2*framed + 5, len(wire)}
	from := 0
	for _, to := range cuts {
		p.writeRaw(wire[from:to])
		from = to
		for len(got) < len(want) {
			err := readSome(50 * time.Millisecond)
			if errors.Is(err, yamux.ErrTimeout) {
				break // waited in the conn for bytes not sent yet
			}
			if err != nil {
				t.Fatalf("Read after %d bytes: %v", len(got), err)
			}
		}
	}
	st.SetReadDeadline(time.Time{})
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want the %d sent, in order", len(got), len(want))
	}
	if n := p.S.Stats().FramesReadByStreams - before; n < 3 {
		t.Fatalf("%d of the 4 frames read by the Read itself, want most", n)
	}
	// Alive: past our window updates for what was read, a ping answered.
	p.writeFrame(frame.TypePing, frame.FlagSYN, 0, 99)
	p.skipTo(frame.New(frame.TypePing, frame.FlagACK, 0, 99))
}

// readersWaiting says whether a Read of s waits (for a test that must
// start a Read before the data it reads is sent).
func readersWaiting(s *yamux.Session) bool { return yamux.ReadWaiters(s) > 0 }

// TestDirectReadStopsAtSessionEnd: a Read reading the conn handles what is
// buffered as the receive loop does, and the loop handles nothing once the
// session has ended; neither may the Read. A peer sending GO_AWAYs with
// a new error code each in one write got one Stats entry per code (5,000
// from one 60 KB write) when a Read held the role, one when the loop did.
func TestDirectReadStopsAtSessionEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRawPeer(t, true, testConfig())
		st := p.openInbound(1)
		startDirect(t, p, st)
		c, _ := waitingRead(t, p, st, make([]byte, 10))
		// The Read reads the PING header on its own, and finds the
		// GO_AWAYs behind it in its buffer.
		b := rawEncode(frame.TypePing, 0, 0, 7)
		const goAways = 100
		for i := range goAways {
			b = append(b, rawEncode(frame.TypeGoAway, 0, 0, uint32(1000+i))...)
		}
		p.writeRaw(b)
		if r := waitCall(t, c, "Read"); !errors.Is(r.err, yamux.ErrSessionShutdown) && !errors.Is(r.err, yamux.ErrRemoteGoAway) {
			t.Fatalf("Read = %v, want the session's end", r.err)
		}
		<-p.S.CloseChan()
		if got := p.S.Stats().GoAwayReceived; len(got) != 1 || got[1000] != 1 {
			t.Fatalf("GO_AWAYs counted after %d in one write = %v, want only the first (code 1000: 1)", goAways, got)
		}
	})
}
