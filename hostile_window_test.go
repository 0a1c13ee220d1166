package yamux_test

// Hostile peers, flow-control abuse: window overflow (R05), tiny frames
// (R06), DATA beyond the window (R07) and a huge window never read (R13).
// How the cases run: hostile_peer_test.go.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestR05_WindowOverflow (A5): credit that would take a send window
// past 2^32-1 is a protocol error, checked in 64 bits, never wrapped:
// GoAway(1), Err() matches ErrProtocol, and every blocked call (a writer
// on an exhausted window, a reader, AcceptStream) returns within 10 ms
// (fake time: at once).
func TestR05_WindowOverflow(t *testing.T) {
	const maxU32 = 1<<32 - 1
	const initial = 256 << 10
	cases := []struct {
		name string
		// attack runs on our accepted stream 3 and returns the fatal frame.
		attack func(t *testing.T, hp *hostilePeer, st *yamux.Stream) []byte
		// ackRace: the fatal frame is a SYN. Its stream is created and
		// queued before its credit is judged, so the blocked AcceptStream
		// may take it and our ACK may reach the wire before GoAway(1).
		ackRace uint32
	}{
		{"0xFFFF0000 twice on a drained window", func(t *testing.T, hp *hostilePeer, st *yamux.Stream) []byte {
			// Drain the 256 KiB window, then take credit of 0xFFFF0000:
			// that fits, and a 1 MiB write goes through without waiting.
			writeAll(t, st, make([]byte, initial))
			hp.writeWindowUpdate(0, 3, 0xFFFF0000)
			writeAll(t, st, make([]byte, 1<<20))
			synctest.Wait()
			if hp.S.IsClosed() {
				t.Fatalf("the first 0xFFFF0000 ended the session: %v", hp.S.Err())
			}
			return rawEncode(frame.TypeWindowUpdate, 0, 3, 0xFFFF0000)
		}, 0},
		{"SYN whose credit plus 256 KiB is 2^32", func(t *testing.T, hp *hostilePeer, st *yamux.Stream) []byte {
			return rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 5, 1<<32-initial)
		}, 5},
		{"SYN filling the window to 2^32-1, then 1 more", func(t *testing.T, hp *hostilePeer, st *yamux.Stream) []byte {
			hp.writeWindowUpdate(frame.FlagSYN, 5, maxU32-initial) // exactly the maximum: legal
			hp.acceptStream(5)
			synctest.Wait()
			if hp.S.IsClosed() {
				t.Fatalf("a window of exactly 2^32-1 ended the session: %v", hp.S.Err())
			}
			return rawEncode(frame.TypeWindowUpdate, 0, 5, 1)
		}, 0},
		{"0xFFFFFFFF on a fresh window", func(t *testing.T, hp *hostilePeer, st *yamux.Stream) []byte {
			return rawEncode(frame.TypeWindowUpdate, 0, 3, maxU32)
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
				ctl := hp.control(t)
				by := newBystander(t)
				hp.setSink(func(f rawFrame) bool { return f.h.Type() == frame.TypeData }) // our writes' DATA
				st := hp.openInbound(3)
				blockedW := hp.openInbound(7) // its window is exhausted and never credited
				writeAll(t, blockedW, make([]byte, initial))
				fatal := tc.attack(t, hp, st)

				calls := []*pendingCall{
					startCall("Write on an exhausted window", func() error {
						_, err := blockedW.Write([]byte("more"))
						return err
					}),
					startCall("Read", func() error {
						_, err := st.Read(make([]byte, 1))
						return err
					}),
					startCall("AcceptStream", func() error {
						// A stream the SYN cases queued (before its credit
						// was judged) may come out first; it must fail
						// with the session.
						for {
							st, err := hp.S.AcceptStream()
							if err != nil {
								return err
							}
							if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrProtocol) {
								return fmt.Errorf("accepted stream %d reads %v, want the session's protocol error", st.StreamID(), err)
							}
						}
					}),
				}
				ctl.round()
				synctest.Wait()
				for _, c := range calls {
					expectBlocked(t, c, c.name+" before the attack")
				}
				var raced atomic.Int64
				if tc.ackRace != 0 {
					ack := frame.New(frame.TypeWindowUpdate, frame.FlagACK, tc.ackRace, 0)
					hp.setSink(func(f rawFrame) bool {
						if f.h == ack {
							raced.Add(1)
						}
						return f.h.Type() == frame.TypeData || f.h == ack
					})
				}
				start := time.Now()
				hp.writeRaw(fatal)
				hp.expectProtocolError(nil)
				expectUnblocked(t, start, 10*time.Millisecond, calls, yamux.ErrSessionShutdown, yamux.ErrProtocol)
				if raced.Load() > 0 {
					t.Logf("R05: our ACK for stream %d (opened by the fatal SYN) went out before GoAway(1)", tc.ackRace)
				}
				ctl.finishBroken(yamux.ErrProtocol)
				by.finish()
			})
		})
	}
}

// TestR06_TinyFrames (A6, [obs] 7): 64 accepted streams whose
// application does not read; the peer fills each 256 KiB window with tiny
// DATA frames. The receive buffer coalesces them, so the heap holds about
// one byte per byte of window, not one allocation per frame: heap per
// stream <= 2 x 256 KiB and the session < 40 MiB. No window update is sent
// while nothing is read, and afterwards every stream reads back exactly
// what was sent (SHA-256).
//
// The doc uses 1-byte frames on all 64 streams (16.7 M frames; that is
// -hostile.full). Here 2 streams (1 with -short) get 1-byte frames and
// the rest 64-byte frames, which exercise the same coalescing.
func TestR06_TinyFrames(t *testing.T) {
	const (
		streams = 64
		window  = 256 << 10
	)
	oneByte := caseSize(streams, 2, 1)
	synctest.Test(t, func(t *testing.T) {
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Capacity: 64 << 10})
		ctl := hp.control(t)
		by := newBystander(t)
		ids := make([]uint32, streams)
		sts := make([]*yamux.Stream, streams)
		for i := range streams {
			ids[i] = uint32(3 + 2*i)
			sts[i] = hp.openInbound(ids[i])
		}
		payload := make([]byte, 64)
		fill := func(i, size int) {
			b := hp.batch()
			for off := 0; off < window; off += size {
				b.add(frame.TypeData, 0, ids[i], uint32(size), pattern(payload[:size], int64(i)<<20+int64(off)))
			}
			b.flush()
			ctl.round()
		}
		synctest.Wait()
		heap0 := heapBytes()
		for i := range oneByte {
			fill(i, 1)
		}
		synctest.Wait()
		heap1 := heapBytes()
		for i := oneByte; i < streams; i++ {
			fill(i, 64)
		}
		synctest.Wait()
		heap2 := heapBytes()
		hp.expectNoFrame() // nothing was read, so no credit goes back
		by.round()

		perOne := (heap1 - heap0) / int64(oneByte)
		perAll := (heap2 - heap0) / streams
		t.Logf("R06: heap per stream %d B with 1-byte frames, %d B averaged over all %d streams (window %d B); session total +%.2f MiB",
			perOne, perAll, streams, window, inMiB(heap2-heap0))
		if perOne > 2*window {
			t.Errorf("heap per stream filled with 1-byte frames = %d B, want <= 2 x %d", perOne, window)
		}
		if perAll > 2*window {
			t.Errorf("heap per stream = %d B, want <= 2 x %d", perAll, window)
		}
		if total := heap2 - heap0; total >= 40<<20 {
			t.Errorf("session heap grew by %d B, want < 40 MiB", total)
		}

		var credits atomic.Int64
		hp.setSink(func(f rawFrame) bool {
			if f.h.Type() == frame.TypeWindowUpdate && f.h.Flags() == 0 {
				credits.Add(int64(f.h.Length()))
				return true
			}
			return false
		})
		for i, st := range sts {
			got := make([]byte, window)
			if _, err := io.ReadFull(st, got); err != nil {
				t.Fatalf("stream %d: reading its window: %v", ids[i], err)
			}
			if sum, want := sha256.Sum256(got), patternSum(int64(i)<<20, window); sum != want {
				t.Fatalf("stream %d: sha256 of the data read = %x, want %x", ids[i], sum, want)
			}
		}
		synctest.Wait()
		if got, want := credits.Load(), int64(streams*window); got != want {
			t.Errorf("window credit returned after reading everything = %d, want %d", got, want)
		}
		hp.expectNoFrame()
		ctl.finish()
		by.finish()
		hp.expectAlive()
	})
}

// TestR07_DataBeyondWindow (A7, CVE-2026-32314): DATA announcing
// more than the stream's credit is a protocol error judged from the header,
// before any of the body is read or allocated: GoAway(1) is the very next
// frame on the wire, the session and the stream report
// ErrRecvWindowExceeded (and ErrProtocol), and handling the header
// allocates < 64 KiB. Only headers are written: no honest body exists.
//
//   - fresh stream: DATA of 256 KiB+1 on an accepted stream;
//   - SYN body: DATA|SYN announcing 262,145 bytes (the CVE repro);
//   - auto-tuned: the window grows (the application reads as fast as the
//     peer sends), then DATA of the grown credit + 1.
//
// The allocation of the first two is measured on a session fed directly
// (handlingAlloc: nothing else runs); for the third, around the
// header in the full harness, an upper bound.
func TestR07_DataBeyondWindow(t *testing.T) {
	const initial = 256 << 10
	const allocBound = 64 << 10
	t.Run("fresh stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			st := hp.openInbound(3)
			hp.writeFrame(frame.TypeData, 0, 3, initial+1)
			hp.expectProtocolError(yamux.ErrRecvWindowExceeded)
			expectReadProtocolError(t, st, yamux.ErrRecvWindowExceeded)
			ctl.finishBroken(yamux.ErrRecvWindowExceeded)
			by.finish()

			syn := frame.New(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)
			bad := frame.New(frame.TypeData, 0, 1, initial+1)
			alloc, s := handlingAlloc(t, nil, syn[:], bad[:])
			expectAlloc(t, alloc, allocBound, s, yamux.ErrRecvWindowExceeded)
		})
	})
	t.Run("SYN body", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			hp.writeFrame(frame.TypeData, frame.FlagSYN, 3, 262_145)
			hp.expectProtocolError(yamux.ErrRecvWindowExceeded)
			ctl.finishBroken(yamux.ErrRecvWindowExceeded)
			by.finish()

			bad := frame.New(frame.TypeData, frame.FlagSYN, 1, 262_145)
			alloc, s := handlingAlloc(t, nil, nil, bad[:])
			expectAlloc(t, alloc, allocBound, s, yamux.ErrRecvWindowExceeded)
		})
	})
	t.Run("auto-tuned window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			st := hp.openInbound(3)
			// The application reads everything at once; every window
			// update is then due at once (< 4 x RTT), so the window
			// doubles each time (spec.md §4.3).
			credit, sent := int64(initial), int64(0)
			for round := 0; round < 4; round++ {
				b := hp.batch()
				for k := credit; k > 0; {
					n := min(k, 64<<10)
					b.add(frame.TypeData, 0, 3, uint32(n), pattern(make([]byte, n), sent))
					sent += n
					k -= n
				}
				b.flush()
				got := make([]byte, credit)
				if _, err := io.ReadFull(st, got); err != nil {
					t.Fatalf("round %d: reading %d B: %v", round, credit, err)
				}
				credit = 0
				for _, f := range hp.pendingFrames() {
					if f.h.Type() != frame.TypeWindowUpdate || f.h.StreamID() != 3 || f.h.Flags() != 0 {
						t.Fatalf("round %d: got frame %v, want only window updates for stream 3", round, f)
					}
					credit += int64(f.h.Length())
				}
			}
			if credit <= initial {
				t.Fatalf("credit after 4 read rounds = %d, want the window auto-tuned above %d", credit, initial)
			}
			synctest.Wait()
			before := allocatedBytes()
			hp.writeFrame(frame.TypeData, 0, 3, uint32(credit+1))
			hp.expectProtocolError(yamux.ErrRecvWindowExceeded)
			synctest.Wait()
			alloc := allocatedBytes() - before
			t.Logf("R07: window tuned to a credit of %d B; DATA of %d B: GoAway(1); %d B allocated in the whole harness meanwhile", credit, credit+1, alloc)
			if alloc >= allocBound {
				t.Errorf("handling the header allocated %d B (harness included), want < %d", alloc, allocBound)
			}
			expectReadProtocolError(t, st, yamux.ErrRecvWindowExceeded)
			ctl.finishBroken(yamux.ErrRecvWindowExceeded)
			by.finish()
		})
	})
}

// TestR13_HugeWindowNoRead (A13, CVE-2019-9517 analogue): our
// application opens 100 streams and writes 1 MiB on each; the peer grants
// 2^31 bytes of window on every stream but never reads (our connection's
// writes block). The send queue is a fixed ring, so the writers block in
// their Write calls; heap growth < 8 MiB; no goroutine is added per
// stream; ConnectionWriteTimeout (10 s, fake time, exact) ends the session
// and all 100 writers return an error matching ErrConnectionWriteTimeout
// at once (doc: within 100 ms of the close), having queued far less than
// they were asked to.
//
// Full size: 16 MiB per writer (-hostile.full); here 1 MiB (256 KiB with -short).
func TestR13_HugeWindowNoRead(t *testing.T) {
	const streams = 100
	size := caseSize(16<<20, 1<<20, 256<<10)
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig() // ConnectionWriteTimeout 10 s
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: 64 << 10, NoPingAnswers: true})
		ctl := hp.control(t)
		by := newBystander(t)
		sts := make([]*yamux.Stream, streams)
		for i := range sts {
			sts[i] = hp.openOutbound(uint32(2 + 2*i))     // the peer ACKs each…
			hp.writeWindowUpdate(0, uint32(2+2*i), 1<<31) // …and grants 2^31
		}
		src := make([]byte, size) // shared by all writers; Write only reads it
		synctest.Wait()
		heap0, g0 := heapBytes(), bubbleGoroutines()

		hp.oursMem().BlockWrites(true)
		start := time.Now()
		type result struct {
			n   int
			err error
			at  time.Time
		}
		results := make(chan result, streams)
		for _, st := range sts {
			go func() {
				n, err := st.Write(src)
				results <- result{n, err, time.Now()}
			}()
		}
		synctest.Wait()
		heap1, g1 := heapBytes(), bubbleGoroutines()
		if len(results) != 0 {
			t.Fatalf("%d writers returned while the peer read nothing, want all blocked", len(results))
		}
		if g1-g0 != streams {
			t.Errorf("goroutines %d -> %d, want exactly the %d writers (none added by the session)", g0, g1, streams)
		}
		grow := heap1 - heap0
		if grow >= 8<<20 {
			t.Errorf("heap grew by %d B with %d writers blocked, want < 8 MiB", grow, streams)
		}
		by.round()

		<-hp.S.CloseChan()
		closed := time.Now()
		if d := closed.Sub(start); d != cfg.ConnectionWriteTimeout {
			t.Errorf("session closed %v after its writes blocked, want ConnectionWriteTimeout %v exactly", d, cfg.ConnectionWriteTimeout)
		}
		var queued int
		var last time.Duration
		for range streams {
			r := <-results
			queued += r.n
			last = max(last, r.at.Sub(closed))
			if !errors.Is(r.err, yamux.ErrConnectionWriteTimeout) || !errors.Is(r.err, yamux.ErrSessionShutdown) {
				t.Errorf("Write returned %d, %v; want an error matching ErrConnectionWriteTimeout and ErrSessionShutdown", r.n, r.err)
			}
		}
		if last > 100*time.Millisecond {
			t.Errorf("the last writer returned %v after the session closed, want <= 100ms", last)
		}
		t.Logf("R13: %d writers x %d B blocked; heap +%.2f MiB (< 8 MiB); %d B queued in all before the timeout; closed after %v; last writer returned %v after close",
			streams, size, inMiB(grow), queued, closed.Sub(start), last)
		if queued >= streams*size {
			t.Errorf("writers queued %d B with nobody reading, want far less than the %d asked", queued, streams*size)
		}
		ctl.finishBroken(yamux.ErrConnectionWriteTimeout)
		by.finish()
	})
}
