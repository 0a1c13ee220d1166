package yamux_test

// Hostile peers, memory exhaustion: every memory attack at once against
// one session (the worst case of README's memory bound), and what an idle
// stream costs. How the cases run: hostile_peer_test.go.

import (
	"errors"
	"io"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// streamOverhead is what one idle stream costs in heap bytes: the
// Stream struct, its two notify channels and its share of the session's
// stream map and queues. Measured on go1.26.8 linux/amd64 over 2,000
// accepted idle streams: 550 B (524-528 B under -race) with the session
// fed directly (idleStreamBytes), 571-574 B through the
// hostile-peer harness; 576 B rounds up the largest.
// TestWorstCaseSessionMemory re-measures it and fails if it has grown by
// more than 10 %.
const streamOverhead = 576

// worstCaseBound is the most heap one session can hold, whatever
// its peer does (for the README):
//
//	M <= 64 KiB + 256 KiB (read buffers) + ringSize 262,192 B (send ring)
//	   + S x (streamOverhead + W0 + 128 KiB chunk slack)
//	   + B + 64 x 12 B (reply queue)
//
// where S is the number of streams (MaxIncomingStreams plus our own
// outbound streams), W0 = InitialStreamWindowSize (what a peer may send
// unasked on each stream), streamOverhead = streamOverhead (576 B
// measured per idle stream), the 128 KiB chunk slack covers the receive
// buffer's geometric chunks (their unused tail is < 64 KiB per stream),
// B = MaxSessionReceiveBuffer (all window growth above W0 together), and
// the reply queue holds at most MaxPendingPongs pongs and MaxPendingResets
// RSTs of 12 bytes each because the receive loop stops reading when either
// is full. The send side is
// the fixed ring: writers wait in Write, they are never copied further.
// (The read buffer and the ring are allocated as whole 8 KiB pages, 72 KiB
// and 264 KiB; the Session itself, its stream map and accept queue are a
// few KiB more. The chunk slack absorbs both: the measured peak stays far
// below M, see the test's log.)
func worstCaseBound(streams int, cfg *yamux.Config) int64 {
	const (
		readBuffer = yamux.ReadBufferSize + yamux.BigReadBufferSize // the large one only while the socket has a backlog
		ring       = yamux.RingSize
		chunkSlack = 128 << 10
		replies    = (yamux.MaxPendingPongs + yamux.MaxPendingResets) * frame.HeaderSize
	)
	perStream := int64(streamOverhead) + int64(cfg.InitialStreamWindowSize) + chunkSlack
	return readBuffer + ring + int64(streams)*perStream + int64(cfg.MaxSessionReceiveBuffer) + replies
}

// TestWorstCaseSessionMemory: under every memory attack at once — the
// maximum of incoming streams, each filled to its window (some of them
// auto-tuned until the session budget is spent), the accept backlog full,
// our own outbound streams filled by the peer and their writers blocked,
// a SYN flood beyond every limit and a ping flood while our writes are
// blocked — the session's heap stays under worstCaseBound. Small
// config: MaxIncomingStreams 32, AcceptBacklog 16, 4 outbound streams,
// MaxSessionReceiveBuffer 1 MiB, MaxStreamWindowSize 1 MiB.
//
// The session's heap is its idle size (idleSessionBytes: Session,
// read buffer, send ring, a stream) plus the growth measured from the
// baseline of the running test to the peak of the attack. Afterwards
// ConnectionWriteTimeout ends the session; the bystander is unaffected.
func TestWorstCaseSessionMemory(t *testing.T) {
	measured := idleStreamBytes(t, 2000)
	t.Logf("streamOverhead: %d B per idle stream measured, %d B in the formula", measured, streamOverhead)
	if measured > streamOverhead*11/10 {
		t.Errorf("an idle stream now costs %d B, more than streamOverhead = %d (+10 %%): update the constant and the README formula",
			measured, streamOverhead)
	}
	idle := idleSessionBytes(t)

	const (
		maxIn    = 32
		backlog  = 16
		outbound = 4
		growing  = 3 // accepted streams whose window is auto-tuned first
		window   = 256 << 10
	)
	cfg := testConfig()
	cfg.MaxIncomingStreams = maxIn
	cfg.AcceptBacklog = backlog
	cfg.MaxSessionReceiveBuffer = 1 << 20
	cfg.MaxStreamWindowSize = 1 << 20
	synctest.Test(t, func(t *testing.T) {
		// Pings are answered: window auto-tuning needs an RTT. (Our writes
		// block later, so no ping of ours goes out then.)
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: 64 << 10})
		ctl := hp.control(t) // incoming stream 1 of 32
		by := newBystander(t)
		// Our DATA and ACKs to the attacker are dropped by the sink,
		// except during the growth phase, which reads the window updates.
		sink := func(f rawFrame) bool {
			return f.h.Type() == frame.TypeData || f.h == frame.New(frame.TypeWindowUpdate, frame.FlagACK, f.h.StreamID(), 0)
		}
		src := make([]byte, 1<<20)
		warmGoroutines(64)
		synctest.Wait()
		heap0 := heapBytes()

		fill := func(id uint32, n int64) {
			b := hp.batch()
			for n > 0 {
				k := min(n, 64<<10)
				b.add(frame.TypeData, 0, id, uint32(k), src[:k])
				n -= k
			}
			b.flush()
		}
		next := uint32(3)
		open := func() uint32 {
			id := next
			next += 2
			hp.writeWindowUpdate(frame.FlagSYN, id, 0)
			return id
		}
		// Accepted streams: the first few grow their window while the
		// application reads, until the session budget is spent.
		var windows, growth int64
		credits := map[uint32]int64{}
		hp.setSink(nil)
		for range growing {
			id := open()
			st := hp.acceptStream(id)
			credit := int64(window)
			for round := 0; round < 6; round++ {
				fill(id, credit)
				if _, err := io.ReadFull(st, make([]byte, credit)); err != nil {
					t.Fatalf("stream %d: %v", id, err)
				}
				credit = 0
				for _, f := range hp.pendingFrames() {
					credit += int64(f.h.Length())
				}
			}
			credits[id] = credit
		}
		hp.setSink(sink)
		for id, c := range credits { // now nobody reads them
			fill(id, c)
			windows += c
			growth += c - window
		}
		for range maxIn - 1 - growing - backlog { // accepted, never read
			id := open()
			if _, err := hp.S.AcceptStream(); err != nil {
				t.Fatal(err)
			}
			fill(id, window)
			windows += window
		}
		for range backlog { // waiting for Accept, full
			fill(open(), window)
			windows += window
		}
		var writers []chan error
		for i := range outbound { // ours, filled by the peer, writers blocked
			id := uint32(2 + 2*i)
			st, err := hp.S.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			hp.expectSYN(id)
			hp.writeWindowUpdate(frame.FlagACK, id, 0)
			fill(id, window)
			windows += window
			done := make(chan error, 1)
			go func() {
				_, err := st.Write(src)
				done <- err
			}()
			writers = append(writers, done)
		}
		ctl.round()
		synctest.Wait()
		if n := hp.S.NumStreams(); n != maxIn+outbound {
			t.Fatalf("NumStreams() = %d, want %d incoming + %d outbound", n, maxIn, outbound)
		}

		// Our writes block; the peer floods pings and SYNs beyond every limit.
		hp.oursMem().BlockWrites(true)
		flood, written0 := make(chan error, 1), hp.rawMem().BytesWritten()
		go func() {
			var buf []byte
			for i := range 20_000 {
				buf = buf[:0]
				buf = appendFrame(buf, frame.TypePing, frame.FlagSYN, 0, uint32(i), nil)
				buf = appendFrame(buf, frame.TypeData, frame.FlagSYN, next+uint32(2*i), 1024, src[:1024])
				if err := hp.write(buf); err != nil {
					flood <- err
					return
				}
			}
			flood <- nil
		}()
		synctest.Wait()
		heapPeak := heapBytes()
		select {
		case err := <-flood:
			t.Fatalf("the ping+SYN flood went through (err %v) while our writes were blocked, want our session to stop reading", err)
		default:
		}

		streams := maxIn + outbound
		bound := worstCaseBound(streams, cfg)
		session := heapPeak - heap0 + idle
		t.Logf("worst case: S=%d streams, %d B of windows filled (%d B of it above W0, budget B=%d B), outbound writers blocked, ping+SYN flood paused after %d B",
			streams, windows, growth, cfg.MaxSessionReceiveBuffer, hp.rawMem().BytesWritten()-written0)
		t.Logf("worst case: session heap %d B (%.2f MiB: idle %d B + attack growth %d B), bound M = %d B (%.2f MiB), %.0f %% of M",
			session, inMiB(session), idle, heapPeak-heap0, bound, inMiB(bound), 100*float64(session)/float64(bound))
		if session > bound {
			t.Errorf("session heap %d B under the combined attack, want <= M = %d B", session, bound)
		}
		// The peer holds credit for at most W0 per stream plus the budget.
		// (Credit lags the window a little: an update goes out only once
		// half a window can be returned.)
		if budget := int64(cfg.MaxSessionReceiveBuffer); growth <= 0 || growth > budget {
			t.Errorf("credit above W0 granted to the peer = %d B, want > 0 (windows auto-tuned) and <= MaxSessionReceiveBuffer %d", growth, budget)
		}
		by.round()

		<-hp.S.CloseChan()
		if err := hp.S.Err(); !errors.Is(err, yamux.ErrConnectionWriteTimeout) {
			t.Errorf("Err() = %v, want ErrConnectionWriteTimeout", err)
		}
		for _, w := range writers {
			if err := <-w; !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Errorf("blocked writer returned %v, want ErrSessionShutdown", err)
			}
		}
		<-flood
		ctl.finishBroken(yamux.ErrConnectionWriteTimeout)
		by.finish()
	})
}
