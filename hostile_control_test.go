package yamux_test

// Hostile peers, control-frame floods: PING floods while not reading (R03)
// and frames that change nothing (R04). How the cases run:
// hostile_peer_test.go.

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestR03_PingFlood (A3): the peer stops reading (our connection's
// writes block: memconn BlockWrites on our end, 4 KiB of buffer) and floods
// PING(SYN). At most 64 pongs wait; then our receive loop stops reading, so
// the peer's writes block after a bounded number of pings; no goroutine or
// memory is spent per ping; and the session ends with
// ErrConnectionWriteTimeout exactly ConnectionWriteTimeout (10 s, fake
// time) after its first write blocked. The bystander is unaffected.
//
// Full size: 1,000,000 pings offered (-hostile.full); here 100,000 (10,000
// with -short). Only a few hundred are ever read, whatever the size.
func TestR03_PingFlood(t *testing.T) {
	n := caseSize(1_000_000, 100_000, 10_000)
	synctest.Test(t, func(t *testing.T) {
		const capacity = 4 << 10
		cfg := testConfig() // ConnectionWriteTimeout 10 s, keepalive 30 s
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: capacity, NoPingAnswers: true})
		ctl := hp.control(t)
		by := newBystander(t)
		synctest.Wait()
		heap0, g0 := heapBytes(), bubbleGoroutines()

		hp.oursMem().BlockWrites(true)
		start, written0 := time.Now(), hp.rawMem().BytesWritten()
		wrote := make(chan error, 1)
		go func() { // the peer's writes block, so they run on their own goroutine
			buf := make([]byte, 0, 1000*frame.HeaderSize)
			for i := 0; i < n; {
				buf = buf[:0]
				for ; i < n && len(buf) < cap(buf); i++ {
					buf = appendFrame(buf, frame.TypePing, frame.FlagSYN, 0, uint32(i+1), nil)
				}
				if err := hp.write(buf); err != nil {
					wrote <- err
					return
				}
			}
			wrote <- nil
		}()
		synctest.Wait()
		heap1, g1 := heapBytes(), bubbleGoroutines()

		select {
		case err := <-wrote:
			t.Fatalf("the peer wrote all %d pings (err %v) while we could not answer; want our session to stop reading", n, err)
		default:
		}
		if hp.S.IsClosed() {
			t.Fatalf("session closed before the write timeout: %v", hp.S.Err())
		}
		// Pings our session took in: at most 64 pending pongs plus the one
		// waiting for room, plus what sat in its read buffer and in the
		// connection (each at most the 4 KiB capacity).
		pings := (hp.rawMem().BytesWritten() - written0) / frame.HeaderSize
		boundPings := int64(64+1) + 2*capacity/frame.HeaderSize
		if pings > boundPings {
			t.Errorf("the peer got %d pings in before blocking, want <= %d (64 pending pongs + buffers)", pings, boundPings)
		}
		grow := heap1 - heap0
		if grow >= 1<<20 {
			t.Errorf("heap grew by %d B during the flood, want < 1 MiB", grow)
		}
		if extra := g1 - g0; extra > 1 {
			t.Errorf("goroutines %d -> %d during the flood, want at most the test's one writer (0 per ping)", g0, g1)
		}
		by.round() // the other session does not care

		<-hp.S.CloseChan()
		if d := time.Since(start); d != cfg.ConnectionWriteTimeout {
			t.Errorf("session closed %v after its writes blocked, want ConnectionWriteTimeout %v exactly", d, cfg.ConnectionWriteTimeout)
		}
		err := hp.S.Err()
		if !errors.Is(err, yamux.ErrConnectionWriteTimeout) || !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Errorf("Err() = %v, want ErrConnectionWriteTimeout and ErrSessionShutdown", err)
		}
		if err := <-wrote; err == nil {
			t.Errorf("the peer's flood completed, want its write to fail when our session closed")
		}
		t.Logf("R03: %d pings offered, %d read (bound %d); heap +%d B (< 1 MiB), goroutines %d -> %d; closed after %v with %v",
			n, pings, boundPings, grow, g0, g1, time.Since(start), err)
		ctl.finishBroken(yamux.ErrConnectionWriteTimeout)
		by.finish()
	})
}

// TestR04_UselessFrames (A4, A6): WINDOW_UPDATE frames with delta 0
// or 1 and random ACK flags, and flagless empty DATA, on an open stream.
//
//   - flood: interleaved with honest traffic (a control round every 5,000
//     frames) the flood is harmless; 10,000 in a row are tolerated, the
//     10,001st is answered with GoAway(1) and the session ends with
//     ErrProtocol.
//   - unsolicited pongs do not reset the count (regression);
//   - SYN on the live stream: SYN flag spam on an open stream is not
//     merely useless, it is a duplicate SYN: GoAway(1) at the first frame.
//   - allocs: handling such frames allocates nothing (testing.AllocsPerRun
//     over batches of 1,000 frames fed straight into the session).
//
// BenchmarkR04_UselessFrames measures the rate (doc: >= 5 M frames/s per core
// for decoding). Full size: 1e7 flood frames (-hostile.full); here 200,000
// (50,000 with -short).
func TestR04_UselessFrames(t *testing.T) {
	n := caseSize(10_000_000, 200_000, 50_000)
	t.Run("flood", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			st := hp.openInbound(3)
			rng := rand.New(rand.NewPCG(4, 4))
			b := hp.batch()
			var credit uint64
			useless := func(k int) {
				for range k {
					var d uint32
					b.buf, d = appendUseless(b.buf, rng, 3)
					credit += uint64(d)
					if len(b.buf) >= 32<<10 {
						b.flush()
					}
				}
				b.flush()
			}
			const every = yamux.MaxUselessFrames / 2
			for i := 0; i < n; i += every {
				useless(min(every, n-i))
				ctl.round() // honest traffic: the count starts again
			}
			synctest.Wait()
			if hp.S.IsClosed() {
				t.Fatalf("session closed by an interleaved flood: %v", hp.S.Err())
			}
			hp.expectNoFrame()
			by.round()

			useless(yamux.MaxUselessFrames)
			hp.expectNoFrame() // exactly the limit in a row: tolerated
			useless(1)
			hp.expectProtocolError(nil)
			if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrProtocol) {
				t.Errorf("Read on the attacked stream = %v, want an error matching ErrProtocol", err)
			}
			t.Logf("R04: %d interleaved useless frames (credit %d B) harmless; GoAway(1) after %d in a row", n, credit, yamux.MaxUselessFrames+1)
			ctl.finishBroken(yamux.ErrProtocol)
			by.finish()
		})
	})
	// Regression: a pong nobody asked for (or a PING with neither SYN nor
	// ACK) changes nothing and needs no reply. It used to count as useful
	// and reset the count, so one such frame per 9,999 kept a flood of
	// useless frames going for free (1,000,000 frames were accepted).
	t.Run("unsolicited pongs do not reset the count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			hp.openInbound(3)
			b := hp.batch()
			for i := range yamux.MaxUselessFrames {
				switch {
				case i%1000 == 999:
					b.add(frame.TypePing, frame.FlagACK, 0, 0xBAD, nil) // unsolicited pong
				case i%1000 == 499:
					b.add(frame.TypePing, 0, 0, 0xBAD, nil) // neither SYN nor ACK
				default:
					b.add(frame.TypeWindowUpdate, 0, 3, 0, nil)
				}
			}
			b.flush()
			hp.expectNoFrame()
			hp.writeFrame(frame.TypePing, frame.FlagACK, 0, 0xBAD)
			hp.expectProtocolError(nil)
			ctl.finishBroken(yamux.ErrProtocol)
			by.finish()
		})
	})
	t.Run("SYN on the live stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			hp.openInbound(3)
			hp.writeWindowUpdate(frame.FlagSYN|frame.FlagACK, 3, 1)
			hp.expectProtocolError(nil)
			ctl.finishBroken(yamux.ErrProtocol)
			by.finish()
		})
	})
	t.Run("allocs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := testConfig()
			cfg.EnableKeepAlive = false
			c := newFeedConn()
			s, err := yamux.Server(c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			pong := frame.New(frame.TypePing, frame.FlagACK, 0, 1)
			if !c.give(s, appendFrame(pong[:], frame.TypeWindowUpdate, frame.FlagSYN, 1, 0, nil)) {
				t.Fatalf("session ended: %v", s.Err())
			}
			const perRun = 1000
			rng := rand.New(rand.NewPCG(5, 5))
			var batch []byte
			for range perRun - 1 {
				batch, _ = appendUseless(batch, rng, 1)
			}
			// One useful frame per batch keeps the run below the limit.
			batch = appendFrame(batch, frame.TypeWindowUpdate, 0, 1, 1024, nil)
			allocs := testing.AllocsPerRun(200, func() {
				if !c.give(s, batch) {
					panic(s.Err())
				}
			})
			t.Logf("R04: %v allocations per batch of %d frames (%v per frame)", allocs, perRun, allocs/perRun)
			if allocs != 0 {
				t.Errorf("handling %d useless frames allocated %v times, want 0 allocs per frame", perRun, allocs)
			}
		})
	})
}

// BenchmarkR04_UselessFrames reports the rate (frames/s) at which useless
// frames (R04) are decoded ("decode": frame.Reader over a bufio.Reader, the
// doc's microbenchmark, >= 5 M frames/s per core) and handled end to end
// by a session ("session": receive loop, stream lookup, window update).
func BenchmarkR04_UselessFrames(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	const perBatch = 4096
	var batch []byte
	for range perBatch - 1 {
		batch, _ = appendUseless(batch, rng, 1)
	}
	batch = appendFrame(batch, frame.TypeWindowUpdate, 0, 1, 1024, nil)
	b.Run("decode", func(b *testing.B) {
		fr := frame.NewReader(bufio.NewReaderSize(&loopReader{b: batch}, 64<<10), 16<<20)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := fr.ReadHeader(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
	b.Run("session", func(b *testing.B) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		c := newFeedConn()
		s, err := yamux.Server(c, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if !c.give(s, appendFrame(nil, frame.TypeWindowUpdate, frame.FlagSYN, 1, 0, nil)) {
			b.Fatal(s.Err())
		}
		b.ReportAllocs()
		b.ResetTimer()
		frames := 0
		for frames < b.N {
			if !c.give(s, batch) {
				b.Fatal(s.Err())
			}
			frames += perBatch
		}
		b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
	})
}
