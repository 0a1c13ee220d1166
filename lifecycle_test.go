package yamux_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
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

func TestAcceptStreamUnblocksOnClose(t *testing.T) {
	tests := []struct {
		name  string
		end   func(p sessions)
		check func(t *testing.T, p sessions, err error)
	}{
		{
			name: "local Close",
			end:  func(p sessions) { p.server.Close() },
			check: func(t *testing.T, p sessions, err error) {
				if se := asSessionError(t, err); se.Remote || se.Code != yamux.CodeNormal {
					t.Errorf("AcceptStream error = %+v, want Remote false, Code normal", se)
				}
			},
		},
		{
			name: "peer Close sends GO_AWAY",
			end:  func(p sessions) { p.client.Close() },
			check: func(t *testing.T, p sessions, err error) {
				if !errors.Is(err, yamux.ErrRemoteGoAway) {
					t.Errorf("AcceptStream error = %v, want it to match ErrRemoteGoAway", err)
				}
				if se := asSessionError(t, err); !se.Remote {
					t.Errorf("AcceptStream error = %+v, want Remote true", se)
				}
			},
		},
		{
			name: "peer conn closed",
			end:  func(p sessions) { p.cconn.Close() },
			check: func(t *testing.T, p sessions, err error) {
				if !errors.Is(p.server.Err(), io.EOF) {
					t.Errorf("server Err() = %v, want it to match io.EOF", p.server.Err())
				}
				if se := asSessionError(t, p.server.Err()); !se.Remote {
					t.Errorf("server Err() = %+v, want Remote true", se)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
				p := startSessions(t, pair, testConfig(), testConfig())
				warmUp(t, p)
				accept := goCall(func() error {
					_, err := p.server.AcceptStream()
					return err
				})
				if fake {
					synctest.Wait()
					expectBlocked(t, accept, "AcceptStream")
				}
				start := time.Now()
				tc.end(p)
				res := waitCall(t, accept, "AcceptStream")
				if !errors.Is(res.err, yamux.ErrSessionShutdown) {
					t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
				}
				if d := res.at.Sub(start); fake && d != 0 {
					t.Errorf("AcceptStream returned %v (fake time) after the end, want at once", d)
				}
				tc.check(t, p, res.err)
				waitClosed(t, p.server, guard)
				if _, err := p.server.AcceptStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("AcceptStream after the end = %v, want it to match ErrSessionShutdown", err)
				}
			})
		})
	}
}

func TestAcceptStreamUnblocksOnError(t *testing.T) {
	// acceptErr starts AcceptStream on s and returns its outcome.
	acceptErr := func(t *testing.T, s *yamux.Session) callResult {
		t.Helper()
		accept := goCall(func() error {
			_, err := s.AcceptStream()
			return err
		})
		res := waitCall(t, accept, "AcceptStream")
		if !errors.Is(res.err, yamux.ErrSessionShutdown) {
			t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
		}
		return res
	}

	t.Run("read error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startSessions(t, memPair, testConfig(), testConfig())
			synctest.Wait()
			accept := goCall(func() error {
				_, err := p.server.AcceptStream()
				return err
			})
			synctest.Wait()
			expectBlocked(t, accept, "AcceptStream")
			start := time.Now()
			memOf(t, p.sconn).Reset()
			res := waitCall(t, accept, "AcceptStream")
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
		forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
			// No pongs: a pong still unread when our session closes the
			// TCP conn would turn its FIN into an RST.
			raw := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Pair: pair, NoPingAnswers: true, Timeout: guard})
			s := raw.S
			accept := goCall(func() error {
				_, err := s.AcceptStream()
				return err
			})
			bad := frame.New(frame.TypePing, frame.FlagSYN, 0, 1)
			bad[0] = 1 // version 1
			raw.writeRaw(bad[:])
			res := waitCall(t, accept, "AcceptStream")
			if !errors.Is(res.err, yamux.ErrSessionShutdown) {
				t.Fatalf("AcceptStream error = %v, want it to match ErrSessionShutdown", res.err)
			}
			err := s.Err()
			if !errors.Is(err, yamux.ErrProtocol) || !errors.Is(err, yamux.ErrInvalidVersion) {
				t.Errorf("Err() = %v, want it to match ErrProtocol and ErrInvalidVersion", err)
			}
			if se := asSessionError(t, err); se.Code != yamux.CodeProtocolError || se.Remote {
				t.Errorf("Err() = %+v, want Code protocol error, Remote false", se)
			}
			// The peer is told: GO_AWAY(protocol error), then EOF.
			raw.expectGoAway(uint32(yamux.CodeProtocolError))
			raw.expectClosed()
		})
	})

	const interval, timeout = 100 * time.Millisecond, 100 * time.Millisecond
	keepaliveCfg := func() *yamux.Config {
		cfg := testConfig()
		cfg.KeepAliveInterval = interval
		cfg.KeepAliveTimeout = timeout
		return cfg
	}
	checkKeepalive := func(t *testing.T, s *yamux.Session, start time.Time, res callResult) {
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
			// The peer reads everything and answers nothing.
			raw := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Config: keepaliveCfg(), NoPingAnswers: true, Timeout: guard})
			s := raw.S
			res := acceptErr(t, s)
			checkKeepalive(t, s, start, res)
			raw.expectClosed()
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
			p := startSessions(t, stalled, testConfig(), keepaliveCfg())
			res := acceptErr(t, p.server)
			checkKeepalive(t, p.server, start, res)
		})
	})

	// stalledWrite: the server's writes stall while a Write is under way;
	// the session fails with ErrConnectionWriteTimeout exactly one timeout
	// after that Write began, and the Write returns. before runs first.
	stalledWrite := func(t *testing.T, before func(p sessions, st *yamux.Stream)) {
		const writeTimeout = time.Second
		scfg := testConfig()
		scfg.ConnectionWriteTimeout = writeTimeout
		p := startSessions(t, memPair, testConfig(), scfg)
		st, err := p.server.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		before(p, st)
		synctest.Wait()
		memOf(t, p.sconn).BlockWrites(true) // the server's writes stall
		start := time.Now()
		write := goCall(func() error {
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
		if w := waitCall(t, write, "Write"); !errors.Is(w.err, yamux.ErrSessionShutdown) {
			t.Errorf("blocked Write error = %v, want it to match ErrSessionShutdown", w.err)
		}
	}

	t.Run("write timeout", func(t *testing.T) {
		// Repeated: the cause used to lose, now and then, a race against
		// the receive loop's read of the closed conn.
		for range 50 {
			synctest.Test(t, func(t *testing.T) {
				stalledWrite(t, func(sessions, *yamux.Stream) {})
			})
		}
	})

	t.Run("write timeout after earlier writes", func(t *testing.T) {
		// The watchdog runs once per timeout while writes go on; a write
		// that stalls between two of its runs still fails the session
		// exactly one timeout after it began, and writes that complete
		// never do, however long the session writes.
		synctest.Test(t, func(t *testing.T) {
			stalledWrite(t, func(p sessions, st *yamux.Stream) {
				go func() {
					if c, err := p.client.AcceptStream(); err == nil {
						io.Copy(io.Discard, c)
					}
				}()
				for range 25 { // 2.5 s of writes every 100 ms, each completing
					writeAll(t, st, []byte("tick"))
					time.Sleep(100 * time.Millisecond)
				}
				if err := p.server.Err(); err != nil {
					t.Fatalf("session failed while every write completed: %v", err)
				}
				time.Sleep(350 * time.Millisecond) // between two runs of the watchdog
			})
		})
	})
}

// TestBlockedCallsWakeOnSessionEnd blocks one of every blocking call, ends
// the session in different ways and checks that all of them return an error
// matching ErrSessionShutdown at once, and that the session reports its end.
func TestBlockedCallsWakeOnSessionEnd(t *testing.T) {
	ends := []struct {
		name string
		end  func(s *yamux.Session, raw *rawPeer)
	}{
		{"Close", func(s *yamux.Session, _ *rawPeer) { s.Close() }},
		{"CloseWithError", func(s *yamux.Session, _ *rawPeer) { s.CloseWithError(yamux.CodeInternalError) }},
		{"peer EOF", func(_ *yamux.Session, raw *rawPeer) { raw.Conn.Close() }},
	}
	for _, tc := range ends {
		t.Run(tc.name, func(t *testing.T) {
			forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
				// The peer reads everything and answers nothing: no ACK,
				// no window update, no pong.
				raw := newRawPeerOpts(t, rawPeerOptions{Pair: pair, NoPingAnswers: true, Timeout: guard})
				s := raw.S
				// 256 unacknowledged streams fill the ACK backlog.
				streams := make([]*yamux.Stream, 256)
				for i := range streams {
					st, err := s.OpenStream()
					if err != nil {
						t.Fatalf("OpenStream #%d: %v", i, err)
					}
					streams[i] = st
				}
				calls := map[string]*pendingCall{
					"AcceptStream": goCall(func() error {
						_, err := s.AcceptStream()
						return err
					}),
					"OpenStreamContext": goCall(func() error {
						_, err := s.OpenStreamContext(context.Background())
						return err
					}),
					"Read": goCall(func() error {
						_, err := streams[0].Read(make([]byte, 1))
						return err
					}),
					// One byte more than the peer's window.
					"Write": goCall(func() error {
						_, err := streams[1].Write(make([]byte, 256<<10+1))
						return err
					}),
					"Ping": goCall(func() error {
						_, err := s.Ping()
						return err
					}),
				}
				if fake {
					synctest.Wait()
				}
				for name, ch := range calls {
					expectBlocked(t, ch, name)
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
					res := waitCall(t, ch, name)
					if !errors.Is(res.err, yamux.ErrSessionShutdown) {
						t.Errorf("%s error = %v, want it to match ErrSessionShutdown", name, res.err)
					}
					if d := res.at.Sub(start); fake && d != 0 {
						t.Errorf("%s returned %v (fake time) after the end, want at once", name, d)
					}
				}
				select {
				case <-s.CloseChan():
				case <-time.After(guard):
					t.Fatalf("CloseChan not closed after %v", guard)
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
				raw.Conn.Close()
				select {
				case <-raw.readerDone:
				case <-time.After(guard):
					t.Fatalf("peer's reader still running %v after the conn closed", guard)
				}
			})
		})
	}
}

func TestCloseConcurrentIdempotent(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		read := goCall(func() error {
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
		waitCall(t, goCall(func() error { wg.Wait(); return nil }), "100 concurrent Close calls")
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
		if res := waitCall(t, read, "Read"); !errors.Is(res.err, yamux.ErrSessionShutdown) {
			t.Errorf("blocked Read error = %v, want it to match ErrSessionShutdown", res.err)
		}
	})
}

func TestCloseWithErrorReportsCode(t *testing.T) {
	const code = yamux.ErrorCode(0x1005) // libp2p ConnGarbageCollected
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		warmUp(t, p)
		if err := p.client.CloseWithError(code); err != nil {
			t.Fatalf("CloseWithError = %v, want nil", err)
		}
		waitClosed(t, p.server, guard)
		if se := asSessionError(t, p.server.Err()); se.Code != code || !se.Remote {
			t.Errorf("peer's Err() = %+v, want Code %v, Remote true", se, code)
		}
		if se := asSessionError(t, p.client.Err()); se.Code != code || se.Remote {
			t.Errorf("own Err() = %+v, want Code %v, Remote false", se, code)
		}
	})
}

func TestCloseFlushesQueuedData(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		want := patternBytes(1, 1<<20)
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
		case <-time.After(guard):
			t.Fatalf("peer still reading after %v", guard)
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

// TestCloseFlushesConcurrentWrites: Close while streams are in the middle
// of bulk and small Writes, bulk frames being copied into the send ring
// without the queue's lock: every byte a Write reported as written reaches
// the peer, in order, on every transport.
func TestCloseFlushesConcurrentWrites(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		const streams = 8
		type tally struct {
			id  uint32
			n   int64
			sum [sha256.Size]byte
			err error
		}
		var received atomic.Int64
		enough := make(chan struct{}) // closed once the peer has read 4 MiB
		var enoughOnce sync.Once
		reads := make(chan tally, streams)
		go func() {
			for range streams {
				st, err := p.server.AcceptStream()
				if err != nil {
					reads <- tally{err: err}
					continue
				}
				go func() {
					h := sha256.New()
					buf := make([]byte, 32*1024)
					r := tally{id: st.StreamID()}
					for {
						k, err := st.Read(buf)
						h.Write(buf[:k])
						r.n += int64(k)
						if received.Add(int64(k)) >= 4<<20 {
							enoughOnce.Do(func() { close(enough) })
						}
						if err != nil {
							r.err = err
							break
						}
					}
					copy(r.sum[:], h.Sum(nil))
					reads <- r
				}()
			}
		}()
		writes := make(chan tally, streams)
		for range streams {
			st, err := p.client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				id := st.StreamID()
				off := int64(id) << 32
				buf := make([]byte, 64*1024)
				w := tally{id: id}
				for i := 0; ; i++ {
					size := len(buf)
					if i%3 == 2 {
						size = 100 + i%1000 // a small frame between bulk ones
					}
					k, err := st.Write(pattern(buf[:size], off+w.n))
					w.n += int64(k)
					if err != nil {
						w.err = err
						break
					}
				}
				writes <- w
			}()
		}
		select {
		case <-enough:
		case <-time.After(guard):
			t.Fatalf("the peer read %d bytes in %v", received.Load(), guard)
		}
		p.client.Close()
		written := map[uint32]int64{}
		for range streams {
			select {
			case w := <-writes:
				written[w.id] = w.n
			case <-time.After(guard):
				t.Fatalf("a Write still blocked %v after Close", guard)
			}
		}
		for range streams {
			var r tally
			select {
			case r = <-reads:
			case <-time.After(guard):
				t.Fatalf("the peer still reading %v after Close", guard)
			}
			if r.id == 0 {
				t.Fatalf("accept: %v", r.err)
			}
			want, ok := written[r.id]
			if !ok {
				t.Fatalf("stream %d was never opened here", r.id)
			}
			if r.n != want || r.sum != patternSum(int64(r.id)<<32, want) {
				t.Errorf("stream %d: peer read %d bytes (checksum match %v); its Writes reported %d",
					r.id, r.n, r.sum == patternSum(int64(r.id)<<32, r.n), want)
			}
			if !errors.Is(r.err, yamux.ErrSessionShutdown) {
				t.Errorf("stream %d: peer's read ended with %v, want ErrSessionShutdown", r.id, r.err)
			}
		}
	}, pipeTransport)
}

func TestGoAwayKeepsExistingStreams(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		st, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		echo := goCall(func() error {
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
		clientAccept := goCall(func() error {
			_, err := p.client.AcceptStream()
			return err
		})
		if err := p.server.GoAway(); err != nil {
			t.Fatalf("GoAway() = %v, want nil", err)
		}
		if err := p.server.GoAway(); err != nil {
			t.Fatalf("second GoAway() = %v, want nil", err)
		}
		res := waitCall(t, clientAccept, "client AcceptStream")
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
		if res := waitCall(t, echo, "echo"); res.err != nil {
			t.Errorf("echo ended with %v, want nil", res.err)
		}
		waitClosed(t, p.client, guard)
		if err := p.client.Err(); !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Errorf("drained client's Err() = %v, want it to match ErrRemoteGoAway", err)
		}
	})
}

func TestGoAwayRefusesInboundStreams(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		raw := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Pair: pair, Timeout: guard})
		s := raw.S
		if err := s.GoAway(); err != nil {
			t.Fatalf("GoAway() = %v, want nil", err)
		}
		raw.skipTo(frame.New(frame.TypeGoAway, 0, 0, 0))
		raw.writeWindowUpdate(frame.FlagSYN, 1, 0)
		raw.skipTo(frame.New(frame.TypeWindowUpdate, frame.FlagRST, 1, 0))
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
		raw.skipTo(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, st.StreamID(), 0))
	})
}

func TestStreamCloseNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startSessions(t, memPair, testConfig(), testConfig())
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
		want := patternBytes(2, 256<<10)
		if _, err := st.Write(want); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Stall the conn, then fill the send queue from another stream.
		memOf(t, p.cconn).BlockWrites(true)
		other, err := p.client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		otherWrite := goCall(func() error {
			_, err := other.Write(make([]byte, 1<<20))
			return err
		})
		synctest.Wait()
		expectBlocked(t, otherWrite, "Write filling the send queue")

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
		memOf(t, p.cconn).BlockWrites(false)
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
		if res := waitCall(t, otherWrite, "Write filling the send queue"); res.err != nil {
			t.Errorf("Write after the conn resumed = %v, want nil", res.err)
		}
	})
}

func TestStreamCloseTimeoutResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const closeTimeout = 10 * time.Second
		ccfg := testConfig()
		ccfg.StreamCloseTimeout = closeTimeout
		p := startSessions(t, memPair, ccfg, testConfig())
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
		if se := asStreamError(t, err); !se.Remote {
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
		// The peer answers pings and ACKs only what the test says.
		raw := newRawPeerOpts(t, rawPeerOptions{Config: cfg, Timeout: guard})
		s := raw.S
		start := time.Now()
		first, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		raw.skipTo(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, first.StreamID(), 0))
		time.Sleep(openTimeout / 2)
		second, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		raw.writeWindowUpdate(frame.FlagACK, second.StreamID(), 0)
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
		raw.skipTo(frame.New(frame.TypeWindowUpdate, frame.FlagRST, first.StreamID(), 0))
		_, err = first.Write([]byte("x"))
		if se := asStreamError(t, err); se.Remote {
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
		p := startSessions(t, memPair, cfg, cfg)
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
		raw := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Config: cfg, NoPingAnswers: true, Timeout: guard})
		s := raw.S
		go func() {
			st, err := s.AcceptStream()
			if err == nil {
				io.Copy(io.Discard, st)
			}
		}()
		raw.writeWindowUpdate(frame.FlagSYN, 1, 0)
		// DATA every 30 ms for 20 keepalive intervals.
		start := time.Now()
		var last time.Time
		for time.Since(start) < 20*interval {
			raw.writeData(0, 1, []byte{'x'})
			last = time.Now()
			time.Sleep(30 * time.Millisecond)
			if s.IsClosed() {
				t.Fatalf("session failed after %v while DATA kept arriving: %v", time.Since(start), s.Err())
			}
		}
		// Silence: the next unanswered keepalive ping ends the session. At
		// worst a ping was in flight when the last frame came: that check
		// passes, then one more interval and timeout run.
		waitClosed(t, s, guard)
		if d, limit := time.Since(last), timeout+interval+timeout; d > limit {
			t.Errorf("session failed %v (fake time) after the last frame, want <= %v", d, limit)
		}
		if !errors.Is(s.Err(), yamux.ErrKeepAliveTimeout) {
			t.Errorf("Err() = %v, want it to match ErrKeepAliveTimeout", s.Err())
		}
	})
}
