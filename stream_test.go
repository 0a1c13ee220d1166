package yamux_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
)

// Stream semantics over the public API: data integrity, half-close, reset,
// the state diagram, CloseRead, buffer ownership, write atomicity, large
// writes and deadlines, over the transport matrix of harness_test.go
// (forEachTransport, startSessions, goCall, waitCall, …).

// bulkGuard bounds bulk transfers on real transports (the race
// detector makes them slow); in bubbles it is fake time and free.
const bulkGuard = 2 * time.Minute

func TestStreamEchoConcurrent(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		streams, size := 50, 256<<10
		if !fake && testing.Short() {
			streams, size = 10, 64<<10
		}
		p := startSessions(t, pair, testConfig(), testConfig())
		serveEcho(p.server)
		var wg sync.WaitGroup
		for i := range streams {
			wg.Go(func() {
				st, err := p.client.OpenStream()
				if err != nil {
					t.Errorf("OpenStream #%d: %v", i, err)
					return
				}
				want := patternBytes(uint64(i), size)
				write := goCall(func() error {
					if _, err := st.Write(want); err != nil {
						return err
					}
					return st.CloseWrite()
				})
				got, err := io.ReadAll(st)
				if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
					t.Errorf("stream %d: echoed %d bytes (equal %v), err %v; want the %d bytes sent, then EOF",
						st.StreamID(), len(got), bytes.Equal(got, want), err, len(want))
				}
				if res := write.result(); res.err != nil {
					t.Errorf("stream %d: Write/CloseWrite: %v", st.StreamID(), res.err)
				}
				if got := st.State(); got != yamux.StateFullyClosed {
					t.Errorf("stream %d: State() after the echo = %v, want %v", st.StreamID(), got, yamux.StateFullyClosed)
				}
			})
		}
		waitCallFor(t, goCall(func() error { wg.Wait(); return nil }), "echo streams", bulkGuard)
	}, pipeTransport)
}

func TestStreamHalfClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())

		// We close our side first: the peer reads EOF and still answers.
		c, s := streamPair(t, p)
		if _, err := c.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatalf("CloseWrite() = %v, want nil", err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Errorf("second CloseWrite() = %v, want nil", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, yamux.ErrStreamClosed) {
			t.Errorf("Write after CloseWrite = %v, want ErrStreamClosed", err)
		}
		if got, err := io.ReadAll(s); string(got) != "request" || err != nil {
			t.Errorf("peer read %q, %v; want %q then EOF", got, err, "request")
		}
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("peer Read after EOF = %v, want io.EOF again", err)
		}
		if _, err := s.Write([]byte("response")); err != nil {
			t.Errorf("peer Write after our FIN = %v, want nil", err)
		}
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(c); string(got) != "response" || err != nil {
			t.Errorf("read %q, %v after our CloseWrite; want %q then EOF", got, err, "response")
		}

		// The peer closes its side first: we read EOF and still write.
		c, s = streamPair(t, p)
		if _, err := s.Write([]byte("greeting")); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(c); string(got) != "greeting" || err != nil {
			t.Errorf("read %q, %v; want %q then EOF", got, err, "greeting")
		}
		if _, err := c.Write([]byte("reply")); err != nil {
			t.Errorf("Write after the peer's FIN = %v, want nil", err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(s); string(got) != "reply" || err != nil {
			t.Errorf("peer read %q, %v; want %q then EOF", got, err, "reply")
		}
		if fake {
			synctest.Wait()
			for _, sess := range []*yamux.Session{p.client, p.server} {
				if n := sess.NumStreams(); n != 0 {
					t.Errorf("NumStreams() after both streams closed both ways = %d, want 0", n)
				}
			}
		}
	}, pipeTransport)
}

// TestStreamStateTransitions walks every edge of the seed's state diagram
// (spec.md §3.6) that the public API can trigger, observing State() on
// both sides.
func TestStreamStateTransitions(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		buf := make([]byte, 16)

		// Open -> HalfClosedSend -> FullyClosed (we FIN first).
		c, s := streamPair(t, p)
		checkState(t, c, "opener", yamux.StateOpen)
		checkState(t, s, "acceptor", yamux.StateOpen)
		c.CloseWrite()
		checkState(t, c, "after CloseWrite: opener", yamux.StateHalfClosedSend)
		if _, err := s.Read(buf); err != io.EOF {
			t.Fatalf("peer Read = %v, want io.EOF", err)
		}
		checkState(t, s, "after FIN received: acceptor", yamux.StateHalfClosedRecv)
		s.CloseWrite()
		checkState(t, s, "after both FINs: acceptor", yamux.StateFullyClosed)
		if _, err := c.Read(buf); err != io.EOF {
			t.Fatalf("Read = %v, want io.EOF", err)
		}
		checkState(t, c, "after both FINs: opener", yamux.StateFullyClosed)
		// FullyClosed is terminal: Reset and CloseWrite change nothing.
		if err := c.Reset(); err != nil {
			t.Errorf("Reset on a FullyClosed stream = %v, want nil", err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Errorf("CloseWrite on a FullyClosed stream = %v, want nil", err)
		}
		checkState(t, c, "after Reset on FullyClosed: opener", yamux.StateFullyClosed)
		fullyClosed := c

		// Open -> Reset, both sides (sendRST / recvRST).
		c, s = streamPair(t, p)
		c.Reset()
		checkState(t, c, "after Reset: opener", yamux.StateReset)
		if _, err := s.Read(buf); !errors.Is(err, yamux.ErrStreamReset) {
			t.Fatalf("peer Read = %v, want ErrStreamReset", err)
		}
		checkState(t, s, "after RST received: acceptor", yamux.StateReset)
		if err := c.CloseWrite(); err != nil {
			t.Errorf("CloseWrite on a Reset stream = %v, want nil", err)
		}
		checkState(t, c, "after CloseWrite on Reset: opener", yamux.StateReset)

		// HalfClosedSend -> Reset (sendRST) and HalfClosedRecv -> Reset
		// (recvRST).
		c, s = streamPair(t, p)
		c.CloseWrite()
		if _, err := s.Read(buf); err != io.EOF {
			t.Fatalf("peer Read = %v, want io.EOF", err)
		}
		checkState(t, s, "acceptor", yamux.StateHalfClosedRecv)
		c.Reset()
		checkState(t, c, "after Reset from HalfClosedSend: opener", yamux.StateReset)
		// The peer can only notice the RST by writing: it writes until its
		// Write fails (at the latest when its window is used up).
		chunk := make([]byte, 1024)
		res := waitCall(t, goCall(func() error {
			for {
				if _, err := s.Write(chunk); err != nil {
					return err
				}
			}
		}), "peer writing until the RST arrives")
		if se := asStreamError(t, res.err); !se.Remote {
			t.Errorf("peer Write error %+v, want Remote true", se)
		}
		checkState(t, s, "after RST in HalfClosedRecv: acceptor", yamux.StateReset)

		// Open -> HalfClosedRecv -> FullyClosed (the peer FINs first).
		c, s = streamPair(t, p)
		s.CloseWrite()
		if _, err := c.Read(buf); err != io.EOF {
			t.Fatalf("Read = %v, want io.EOF", err)
		}
		checkState(t, c, "after the peer's FIN: opener", yamux.StateHalfClosedRecv)
		c.CloseWrite()
		checkState(t, c, "after CloseWrite in HalfClosedRecv: opener", yamux.StateFullyClosed)

		// sessionClosed: live states go to Reset, FullyClosed stays.
		open, _ := streamPair(t, p)
		halfSend, _ := streamPair(t, p)
		halfSend.CloseWrite()
		p.client.Close()
		checkState(t, open, "Open stream after session Close:", yamux.StateReset)
		checkState(t, halfSend, "HalfClosedSend stream after session Close:", yamux.StateReset)
		checkState(t, fullyClosed, "FullyClosed stream after session Close:", yamux.StateFullyClosed)
	})
}

func TestStreamReset(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		buf := make([]byte, 16)
		for _, code := range []uint32{0, 0x42} {
			for _, peerResets := range []bool{false, true} {
				c, s := streamPair(t, p)
				resetter, victim := c, s
				if peerResets {
					resetter, victim = s, c
				}
				read := goCall(func() error {
					_, err := victim.Read(buf)
					return err
				})
				if fake {
					synctest.Wait()
					expectBlocked(t, read, "Read")
				}
				var err error
				if code == 0 {
					err = resetter.Reset()
				} else {
					err = resetter.ResetWithError(code)
				}
				if err != nil {
					t.Fatalf("reset: %v, want nil", err)
				}
				check := func(what string, err error, remote bool) {
					t.Helper()
					se := asStreamError(t, err)
					if se.Remote != remote || se.Code != code || se.StreamID != c.StreamID() {
						t.Errorf("code %#x, peer resets %v: %s error %+v, want Remote %v, Code %#x, StreamID %d",
							code, peerResets, what, se, remote, code, c.StreamID())
					}
				}
				check("blocked Read on the reset's receiver", waitCall(t, read, "Read").err, true)
				_, err = victim.Write([]byte("x"))
				check("Write on the reset's receiver", err, true)
				_, err = victim.Read(buf)
				check("Read again on the reset's receiver", err, true)
				_, err = resetter.Read(buf)
				check("Read on the resetting side", err, false)
				_, err = resetter.Write([]byte("x"))
				check("Write on the resetting side", err, false)
				checkState(t, resetter, "resetting side", yamux.StateReset)
				checkState(t, victim, "receiving side", yamux.StateReset)
				if err := resetter.Reset(); err != nil {
					t.Errorf("second Reset = %v, want nil", err)
				}
			}
		}
		if fake {
			synctest.Wait()
			for _, sess := range []*yamux.Session{p.client, p.server} {
				if n := sess.NumStreams(); n != 0 {
					t.Errorf("NumStreams() after resets = %d, want 0", n)
				}
			}
		}
		if p.client.IsClosed() || p.server.IsClosed() {
			t.Errorf("a stream reset closed the session, want both running")
		}
	})
}

func TestStreamCloseRead(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		p := startSessions(t, pair, testConfig(), testConfig())
		c, s := streamPair(t, p)
		read := goCall(func() error {
			_, err := c.Read(make([]byte, 16))
			return err
		})
		if fake {
			synctest.Wait()
			expectBlocked(t, read, "Read")
		}
		if err := c.CloseRead(); err != nil {
			t.Fatalf("CloseRead() = %v, want nil", err)
		}
		if res := waitCall(t, read, "Read"); !errors.Is(res.err, yamux.ErrStreamClosed) {
			t.Errorf("pending Read after CloseRead = %v, want ErrStreamClosed", res.err)
		}
		if _, err := c.Read(make([]byte, 16)); !errors.Is(err, yamux.ErrStreamClosed) {
			t.Errorf("Read after CloseRead = %v, want ErrStreamClosed", err)
		}
		checkState(t, c, "after CloseRead (local only):", yamux.StateOpen)

		// The peer is not stalled: what we discard is credited back.
		write := goCall(func() error {
			_, err := s.Write(patternBytes(3, 1<<20))
			return err
		})
		if res := waitCallFor(t, write, "peer's 1 MiB Write", bulkGuard); res.err != nil {
			t.Errorf("peer Write after our CloseRead = %v, want nil", res.err)
		}
		// Our direction still works.
		if _, err := c.Write([]byte("still here")); err != nil {
			t.Fatalf("Write after CloseRead = %v, want nil", err)
		}
		got := make([]byte, len("still here"))
		if _, err := io.ReadFull(s, got); err != nil || string(got) != "still here" {
			t.Errorf("peer read %q, %v; want %q", got, err, "still here")
		}
	})
}

// TestStreamWriteCopiesBuffer: once Write returns, the caller may reuse
// its buffer: what fits in the send ring was copied (and Write returns
// while the conn is stalled); beyond it, frames are written from the
// buffer before Write returns (and Write waits for the stalled conn).
// The peer's window (1 MiB) is larger than the ring, so the large Write
// waits for the conn, not for the window.
func TestStreamWriteCopiesBuffer(t *testing.T) {
	for _, size := range []int{4 << 10, 512 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
				scfg := testConfig()
				scfg.InitialStreamWindowSize = 1 << 20
				scfg.MaxStreamWindowSize = max(scfg.MaxStreamWindowSize, 1<<20)
				p := startSessions(t, pair, testConfig(), scfg)
				c, s := streamPair(t, p)
				buf := patternBytes(4, size)
				want := bytes.Clone(buf)
				large := size > yamux.RingSize
				if fake {
					// Keep the data from the wire while we scribble over the buffer.
					synctest.Wait()
					memOf(t, p.cconn).BlockWrites(true)
				}
				write := goCall(func() error {
					n, err := c.Write(buf)
					if n != len(buf) || err != nil {
						return fmt.Errorf("Write = %d, %v; want %d, nil", n, err, len(buf))
					}
					return nil
				})
				if fake {
					synctest.Wait()
					if large {
						expectBlocked(t, write, "Write of a large buffer on a stalled conn")
						memOf(t, p.cconn).BlockWrites(false)
					}
				}
				if res := waitCall(t, write, "Write"); res.err != nil {
					t.Fatal(res.err)
				}
				for i := range buf {
					buf[i] ^= 0xff
				}
				if fake && !large {
					memOf(t, p.cconn).BlockWrites(false)
				}
				got := make([]byte, len(want))
				if _, err := io.ReadFull(s, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("peer received bytes changed after Write returned, want the bytes as they were at the Write")
				}
			})
		})
	}
}

func TestStreamConcurrentWritesDoNotInterleave(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		const writers, size = 8, 64<<10 + 1 // each record spans two frames
		p := startSessions(t, pair, testConfig(), testConfig())
		c, s := streamPair(t, p)
		var wg sync.WaitGroup
		for id := range writers {
			wg.Go(func() {
				rec := bytes.Repeat([]byte{byte(id + 1)}, size)
				if n, err := c.Write(rec); n != size || err != nil {
					t.Errorf("writer %d: Write = %d, %v; want %d, nil", id, n, err, size)
				}
			})
		}
		got := make([]byte, writers*size)
		read := goCall(func() error {
			_, err := io.ReadFull(s, got)
			return err
		})
		if res := waitCallFor(t, read, "reading all records", bulkGuard); res.err != nil {
			t.Fatal(res.err)
		}
		wg.Wait()
		seen := make(map[byte]bool)
		for k := range writers {
			rec := got[k*size : (k+1)*size]
			id := rec[0]
			if i := bytes.IndexFunc(rec, func(r rune) bool { return r != rune(id) }); i >= 0 || id == 0 || seen[id] {
				t.Fatalf("record %d (writer byte %d) is not one contiguous Write (first foreign byte at %d), want each Write's bytes together", k, id, i)
			}
			seen[id] = true
		}
	})
}

func TestStreamLargeWrite(t *testing.T) {
	forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
		const size = 4 << 20
		p := startSessions(t, pair, testConfig(), testConfig())
		c, s := streamPair(t, p)
		// Two rounds in both directions at once: the second runs on the
		// windows the first one tuned.
		for round := range 2 {
			up, down := patternBytes(uint64(10+round), size), patternBytes(uint64(20+round), size)
			writes := []*pendingCall{
				goCall(func() error {
					n, err := c.Write(up)
					if n != size && err == nil {
						err = io.ErrShortWrite
					}
					return err
				}),
				goCall(func() error {
					n, err := s.Write(down)
					if n != size && err == nil {
						err = io.ErrShortWrite
					}
					return err
				}),
			}
			gotUp, gotDown := make([]byte, size), make([]byte, size)
			reads := []*pendingCall{
				goCall(func() error { _, err := io.ReadFull(s, gotUp); return err }),
				goCall(func() error { _, err := io.ReadFull(c, gotDown); return err }),
			}
			for _, ch := range append(writes, reads...) {
				if res := waitCallFor(t, ch, "4 MiB transfer", bulkGuard); res.err != nil {
					t.Fatalf("round %d: %v", round, res.err)
				}
			}
			if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
				t.Fatalf("round %d: data differs (up equal %v, down equal %v), want identical", round, bytes.Equal(gotUp, up), bytes.Equal(gotDown, down))
			}
		}
		if p.client.RTT() <= 0 || p.server.RTT() <= 0 {
			t.Errorf("RTT() = %v / %v, want > 0 (window auto-tuning has an RTT)", p.client.RTT(), p.server.RTT())
		}
	})
}

func TestStreamReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startSessions(t, memPair, testConfig(), testConfig())
		c, s := streamPair(t, p)
		buf := make([]byte, 64)

		// A deadline in the past fails Read at once, even with data buffered.
		if _, err := s.Write([]byte("buffered")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		c.SetReadDeadline(time.Now().Add(-time.Second))
		start := time.Now()
		n, err := c.Read(buf)
		if n != 0 {
			t.Errorf("Read past the deadline = %d bytes, want 0", n)
		}
		expectTimeout(t, err, "Read past the deadline")
		if d := time.Since(start); d != 0 {
			t.Errorf("Read past the deadline took %v, want at once", d)
		}
		// Clearing the deadline makes the stream usable again.
		c.SetReadDeadline(time.Time{})
		if n, err := c.Read(buf); string(buf[:n]) != "buffered" || err != nil {
			t.Errorf("Read after clearing the deadline = %q, %v; want %q, nil", buf[:n], err, "buffered")
		}

		// A blocked Read wakes exactly at its deadline.
		deadline := time.Now().Add(time.Second)
		c.SetReadDeadline(deadline)
		read := goCall(func() error {
			_, err := c.Read(buf)
			return err
		})
		time.Sleep(time.Until(deadline) - time.Nanosecond)
		synctest.Wait()
		expectBlocked(t, read, "Read before its deadline")
		time.Sleep(time.Nanosecond)
		res := waitCall(t, read, "Read at its deadline")
		expectTimeout(t, res.err, "blocked Read")
		if !res.at.Equal(deadline) {
			t.Errorf("blocked Read returned at %v, want exactly the deadline %v", res.at.Sub(start), deadline.Sub(start))
		}

		// Cleared again, a blocked Read gets data that arrives later.
		c.SetReadDeadline(time.Time{})
		var got string
		read = goCall(func() error {
			n, err := c.Read(buf)
			got = string(buf[:n])
			return err
		})
		time.Sleep(time.Hour)
		synctest.Wait()
		expectBlocked(t, read, "Read without a deadline")
		if _, err := s.Write([]byte("later")); err != nil {
			t.Fatal(err)
		}
		if res := waitCall(t, read, "Read"); res.err != nil || got != "later" {
			t.Errorf("Read after clearing the deadline = %q, %v; want %q, nil", got, res.err, "later")
		}
	})
}

func TestStreamWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startSessions(t, memPair, testConfig(), testConfig())
		c, s := streamPair(t, p)

		// A deadline in the past fails Write at once, even with window left.
		c.SetWriteDeadline(time.Now().Add(-time.Second))
		n, err := c.Write([]byte("x"))
		if n != 0 {
			t.Errorf("Write past the deadline = %d, want 0", n)
		}
		expectTimeout(t, err, "Write past the deadline")
		c.SetWriteDeadline(time.Time{})

		// Use up the peer's window: it reads nothing for now.
		filler := patternBytes(7, 256<<10)
		if _, err := c.Write(filler); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()

		// A Write blocked on the zero window wakes exactly at its deadline.
		start := time.Now()
		deadline := start.Add(time.Second)
		c.SetWriteDeadline(deadline)
		var written int
		write := goCall(func() error {
			var err error
			written, err = c.Write([]byte("more"))
			return err
		})
		time.Sleep(time.Until(deadline) - time.Nanosecond)
		synctest.Wait()
		expectBlocked(t, write, "Write before its deadline")
		time.Sleep(time.Nanosecond)
		res := waitCall(t, write, "Write at its deadline")
		expectTimeout(t, res.err, "blocked Write")
		if written != 0 {
			t.Errorf("timed-out Write wrote %d bytes, want 0 (window closed)", written)
		}
		if !res.at.Equal(deadline) {
			t.Errorf("blocked Write returned at %v, want exactly the deadline %v", res.at.Sub(start), deadline.Sub(start))
		}

		// Cleared, the Write waits for window and completes once the peer reads.
		c.SetWriteDeadline(time.Time{})
		write = goCall(func() error {
			_, err := c.Write([]byte("more"))
			return err
		})
		time.Sleep(time.Hour)
		synctest.Wait()
		expectBlocked(t, write, "Write on a zero window without a deadline")
		got := make([]byte, len(filler)+len("more"))
		if _, err := io.ReadFull(s, got[:len(filler)]); err != nil {
			t.Fatal(err)
		}
		if res := waitCall(t, write, "Write after the peer read"); res.err != nil {
			t.Errorf("Write after clearing the deadline = %v, want nil", res.err)
		}
		if _, err := io.ReadFull(s, got[len(filler):]); err != nil || !bytes.Equal(got, append(filler, "more"...)) {
			t.Errorf("peer read %d bytes, err %v; want the filler then %q", len(got), err, "more")
		}
	})
}

// TestStreamDeadlineMovedWhileBlocked moves the deadline of a blocked Read
// and a blocked Write later and earlier: the call wakes at the new time.
func TestStreamDeadlineMovedWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startSessions(t, memPair, testConfig(), testConfig())
		c, _ := streamPair(t, p)
		if _, err := c.Write(make([]byte, 256<<10)); err != nil { // zero window: Write blocks
			t.Fatal(err)
		}
		synctest.Wait()
		calls := []struct {
			name string
			set  func(time.Time) error
			call func() error
		}{
			{"Read", c.SetReadDeadline, func() error { _, err := c.Read(make([]byte, 1)); return err }},
			{"Write", c.SetWriteDeadline, func() error { _, err := c.Write([]byte("x")); return err }},
		}
		for _, tc := range calls {
			for _, move := range []struct {
				name          string
				first, second time.Duration // deadlines, from start
			}{
				{"extended", time.Second, 3 * time.Second},
				{"shortened", 10 * time.Second, 2 * time.Second},
			} {
				start := time.Now()
				tc.set(start.Add(move.first))
				ch := goCall(tc.call)
				time.Sleep(500 * time.Millisecond)
				tc.set(start.Add(move.second))
				time.Sleep(time.Until(start.Add(move.second)) - time.Nanosecond)
				synctest.Wait()
				expectBlocked(t, ch, tc.name+" before its moved deadline")
				time.Sleep(time.Nanosecond)
				res := waitCall(t, ch, tc.name)
				expectTimeout(t, res.err, tc.name+" with a "+move.name+" deadline")
				if d := res.at.Sub(start); d != move.second {
					t.Errorf("%s with a %s deadline returned after %v, want %v", tc.name, move.name, d, move.second)
				}
				tc.set(time.Time{})
			}
		}
	})
}
