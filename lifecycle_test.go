package yamux_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// Session lifecycle: how sessions end, how every blocked call learns about
// it, Close/CloseWithError/GoAway, stream open and close timeouts, and
// keepalive. Time-based behaviour runs in synctest bubbles over memconn
// (fake time, exact bounds); the rest also runs over TCP loopback.

// lcGuard bounds every wait. It is a failure guard, never a sleep: inside a
// bubble it is fake time and costs nothing when the awaited event happens.
const lcGuard = 5 * time.Second

// lcPairFunc makes a connected pair of conns (memPair, tcpPair).
type lcPairFunc = func(testing.TB) (net.Conn, net.Conn)

// lcMatrix runs fn once per transport: memconn inside a synctest bubble
// (fake == true: time is fake and synctest.Wait may be used), every other
// transport on real time outside bubbles.
func lcMatrix(t *testing.T, fn func(t *testing.T, pair lcPairFunc, fake bool)) {
	t.Helper()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			if tr.name == "mem" {
				synctest.Test(t, func(t *testing.T) { fn(t, tr.pair, true) })
				return
			}
			fn(t, tr.pair, false)
		})
	}
}

// lcResult is how a call run by lcGo ended.
type lcResult struct {
	err error
	at  time.Time // when it returned
}

// lcGo runs call in a new goroutine; the channel receives its outcome.
func lcGo(call func() error) <-chan lcResult {
	ch := make(chan lcResult, 1)
	go func() {
		err := call()
		ch <- lcResult{err: err, at: time.Now()}
	}()
	return ch
}

// lcWait returns the outcome of a call started by lcGo, failing the test if
// it has not returned within lcGuard.
func lcWait(t testing.TB, ch <-chan lcResult, what string) lcResult {
	t.Helper()
	return lcWaitFor(t, ch, what, lcGuard)
}

// lcWaitFor is lcWait with guard d.
func lcWaitFor(t testing.TB, ch <-chan lcResult, what string, d time.Duration) lcResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("%s: still blocked after %v, want it to return", what, d)
		return lcResult{}
	}
}

// lcPending fails the test if the call behind ch has already returned.
func lcPending(t testing.TB, ch <-chan lcResult, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned early (err %v), want it still blocked", what, r.err)
	default:
	}
}

// lcSessions is a client/server session pair with the conns under them.
type lcSessions struct {
	client, server *yamux.Session
	cconn, sconn   net.Conn
}

// lcStart starts a session pair over pair; cleanup closes sessions and conns.
func lcStart(t testing.TB, pair lcPairFunc, ccfg, scfg *yamux.Config) lcSessions {
	t.Helper()
	c1, c2 := pair(t)
	client, err := yamux.Client(c1, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err := yamux.Server(c2, scfg)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
		c1.Close()
		c2.Close()
	})
	return lcSessions{client: client, server: server, cconn: c1, sconn: c2}
}

// lcWarm pings both ways. Afterwards no frame is in flight between the two
// sessions, so closing a conn is seen by the peer as a clean EOF even on TCP.
func lcWarm(t testing.TB, p lcSessions) {
	t.Helper()
	for _, s := range []*yamux.Session{p.client, p.server} {
		if _, err := s.Ping(); err != nil {
			t.Fatalf("Ping before the test: %v, want nil", err)
		}
	}
}

// lcSessionErr returns err as a *SessionError, failing the test otherwise.
func lcSessionErr(t testing.TB, err error) *yamux.SessionError {
	t.Helper()
	var se *yamux.SessionError
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want a *yamux.SessionError", err, err)
	}
	return se
}

// lcStreamErr returns err as a *StreamError, failing the test otherwise.
func lcStreamErr(t testing.TB, err error) *yamux.StreamError {
	t.Helper()
	var se *yamux.StreamError
	if !errors.As(err, &se) || !errors.Is(err, yamux.ErrStreamReset) {
		t.Fatalf("got error %v (%T), want a *yamux.StreamError matching ErrStreamReset", err, err)
	}
	return se
}

// lcBytes returns n pseudo-random bytes determined by seed.
func lcBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed, 'y', 'a', 'm', 'u', 'x'}).Read(b)
	return b
}

// lcRaw is the far end of a session's conn, driven frame by frame.
type lcRaw struct {
	conn net.Conn
	fr   *frame.Reader
	wmu  sync.Mutex
}

// lcRawPeer starts a session over one end of pair and returns a raw peer on
// the other end. server picks the session's role.
func lcRawPeer(t testing.TB, pair lcPairFunc, cfg *yamux.Config, server bool) (*yamux.Session, *lcRaw) {
	t.Helper()
	c1, c2 := pair(t)
	newSession, sc, rc := yamux.Client, c1, c2
	if server {
		newSession, sc, rc = yamux.Server, c2, c1
	}
	s, err := newSession(sc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		rc.Close()
		sc.Close()
	})
	return s, &lcRaw{conn: rc, fr: frame.NewReader(rc, 1<<30)}
}

// send writes one frame; safe for concurrent use.
func (r *lcRaw) send(h frame.Header, payload []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	_, err := r.conn.Write(append(h[:], payload...))
	return err
}

// next reads one frame and, for DATA, its payload.
func (r *lcRaw) next() (frame.Header, []byte, error) {
	h, err := r.fr.ReadHeader()
	if err != nil {
		return h, nil, err
	}
	var payload []byte
	if h.Type() == frame.TypeData {
		payload = make([]byte, h.Length())
		if _, err := io.ReadFull(r.conn, payload); err != nil {
			return h, nil, err
		}
	}
	return h, payload, nil
}

// serve reads frames in a goroutine until the conn fails. It answers PING
// requests when pong is set and passes every other frame on frames (which
// holds plenty for these tests; beyond that frames are dropped, never
// blocking the reader). done is closed when it stops.
func (r *lcRaw) serve(pong bool) (frames <-chan frame.Header, done <-chan struct{}) {
	ch := make(chan frame.Header, 4096)
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for {
			h, _, err := r.next()
			if err != nil {
				return
			}
			if h.Type() == frame.TypePing && h.Flags()&frame.FlagSYN != 0 {
				if pong {
					if r.send(frame.New(frame.TypePing, frame.FlagACK, 0, h.Length()), nil) != nil {
						return
					}
				}
				continue
			}
			select {
			case ch <- h:
			default:
			}
		}
	}()
	return ch, stop
}

// lcWantFrame skips frames until one matches want (type, flags exactly,
// stream id, length), failing the test after lcGuard.
func lcWantFrame(t testing.TB, frames <-chan frame.Header, want frame.Header) {
	t.Helper()
	timeout := time.After(lcGuard)
	for {
		select {
		case h := <-frames:
			if h == want {
				return
			}
		case <-timeout:
			t.Fatalf("frame %v not received within %v", want, lcGuard)
		}
	}
}

// lcMem returns the *memconn.Conn behind c.
func lcMem(t testing.TB, c net.Conn) *memconn.Conn {
	t.Helper()
	mc, ok := c.(*memconn.Conn)
	if !ok {
		t.Fatalf("conn is %T, want *memconn.Conn", c)
	}
	return mc
}

func TestAcceptStreamUnblocksOnClose(t *testing.T) {
	tests := []struct {
		name  string
		end   func(p lcSessions)
		check func(t *testing.T, p lcSessions, err error)
	}{
		{
			name: "local Close",
			end:  func(p lcSessions) { p.server.Close() },
			check: func(t *testing.T, p lcSessions, err error) {
				if se := lcSessionErr(t, err); se.Remote || se.Code != yamux.CodeNormal {
					t.Errorf("AcceptStream error = %+v, want Remote false, Code normal", se)
				}
			},
		},
		{
			name: "peer Close sends GO_AWAY",
			end:  func(p lcSessions) { p.client.Close() },
			check: func(t *testing.T, p lcSessions, err error) {
				if !errors.Is(err, yamux.ErrRemoteGoAway) {
					t.Errorf("AcceptStream error = %v, want it to match ErrRemoteGoAway", err)
				}
				if se := lcSessionErr(t, err); !se.Remote {
					t.Errorf("AcceptStream error = %+v, want Remote true", se)
				}
			},
		},
		{
			name: "peer conn closed",
			end:  func(p lcSessions) { p.cconn.Close() },
			check: func(t *testing.T, p lcSessions, err error) {
				if !errors.Is(p.server.Err(), io.EOF) {
					t.Errorf("server Err() = %v, want it to match io.EOF", p.server.Err())
				}
				if se := lcSessionErr(t, p.server.Err()); !se.Remote {
					t.Errorf("server Err() = %+v, want Remote true", se)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
				p := lcStart(t, pair, testConfig(), testConfig())
				lcWarm(t, p)
				accept := lcGo(func() error {
					_, err := p.server.AcceptStream()
					return err
				})
				if fake {
					synctest.Wait()
					lcPending(t, accept, "AcceptStream")
				}
				start := time.Now()
				tc.end(p)
				res := lcWait(t, accept, "AcceptStream")
				if !errors.Is(res.err, yamux.ErrSessionShutdown) {
					t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
				}
				if d := res.at.Sub(start); fake && d != 0 {
					t.Errorf("AcceptStream returned %v (fake time) after the end, want at once", d)
				}
				tc.check(t, p, res.err)
				waitClosed(t, p.server, lcGuard)
				if _, err := p.server.AcceptStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("AcceptStream after the end = %v, want it to match ErrSessionShutdown", err)
				}
			})
		})
	}
}

func TestAcceptStreamUnblocksOnError(t *testing.T) {
	// acceptErr starts AcceptStream on s and returns its outcome.
	acceptErr := func(t *testing.T, s *yamux.Session) lcResult {
		t.Helper()
		accept := lcGo(func() error {
			_, err := s.AcceptStream()
			return err
		})
		res := lcWait(t, accept, "AcceptStream")
		if !errors.Is(res.err, yamux.ErrSessionShutdown) {
			t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
		}
		return res
	}

	t.Run("read error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := lcStart(t, memPair, testConfig(), testConfig())
			synctest.Wait()
			accept := lcGo(func() error {
				_, err := p.server.AcceptStream()
				return err
			})
			synctest.Wait()
			lcPending(t, accept, "AcceptStream")
			start := time.Now()
			lcMem(t, p.sconn).Reset()
			res := lcWait(t, accept, "AcceptStream")
			if !errors.Is(res.err, yamux.ErrSessionShutdown) {
				t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
			}
			if d := res.at.Sub(start); d != 0 {
				t.Errorf("AcceptStream returned %v after the reset, want at once", d)
			}
			if err := p.server.Err(); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("server Err() = %v, want it to match ECONNRESET", err)
			}
		})
	})

	t.Run("protocol error", func(t *testing.T) {
		lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
			s, raw := lcRawPeer(t, pair, testConfig(), true)
			accept := lcGo(func() error {
				_, err := s.AcceptStream()
				return err
			})
			bad := frame.New(frame.TypePing, frame.FlagSYN, 0, 1)
			bad[0] = 1 // version 1
			if err := raw.send(bad, nil); err != nil {
				t.Fatal(err)
			}
			res := lcWait(t, accept, "AcceptStream")
			if !errors.Is(res.err, yamux.ErrSessionShutdown) {
				t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
			}
			err := s.Err()
			if !errors.Is(err, yamux.ErrProtocol) || !errors.Is(err, yamux.ErrInvalidVersion) {
				t.Errorf("Err() = %v, want it to match ErrProtocol and ErrInvalidVersion", err)
			}
			if se := lcSessionErr(t, err); se.Code != yamux.CodeProtocolError || se.Remote {
				t.Errorf("Err() = %+v, want Code protocol error, Remote false", se)
			}
			// The peer is told: GO_AWAY(protocol error), then EOF.
			raw.conn.SetReadDeadline(time.Now().Add(lcGuard))
			sawGoAway := false
			for {
				h, _, err := raw.next()
				if err != nil {
					if !sawGoAway {
						t.Errorf("conn ended (%v) before GO_AWAY(1)", err)
					}
					break
				}
				if h.Type() == frame.TypeGoAway {
					if h.Length() != uint32(yamux.CodeProtocolError) {
						t.Errorf("GO_AWAY code = %d, want %d", h.Length(), yamux.CodeProtocolError)
					}
					sawGoAway = true
				}
			}
		})
	})

	const interval, timeout = 100 * time.Millisecond, 100 * time.Millisecond
	keepaliveCfg := func() *yamux.Config {
		cfg := testConfig()
		cfg.KeepAliveInterval = interval
		cfg.KeepAliveTimeout = timeout
		return cfg
	}
	checkKeepalive := func(t *testing.T, s *yamux.Session, start time.Time, res lcResult) {
		t.Helper()
		if !errors.Is(s.Err(), yamux.ErrKeepAliveTimeout) {
			t.Errorf("Err() = %v, want it to match ErrKeepAliveTimeout", s.Err())
		}
		// The keepalive ping leaves after one interval; the session must
		// fail when its timeout runs out, not later.
		if d := res.at.Sub(start); d <= interval || d > interval+timeout {
			t.Errorf("session failed after %v (fake time), want in (%v, %v]", d, interval, interval+timeout)
		}
	}

	t.Run("keepalive timeout, silent peer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			s, raw := lcRawPeer(t, memPair, keepaliveCfg(), true)
			_, done := raw.serve(false) // reads everything, answers nothing
			res := acceptErr(t, s)
			checkKeepalive(t, s, start, res)
			<-done
		})
	})

	t.Run("keepalive timeout, peer writes stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			stalled := func(testing.TB) (net.Conn, net.Conn) {
				c1, c2 := memconn.Pipe()
				c1.BlockWrites(true) // the client session can send nothing
				return c1, c2
			}
			start := time.Now()
			p := lcStart(t, stalled, testConfig(), keepaliveCfg())
			res := acceptErr(t, p.server)
			checkKeepalive(t, p.server, start, res)
		})
	})

	t.Run("write timeout", func(t *testing.T) {
		// Repeated: the cause used to lose, now and then, a race against
		// the receive loop's read of the closed conn.
		for range 50 {
			synctest.Test(t, func(t *testing.T) {
				const writeTimeout = time.Second
				scfg := testConfig()
				scfg.ConnectionWriteTimeout = writeTimeout
				p := lcStart(t, memPair, testConfig(), scfg)
				st, err := p.server.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				lcMem(t, p.sconn).BlockWrites(true) // the server's writes stall
				start := time.Now()
				write := lcGo(func() error {
					_, err := st.Write(make([]byte, 1<<20))
					return err
				})
				res := acceptErr(t, p.server)
				if !errors.Is(p.server.Err(), yamux.ErrConnectionWriteTimeout) {
					t.Errorf("Err() = %v, want it to match ErrConnectionWriteTimeout", p.server.Err())
				}
				if d := res.at.Sub(start); d != writeTimeout {
					t.Errorf("session failed after %v (fake time), want %v", d, writeTimeout)
				}
				if w := lcWait(t, write, "Write"); !errors.Is(w.err, yamux.ErrSessionShutdown) {
					t.Errorf("blocked Write error = %v, want it to match ErrSessionShutdown", w.err)
				}
			})
		}
	})
}

// TestBlockedCallsWakeOnSessionEnd blocks one of every blocking call, ends
// the session in different ways and checks that all of them return an error
// matching ErrSessionShutdown at once, and that the session reports its end.
func TestBlockedCallsWakeOnSessionEnd(t *testing.T) {
	ends := []struct {
		name string
		end  func(s *yamux.Session, raw *lcRaw)
	}{
		{"Close", func(s *yamux.Session, _ *lcRaw) { s.Close() }},
		{"CloseWithError", func(s *yamux.Session, _ *lcRaw) { s.CloseWithError(yamux.CodeInternalError) }},
		{"peer EOF", func(_ *yamux.Session, raw *lcRaw) { raw.conn.Close() }},
	}
	for _, tc := range ends {
		t.Run(tc.name, func(t *testing.T) {
			lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
				// The peer reads everything and answers nothing: no ACK,
				// no window update, no pong.
				s, raw := lcRawPeer(t, pair, testConfig(), false)
				drain := lcGo(func() error {
					_, err := io.Copy(io.Discard, raw.conn)
					return err
				})
				// 256 unacknowledged streams fill the ACK backlog.
				streams := make([]*yamux.Stream, 256)
				for i := range streams {
					st, err := s.OpenStream()
					if err != nil {
						t.Fatalf("OpenStream #%d: %v", i, err)
					}
					streams[i] = st
				}
				calls := map[string]<-chan lcResult{
					"AcceptStream": lcGo(func() error {
						_, err := s.AcceptStream()
						return err
					}),
					"OpenStreamContext": lcGo(func() error {
						_, err := s.OpenStreamContext(context.Background())
						return err
					}),
					"Read": lcGo(func() error {
						_, err := streams[0].Read(make([]byte, 1))
						return err
					}),
					// One byte more than the peer's window.
					"Write": lcGo(func() error {
						_, err := streams[1].Write(make([]byte, 256<<10+1))
						return err
					}),
					"Ping": lcGo(func() error {
						_, err := s.Ping()
						return err
					}),
				}
				if fake {
					synctest.Wait()
				}
				for name, ch := range calls {
					lcPending(t, ch, name)
				}
				if err := s.Err(); err != nil {
					t.Errorf("Err() while running = %v, want nil", err)
				}
				if s.IsClosed() {
					t.Errorf("IsClosed() while running = true, want false")
				}
				select {
				case <-s.CloseChan():
					t.Errorf("CloseChan closed while running, want open")
				default:
				}
				if n := s.NumStreams(); n != len(streams) {
					t.Errorf("NumStreams() = %d, want %d", n, len(streams))
				}

				start := time.Now()
				tc.end(s, raw)
				for name, ch := range calls {
					res := lcWait(t, ch, name)
					if !errors.Is(res.err, yamux.ErrSessionShutdown) {
						t.Errorf("%s error = %v, want it to match ErrSessionShutdown", name, res.err)
					}
					if d := res.at.Sub(start); fake && d != 0 {
						t.Errorf("%s returned %v (fake time) after the end, want at once", name, d)
					}
				}
				select {
				case <-s.CloseChan():
				case <-time.After(lcGuard):
					t.Fatalf("CloseChan not closed after %v", lcGuard)
				}
				if !s.IsClosed() {
					t.Errorf("IsClosed() = false after the end, want true")
				}
				if err := s.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("Err() = %v, want it to match ErrSessionShutdown", err)
				}
				if n := s.NumStreams(); n != 0 {
					t.Errorf("NumStreams() after the end = %d, want 0", n)
				}
				if got := streams[2].State(); got != yamux.StateReset {
					t.Errorf("open stream's State() after the end = %v, want %v", got, yamux.StateReset)
				}
				// Later calls fail at once too.
				if _, err := s.OpenStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("OpenStream after the end = %v, want it to match ErrSessionShutdown", err)
				}
				if _, err := streams[3].Write([]byte("x")); !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("Write after the end = %v, want it to match ErrSessionShutdown", err)
				}
				raw.conn.Close()
				lcWait(t, drain, "peer's reader")
			})
		})
	}
}

func TestCloseConcurrentIdempotent(t *testing.T) {
	lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
		p := lcStart(t, pair, testConfig(), testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		read := lcGo(func() error {
			_, err := st.Read(make([]byte, 1))
			return err
		})
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				s := p.client
				if i%10 == 0 {
					s = p.server // the peer closes at the same time
				}
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v, want nil", err)
				}
			})
		}
		lcWait(t, lcGo(func() error { wg.Wait(); return nil }), "100 concurrent Close calls")
		for _, s := range []*yamux.Session{p.client, p.server} {
			if !s.IsClosed() {
				t.Errorf("IsClosed() after Close = false, want true")
			}
			if err := s.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Errorf("Err() after Close = %v, want it to match ErrSessionShutdown", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() again = %v, want nil", err)
			}
		}
		if res := lcWait(t, read, "Read"); !errors.Is(res.err, yamux.ErrSessionShutdown) {
			t.Errorf("blocked Read error = %v, want it to match ErrSessionShutdown", res.err)
		}
	})
}

func TestCloseWithErrorReportsCode(t *testing.T) {
	const code = yamux.ErrorCode(0x1005) // libp2p ConnGarbageCollected
	lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
		p := lcStart(t, pair, testConfig(), testConfig())
		lcWarm(t, p)
		if err := p.client.CloseWithError(code); err != nil {
			t.Fatalf("CloseWithError = %v, want nil", err)
		}
		waitClosed(t, p.server, lcGuard)
		if se := lcSessionErr(t, p.server.Err()); se.Code != code || !se.Remote {
			t.Errorf("peer's Err() = %+v, want Code %v, Remote true", se, code)
		}
		if se := lcSessionErr(t, p.client.Err()); se.Code != code || se.Remote {
			t.Errorf("own Err() = %+v, want Code %v, Remote false", se, code)
		}
	})
}

func TestCloseFlushesQueuedData(t *testing.T) {
	lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
		p := lcStart(t, pair, testConfig(), testConfig())
		want := lcBytes(1<<20, 1)
		type got struct {
			n   int64
			sum [32]byte
			err error
		}
		recv := make(chan got, 1)
		go func() {
			st, err := p.server.AcceptStream()
			if err != nil {
				recv <- got{err: err}
				return
			}
			h := sha256.New()
			n, err := io.Copy(h, st)
			var g got
			g.n, g.err = n, err
			copy(g.sum[:], h.Sum(nil))
			recv <- g
		}()
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := st.Write(want); n != len(want) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
		}
		p.client.Close() // at once: part of want is still queued
		var g got
		select {
		case g = <-recv:
		case <-time.After(lcGuard):
			t.Fatalf("peer still reading after %v", lcGuard)
		}
		if g.n != int64(len(want)) || g.sum != sha256.Sum256(want) {
			t.Errorf("peer read %d bytes (checksum match %v), want all %d", g.n, g.sum == sha256.Sum256(want), len(want))
		}
		// No FIN was sent: the stream ends with the session, not with EOF.
		if !errors.Is(g.err, yamux.ErrSessionShutdown) {
			t.Errorf("peer's read ended with %v, want an error matching ErrSessionShutdown", g.err)
		}
	})
}

func TestGoAwayKeepsExistingStreams(t *testing.T) {
	lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
		p := lcStart(t, pair, testConfig(), testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		echo := lcGo(func() error {
			sst, err := p.server.AcceptStream()
			if err != nil {
				return err
			}
			if _, err := io.Copy(sst, sst); err != nil {
				return err
			}
			return sst.CloseWrite()
		})
		roundTrip := func(msg string) {
			t.Helper()
			if _, err := st.Write([]byte(msg)); err != nil {
				t.Fatalf("Write(%q): %v", msg, err)
			}
			buf := make([]byte, len(msg))
			if _, err := io.ReadFull(st, buf); err != nil || string(buf) != msg {
				t.Fatalf("echo = %q, %v; want %q, nil", buf, err, msg)
			}
		}
		roundTrip("before")

		// The client's AcceptStream returns once the GO_AWAY has arrived.
		clientAccept := lcGo(func() error {
			_, err := p.client.AcceptStream()
			return err
		})
		if err := p.server.GoAway(); err != nil {
			t.Fatalf("GoAway() = %v, want nil", err)
		}
		if err := p.server.GoAway(); err != nil {
			t.Fatalf("second GoAway() = %v, want nil", err)
		}
		res := lcWait(t, clientAccept, "client AcceptStream")
		if !errors.Is(res.err, yamux.ErrRemoteGoAway) || !errors.Is(res.err, yamux.ErrSessionShutdown) {
			t.Errorf("client AcceptStream after GO_AWAY = %v, want it to match ErrRemoteGoAway and ErrSessionShutdown", res.err)
		}
		if _, err := p.client.OpenStream(); !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Errorf("OpenStream after the peer's GO_AWAY = %v, want ErrRemoteGoAway", err)
		}
		roundTrip("after")
		if p.client.IsClosed() || p.server.IsClosed() {
			t.Fatalf("a session closed after GoAway with a live stream, want both running")
		}

		// Draining: once the last stream ends, the client session closes.
		if err := st.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(st); err != nil {
			t.Fatalf("reading the echo's end: %v, want EOF", err)
		}
		if res := lcWait(t, echo, "echo"); res.err != nil {
			t.Errorf("echo ended with %v, want nil", res.err)
		}
		waitClosed(t, p.client, lcGuard)
		if err := p.client.Err(); !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Errorf("drained client's Err() = %v, want it to match ErrRemoteGoAway", err)
		}
	})
}

func TestGoAwayRefusesInboundStreams(t *testing.T) {
	lcMatrix(t, func(t *testing.T, pair lcPairFunc, fake bool) {
		s, raw := lcRawPeer(t, pair, testConfig(), true)
		frames, _ := raw.serve(true)
		if err := s.GoAway(); err != nil {
			t.Fatalf("GoAway() = %v, want nil", err)
		}
		lcWantFrame(t, frames, frame.New(frame.TypeGoAway, 0, 0, 0))
		if err := raw.send(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0), nil); err != nil {
			t.Fatal(err)
		}
		lcWantFrame(t, frames, frame.New(frame.TypeWindowUpdate, frame.FlagRST, 1, 0))
		if n := s.NumStreams(); n != 0 {
			t.Errorf("NumStreams() after a refused SYN = %d, want 0", n)
		}
		if _, err := s.Ping(); err != nil {
			t.Errorf("Ping after GoAway = %v, want nil (session alive)", err)
		}
		// Our own opens still work.
		st, err := s.OpenStream()
		if err != nil {
			t.Fatalf("OpenStream after our GoAway = %v, want nil", err)
		}
		lcWantFrame(t, frames, frame.New(frame.TypeWindowUpdate, frame.FlagSYN, st.StreamID(), 0))
	})
}

func TestStreamCloseNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := lcStart(t, memPair, testConfig(), testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		// The peer accepts but reads nothing until told to.
		type acc struct {
			st  *yamux.Stream
			err error
		}
		accepted := make(chan acc, 1)
		go func() {
			sst, err := p.server.AcceptStream()
			accepted <- acc{sst, err}
		}()
		// Exhaust the peer's window for st.
		want := lcBytes(256<<10, 2)
		if _, err := st.Write(want); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Stall the conn, then fill the send queue from another stream.
		lcMem(t, p.cconn).BlockWrites(true)
		other, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		otherWrite := lcGo(func() error {
			_, err := other.Write(make([]byte, 1<<20))
			return err
		})
		synctest.Wait()
		lcPending(t, otherWrite, "Write filling the send queue")

		start := time.Now()
		if err := st.Close(); err != nil {
			t.Fatalf("Close() = %v, want nil", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v (fake time), want it not to block", d)
		}
		if got := st.State(); got != yamux.StateHalfClosedSend {
			t.Errorf("State() after Close = %v, want %v", got, yamux.StateHalfClosedSend)
		}

		// Once the conn flows again the peer gets all data, then EOF.
		lcMem(t, p.cconn).BlockWrites(false)
		a := <-accepted
		if a.err != nil {
			t.Fatal(a.err)
		}
		got, err := io.ReadAll(a.st)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("peer read %d bytes, err %v; want the %d bytes written, then EOF", len(got), err, len(want))
		}
		ost, err := p.server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, ost)
		if res := lcWait(t, otherWrite, "Write filling the send queue"); res.err != nil {
			t.Errorf("Write after the conn resumed = %v, want nil", res.err)
		}
	})
}

func TestStreamCloseTimeoutResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const closeTimeout = 10 * time.Second
		ccfg := testConfig()
		ccfg.StreamCloseTimeout = closeTimeout
		p := lcStart(t, memPair, ccfg, testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		sst, err := p.server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		// The peer reads our FIN but never sends its own.
		if _, err := sst.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("peer Read = %v, want io.EOF", err)
		}
		time.Sleep(closeTimeout - time.Nanosecond)
		synctest.Wait()
		if n := p.client.NumStreams(); n != 1 {
			t.Fatalf("NumStreams() just before StreamCloseTimeout = %d, want 1", n)
		}
		if got := st.State(); got != yamux.StateHalfClosedSend {
			t.Fatalf("State() just before StreamCloseTimeout = %v, want %v", got, yamux.StateHalfClosedSend)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := p.client.NumStreams(); n != 0 {
			t.Errorf("NumStreams() at StreamCloseTimeout = %d, want 0", n)
		}
		if got := st.State(); got != yamux.StateReset {
			t.Errorf("State() at StreamCloseTimeout = %v, want %v", got, yamux.StateReset)
		}
		// The peer sees a RST.
		_, err = sst.Write([]byte("late"))
		if se := lcStreamErr(t, err); !se.Remote {
			t.Errorf("peer Write after the timeout: %+v, want Remote true", se)
		}
		if n := p.server.NumStreams(); n != 0 {
			t.Errorf("peer NumStreams() = %d, want 0", n)
		}
		if p.client.IsClosed() {
			t.Errorf("session closed by a stream close timeout, want it running")
		}
	})
}

func TestStreamOpenTimeoutResetsOnlyThatStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const openTimeout = 2 * time.Second
		cfg := testConfig()
		cfg.StreamOpenTimeout = openTimeout
		s, raw := lcRawPeer(t, memPair, cfg, false)
		// The peer answers pings and ACKs only what the test says.
		frames, _ := raw.serve(true)
		start := time.Now()
		first, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		lcWantFrame(t, frames, frame.New(frame.TypeWindowUpdate, frame.FlagSYN, first.StreamID(), 0))
		time.Sleep(openTimeout / 2)
		second, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.send(frame.New(frame.TypeWindowUpdate, frame.FlagACK, second.StreamID(), 0), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(openTimeout)) - time.Nanosecond)
		synctest.Wait()
		if got := first.State(); got != yamux.StateOpen {
			t.Fatalf("unacknowledged stream's State() just before StreamOpenTimeout = %v, want %v", got, yamux.StateOpen)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := first.State(); got != yamux.StateReset {
			t.Errorf("unacknowledged stream's State() at StreamOpenTimeout = %v, want %v", got, yamux.StateReset)
		}
		lcWantFrame(t, frames, frame.New(frame.TypeWindowUpdate, frame.FlagRST, first.StreamID(), 0))
		_, err = first.Write([]byte("x"))
		if se := lcStreamErr(t, err); se.Remote {
			t.Errorf("Write on the timed-out stream: %+v, want Remote false", se)
		}
		// The acknowledged stream and the session carry on.
		time.Sleep(10 * openTimeout)
		if got := second.State(); got != yamux.StateOpen {
			t.Errorf("acknowledged stream's State() = %v, want %v", got, yamux.StateOpen)
		}
		if n := s.NumStreams(); n != 1 {
			t.Errorf("NumStreams() = %d, want 1", n)
		}
		if _, err := s.Ping(); err != nil {
			t.Errorf("Ping() = %v, want nil (session alive)", err)
		}
		if _, err := second.Write([]byte("still here")); err != nil {
			t.Errorf("Write on the acknowledged stream = %v, want nil", err)
		}
	})
}

func TestKeepAliveLivePeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Second
		cfg := testConfig()
		cfg.KeepAliveInterval = interval
		cfg.KeepAliveTimeout = interval / 2
		p := lcStart(t, memPair, cfg, cfg)
		synctest.Wait() // the start-up pings are answered
		for _, s := range []*yamux.Session{p.client, p.server} {
			if s.RTT() <= 0 {
				t.Errorf("RTT() after the first ping = %v, want > 0", s.RTT())
			}
		}
		time.Sleep(10*interval + interval/4)
		for _, s := range []*yamux.Session{p.client, p.server} {
			if s.IsClosed() {
				t.Fatalf("session closed after 10 keepalive intervals: %v, want running", s.Err())
			}
			if s.RTT() <= 0 {
				t.Errorf("RTT() = %v, want > 0", s.RTT())
			}
		}
		if _, err := p.client.Ping(); err != nil {
			t.Errorf("Ping() = %v, want nil", err)
		}
	})
}

func TestKeepAliveAnyFrameIsLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, timeout = 100 * time.Millisecond, 100 * time.Millisecond
		cfg := testConfig()
		cfg.KeepAliveInterval = interval
		cfg.KeepAliveTimeout = timeout
		s, raw := lcRawPeer(t, memPair, cfg, true)
		raw.serve(false) // never answers a ping
		go func() {
			st, err := s.AcceptStream()
			if err == nil {
				io.Copy(io.Discard, st)
			}
		}()
		if err := raw.send(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0), nil); err != nil {
			t.Fatal(err)
		}
		// DATA every 30 ms for 20 keepalive intervals.
		start := time.Now()
		var last time.Time
		for time.Since(start) < 20*interval {
			if err := raw.send(frame.New(frame.TypeData, 0, 1, 1), []byte{'x'}); err != nil {
				t.Fatal(err)
			}
			last = time.Now()
			time.Sleep(30 * time.Millisecond)
			if s.IsClosed() {
				t.Fatalf("session failed after %v while DATA kept arriving: %v", time.Since(start), s.Err())
			}
		}
		// Silence: the next unanswered keepalive ping ends the session. At
		// worst a ping was in flight when the last frame came: that check
		// passes, then one more interval and timeout run.
		waitClosed(t, s, lcGuard)
		if d, limit := time.Since(last), timeout+interval+timeout; d > limit {
			t.Errorf("session failed %v (fake time) after the last frame, want <= %v", d, limit)
		}
		if !errors.Is(s.Err(), yamux.ErrKeepAliveTimeout) {
			t.Errorf("Err() = %v, want it to match ErrKeepAliveTimeout", s.Err())
		}
	})
}
