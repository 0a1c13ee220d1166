package yamux_test

// Hostile peers, stream-creation attacks: SYN floods (R01), rapid reset
// (R02), bad stream ids (R10), frames for unknown streams (R11) and GO_AWAY
// abuse (R12). How the cases run: hostile_peer_test.go.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// TestR01_SynFlood (A1): a peer opens streams (DATA|SYN with a 1 KiB
// body) as fast as it can while our application never calls Accept. At
// most AcceptBacklog streams wait, every other SYN is answered with
// exactly one RST, no goroutine is started per stream, heap growth stays
// within backlog × (stream + its 1 KiB of data), and the control stream and
// the bystander session keep working.
//
// Full size: 1,000,000 SYNs (-hostile.full); here 20,000 (5,000 with -short).
func TestR01_SynFlood(t *testing.T) {
	n := caseSize(1_000_000, 20_000, 5_000)
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig() // AcceptBacklog 256; MaxIncomingStreams 1000 leaves the backlog as the limit
		backlog := cfg.AcceptBacklog
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: 64 << 10})
		ctl := hp.control(t)
		by := newBystander(t)

		const first = 3 // the control stream is 1
		id := func(i int) uint32 { return uint32(first + 2*i) }
		var rsts, misplaced atomic.Int64
		hp.setSink(func(f rawFrame) bool {
			if f.h != frame.New(frame.TypeWindowUpdate, frame.FlagRST, f.h.StreamID(), 0) {
				return false
			}
			if f.h.StreamID() < id(backlog) {
				misplaced.Add(1) // a stream that fit in the backlog was refused
			}
			rsts.Add(1)
			return true
		})
		payload := make([]byte, 1024)
		fixed := pattern(make([]byte, 1024), -1024)

		synctest.Wait()
		heap0, g0 := heapBytes(), bubbleGoroutines()
		b := hp.batch()
		every := max(n/20, 1)
		for i := range n {
			body := fixed
			if i < backlog { // the streams that will wait: check their data later
				body = pattern(payload, int64(i)*1024)
			}
			b.add(frame.TypeData, frame.FlagSYN, id(i), 1024, body)
			if (i+1)%every == 0 {
				b.flush()
				ctl.round()
				by.round()
				if got := hp.S.NumStreams(); got > 1+backlog {
					t.Fatalf("after %d SYNs: NumStreams() = %d, want <= 1 + AcceptBacklog = %d", i+1, got, 1+backlog)
				}
			}
		}
		b.flush()
		synctest.Wait()
		heap1, g1 := heapBytes(), bubbleGoroutines()

		if got := hp.S.NumStreams(); got != 1+backlog {
			t.Errorf("NumStreams() = %d, want 1 (control) + AcceptBacklog %d waiting", got, backlog)
		}
		if got, want := rsts.Load(), int64(n-backlog); got != want {
			t.Errorf("got %d RSTs, want exactly one per refused SYN: %d", got, want)
		}
		if m := misplaced.Load(); m != 0 {
			t.Errorf("%d of the first %d SYNs were refused, want them all queued", m, backlog)
		}
		if g1 > g0 {
			t.Errorf("goroutines: %d after the flood, %d before; want no goroutine per stream (doc: <= baseline+4)", g1, g0)
		}
		// Bound derived from the config: each waiting stream holds its
		// struct (streamOverhead) and one 1 KiB receive chunk (plus
		// its 32 B header and list), refused ones nothing; 256 KiB covers
		// the two memconn buffers (64 KiB each) and the harness.
		grow := heap1 - heap0
		bound := int64(backlog)*(streamOverhead+1024+64) + 256<<10
		t.Logf("R01: %d SYNs, %d waiting, %d RST; heap growth %.2f MiB (bound %.2f MiB, doc < 80 MiB); goroutines %d -> %d; control p99 %v (fake)",
			n, hp.S.NumStreams()-1, rsts.Load(), inMiB(grow), inMiB(bound), g0, g1, ctl.p99())
		if grow > bound {
			t.Errorf("heap grew by %d B during the flood, want <= %d (AcceptBacklog x (stream + 1 KiB) + 256 KiB)", grow, bound)
		}

		// The waiting streams hold exactly what was sent on them.
		hp.setSink(nil)
		for i := range backlog {
			st := hp.acceptStream(id(i))
			got := make([]byte, 1024)
			if _, err := io.ReadFull(st, got); err != nil {
				t.Fatalf("stream %d: reading its 1 KiB: %v", id(i), err)
			}
			if !bytes.Equal(got, pattern(payload, int64(i)*1024)) {
				t.Fatalf("stream %d: data differs from what the peer sent", id(i))
			}
		}
		hp.expectNoFrame()
		ctl.finish()
		by.finish()
		hp.expectAlive()
	})
}

// TestR02_RapidReset (A2): a peer opens a stream and resets it at
// once (WINDOW_UPDATE|SYN then WINDOW_UPDATE|RST), over and over, against a
// Serve-style accept loop that starts one handler goroutine per accepted
// stream and holds the stream for 1 s (fake time).
//
// What it asserts: an inbound stream keeps its MaxIncomingStreams slot
// until the handler has released it (even when the peer reset it at once),
// so handlers never exceed the limit; SYNs past the limit are refused with
// RST, and after 4 x MaxIncomingStreams such refusals without a slot being
// freed the session answers GoAway(1) (HTTP/2's rapid-reset defence);
// goroutines return to baseline; the bystander keeps working.
//
// Sizes: up to n pairs are offered, but the GoAway comes after about
// 5 x MaxIncomingStreams whatever n is.
func TestR02_RapidReset(t *testing.T) {
	n := caseSize(200_000, 5_000, 1_000)
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxIncomingStreams = 256
		cfg.AcceptBacklog = 256
		limit := cfg.MaxIncomingStreams
		by := newBystander(t)
		synctest.Wait()
		gStart := bubbleGoroutines()
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg})
		ctl := hp.control(t)

		var rsts, goAways atomic.Int64
		hp.setSink(func(f rawFrame) bool {
			switch {
			case f.h == frame.New(frame.TypeWindowUpdate, frame.FlagRST, f.h.StreamID(), 0):
				rsts.Add(1)
			case f.h.Type() == frame.TypeGoAway:
				goAways.Add(1)
			default:
				return false
			}
			return true
		})

		// The application: Serve-style, one goroutine per stream.
		var running, peak, handled atomic.Int64
		acceptDone := make(chan struct{})
		var started atomic.Int64
		go func() {
			defer close(acceptDone)
			for {
				st, err := hp.S.AcceptStream()
				if err != nil {
					return
				}
				r := running.Add(1)
				for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
				}
				started.Add(1)
				go func() {
					time.Sleep(time.Second) // the handler's work
					st.Close()
					running.Add(-1)
					handled.Add(1)
				}()
			}
		}()

		// Handlers are goroutines; make their descriptors pre-exist so that
		// the heap measures streams, not the runtime's goroutine cache.
		warmGoroutines(n + 64)
		synctest.Wait()
		heap0 := heapBytes()
		b := hp.batch()
		every := max(limit/4, 1)
		maxLive, sent := 0, 0
		for i := range n {
			id := uint32(3 + 2*i)
			b.add(frame.TypeWindowUpdate, frame.FlagSYN, id, 0, nil)
			b.add(frame.TypeWindowUpdate, frame.FlagRST, id, 0, nil)
			sent++
			if (i+1)%every == 0 {
				b.flush()
				synctest.Wait()
				if goAways.Load() > 0 {
					break
				}
				maxLive = max(maxLive, hp.S.NumStreams()-1)
				ctl.round()
				by.round()
			}
		}
		b.flush()
		synctest.Wait()
		heapPeak, gPeak := heapBytes(), bubbleGoroutines()
		peakHandlers := peak.Load()
		t.Logf("R02: %d SYN+RST pairs sent before the GoAway: %d handed to Accept, %d refused (RST); handlers peaked at %d (limit %d); "+
			"live streams peaked at %d; heap +%.2f MiB at peak, goroutines %d at peak; GoAway frames: %d",
			sent, started.Load(), rsts.Load(), peakHandlers, limit, maxLive, inMiB(heapPeak-heap0), gPeak, goAways.Load())

		// Incoming slots are held until the handler releases its stream, so
		// handlers stay within MaxIncomingStreams even though the peer
		// resets every stream at once.
		if maxLive > limit {
			t.Errorf("live inbound streams peaked at %d, want <= MaxIncomingStreams %d", maxLive, limit)
		}
		if peakHandlers > int64(limit) {
			t.Errorf("%d handler goroutines ran at once, want <= MaxIncomingStreams %d", peakHandlers, limit)
		}
		// Refusals past the limit are bounded (4 x limit), then GoAway(1).
		if goAways.Load() != 1 {
			t.Fatalf("GoAway frames = %d after %d rapid resets, want exactly 1", goAways.Load(), sent)
		}
		if r := rsts.Load(); r > int64(4*limit+1) {
			t.Errorf("%d SYNs refused before the GoAway, want <= %d (4 x MaxIncomingStreams + 1)", r, 4*limit+1)
		}
		if err := hp.S.Err(); !errors.Is(err, yamux.ErrProtocol) {
			t.Errorf("Err() = %v, want a protocol error", err)
		}
		ctl.finishBroken()
		by.round()

		// Goroutines back to baseline ± 2 within 2 s once the handlers end.
		time.Sleep(2 * time.Second)
		<-acceptDone
		hp.shutdown()
		synctest.Wait()
		if r := running.Load(); r != 0 {
			t.Fatalf("%d handlers still running, want 0", r)
		}
		if g := bubbleGoroutines(); g < gStart-2 || g > gStart+2 {
			t.Errorf("goroutines 2 s after the session ended: %d, want baseline %d ± 2", g, gStart)
		}
		by.finish()
	})
}

// TestR10_StreamIDs (A10, [obs] 4, [obs] 5), for our session as
// server (the peer opens odd ids) and as client (the peer opens even ids):
// a SYN with our parity, a SYN on stream 0 (on WINDOW_UPDATE and on DATA)
// and a SYN for a live stream are protocol errors: GoAway(1) is the next
// frame on the wire ("within 1 read") and the session closes. SYNs that
// arrive out of order (7, 5, 3) open streams normally and deliver 100 % of
// their data (SHA-256).
func TestR10_StreamIDs(t *testing.T) {
	for _, role := range []struct {
		name     string
		asClient bool   // the peer's role
		first    uint32 // the first id the attacker uses (the control stream has the one before)
	}{
		{"our session as server", true, 3},
		{"our session as client", false, 4},
	} {
		a, b, c := role.first, role.first+2, role.first+4
		ours := a + 1 // an id of our parity, never opened
		violations := []struct {
			name string
			raw  func(hp *hostilePeer) []byte
		}{
			{"SYN with our parity", func(*hostilePeer) []byte { return rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, ours, 0) }},
			{"WINDOW_UPDATE|SYN on stream 0", func(*hostilePeer) []byte { return rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 0, 0) }},
			{"DATA|SYN on stream 0", func(*hostilePeer) []byte { return rawData(frame.FlagSYN, 0, []byte("x")) }},
			{"SYN for a live stream", func(hp *hostilePeer) []byte {
				hp.openInbound(b)
				return rawData(frame.FlagSYN, b, []byte("again"))
			}},
		}
		for _, v := range violations {
			t.Run(role.name+"/"+v.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					hp := newHostilePeer(t, rawPeerOptions{AsClient: role.asClient})
					ctl := hp.control(t)
					by := newBystander(t)
					st := hp.openInbound(a)
					hp.writeRaw(v.raw(hp))
					hp.expectProtocolError(nil)
					expectReadProtocolError(t, st, yamux.ErrProtocol)
					ctl.finishBroken(yamux.ErrProtocol)
					by.finish()
				})
			})
		}
		t.Run(role.name+"/SYNs out of order", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hp := newHostilePeer(t, rawPeerOptions{AsClient: role.asClient})
				ctl := hp.control(t)
				by := newBystander(t)
				const size = 100 << 10
				ids := []uint32{c, b, a}
				for _, id := range ids {
					hp.writeWindowUpdate(frame.FlagSYN, id, 0)
				}
				for _, id := range ids {
					hp.writeData(0, id, pattern(make([]byte, size), int64(id)<<20))
					hp.writeWindowUpdate(frame.FlagFIN, id, 0)
				}
				for _, id := range ids { // accepted in arrival order
					st := hp.acceptStream(id)
					got, err := io.ReadAll(st)
					if err != nil {
						t.Fatalf("stream %d: ReadAll: %v", id, err)
					}
					if sum, want := sha256.Sum256(got), patternSum(int64(id)<<20, size); len(got) != size || sum != want {
						t.Errorf("stream %d: got %d B with sha256 %x, want %d B with %x", id, len(got), sum, size, want)
					}
					st.Close()
					hp.expectFIN(id)
				}
				hp.expectNoFrame()
				hp.expectAlive()
				ctl.finish()
				by.finish()
			})
		})
	}
}

// TestR11_UnknownStreams (A11, [obs] 8): with 10 live streams (all
// echoing SHA-256-checked data), the peer sends ACK, FIN, RST, DATA (with
// and without flags, bodies up to a whole window) and WINDOW_UPDATE frames
// for stream ids that were never opened (both parities) or are already
// closed. They are ignored: the stream map keeps its size, no frame is
// written in reply, and the live streams are unaffected.
//
// Payload-free frames for unknown streams count as useless (a DATA body
// does not: the peer pays for every byte), so the flood interleaves one
// DATA with payload every 5 frames and stays alive; the test then shows
// that 10,001 payload-free ones in a row end in GoAway(1).
//
// Full size: 1,000,000 frames (-hostile.full); here 100,000 (20,000 with -short).
func TestR11_UnknownStreams(t *testing.T) {
	n := caseSize(1_000_000, 100_000, 20_000)
	synctest.Test(t, func(t *testing.T) {
		hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
		by := newBystander(t)
		var live []*echoStream
		for range 10 {
			live = append(live, hp.control(t)) // ids 1, 3, …, 19
		}
		// Streams 101..109: opened, then reset by the peer: closed ids.
		var closed []uint32
		for id := uint32(101); id <= 109; id += 2 {
			hp.openInbound(id)
			hp.writeWindowUpdate(frame.FlagRST, id, 0)
			closed = append(closed, id)
		}
		synctest.Wait()
		streams0 := hp.S.NumStreams()
		if streams0 != 10 {
			t.Fatalf("NumStreams() = %d before the flood, want 10", streams0)
		}
		body := pattern(make([]byte, 256<<10), 0)
		b := hp.batch()
		target := func(i int) uint32 {
			switch i % 3 {
			case 0:
				return closed[(i/3)%len(closed)]
			case 1:
				return uint32(1001 + 2*(i%50000)) // never opened, the peer's parity
			}
			return uint32(2000 + 2*(i%50000)) // never opened, our parity
		}
		every := max(n/20, 1)
		for i := range n {
			id := target(i)
			switch i % 5 {
			case 0:
				b.add(frame.TypeWindowUpdate, frame.FlagACK, id, 0, nil)
			case 1:
				b.add(frame.TypeWindowUpdate, frame.FlagFIN, id, 0, nil)
			case 2:
				b.add(frame.TypeWindowUpdate, frame.FlagRST, id, 0, nil)
			case 3:
				b.add(frame.TypeWindowUpdate, 0, id, 64<<10, nil)
			case 4:
				size := 64
				if i%10_000 == 4 {
					size = len(body) // a whole window's worth, now and then
				}
				flags := []frame.Flags{0, frame.FlagACK, frame.FlagFIN, frame.FlagRST}[(i/5)%4]
				b.add(frame.TypeData, flags, id, uint32(size), body[:size])
			}
			if (i+1)%every == 0 {
				b.flush()
				for _, e := range live {
					e.round()
				}
				by.round()
			}
		}
		b.flush()
		hp.expectNoFrame() // nothing written in reply
		if got := hp.S.NumStreams(); got != streams0 {
			t.Errorf("NumStreams() = %d after the flood, want %d: ignored frames must create no state", got, streams0)
		}
		for _, e := range live {
			e.round()
		}
		t.Logf("R11: %d frames for unknown or closed streams: 0 replies, stream map %d -> %d", n, streams0, hp.S.NumStreams())

		// 10,000 payload-free frames for unknown streams in a row are
		// tolerated, the next one is a flood.
		for i := range yamux.MaxUselessFrames {
			b.add(frame.TypeWindowUpdate, frame.FlagFIN, target(i), 0, nil)
		}
		b.flush()
		hp.expectNoFrame()
		hp.writeWindowUpdate(frame.FlagACK, 7777, 0)
		hp.expectProtocolError(nil)
		for _, e := range live {
			e.finishBroken(yamux.ErrProtocol)
		}
		by.finish()
	})
}

// TestR12_GoAway (A12) with streams in flight in both directions.
//
//   - remote: 100 streams, each carrying 64 KiB from the peer and 64 KiB
//     (1 MiB with -hostile.full) to it, when the peer sends GO_AWAY(0) and
//     then keeps opening streams. Our OpenStream fails with
//     ErrRemoteGoAway, AcceptStream with ErrRemoteGoAway, each new SYN is
//     answered with RST, 100 % of the bytes of the existing streams are
//     delivered both ways (SHA-256), and once the last stream has ended the
//     session closes itself with GO_AWAY(0).
//   - local: we call GoAway() while 20 streams are in flight; the peer
//     opens more (each RST'd) and never closes. The existing streams drain
//     completely and our own OpenStream still works (spec.md §6.3); once
//     no stream is left, the drain timer (GoAwayDrainTimeout) closes the
//     session exactly then (tentacle PR #309).
func TestR12_GoAway(t *testing.T) {
	const in = 64 << 10
	out := int64(caseSize(1<<20, 64<<10, 32<<10))
	t.Run("remote", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const streams, late = 100, 50
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true})
			ctl := hp.control(t)
			by := newBystander(t)
			ty := newFrameTally()
			hp.setSink(ty.sink(3))
			id := func(i int) uint32 { return uint32(3 + 2*i) }
			b := hp.batch()
			for i := range streams {
				b.add(frame.TypeWindowUpdate, frame.FlagSYN, id(i), 16<<20, nil) // credit for all we send
				b.add(frame.TypeData, 0, id(i), in, pattern(make([]byte, in), int64(id(i))<<32))
			}
			b.flush()
			var done []<-chan struct{}
			for i := range streams {
				st, err := hp.S.AcceptStream()
				if err != nil || st.StreamID() != id(i) {
					t.Fatalf("AcceptStream = %v, %v; want stream %d", st, err, id(i))
				}
				done = append(done, serveStream(t, st, in, int64(id(i))<<32, out, int64(id(i))<<33))
			}
			// In flight: the peer goes away, then keeps opening streams.
			hp.writeFrame(frame.TypeGoAway, 0, 0, uint32(yamux.CodeNormal))
			for i := streams; i < streams+late; i++ {
				b.add(frame.TypeData, frame.FlagSYN, id(i), 1024, make([]byte, 1024))
			}
			b.flush()
			synctest.Wait()
			if _, err := hp.S.OpenStream(); !errors.Is(err, yamux.ErrRemoteGoAway) {
				t.Errorf("OpenStream after the peer's GO_AWAY = %v, want ErrRemoteGoAway", err)
			}
			if _, err := hp.S.AcceptStream(); !errors.Is(err, yamux.ErrRemoteGoAway) || !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Errorf("AcceptStream after the peer's GO_AWAY = %v, want ErrRemoteGoAway and ErrSessionShutdown", err)
			}
			ctl.round() // existing streams go on
			by.round()
			for i := range streams {
				b.add(frame.TypeWindowUpdate, frame.FlagFIN, id(i), 0, nil)
			}
			b.flush()
			for _, d := range done {
				<-d
			}
			if hp.S.IsClosed() {
				t.Fatalf("session closed while the control stream was live: %v", hp.S.Err())
			}
			ctl.finish() // the last stream: the session now closes
			hp.expectGoAway(uint32(yamux.CodeNormal))
			hp.expectClosed()
			if err := hp.S.Err(); !errors.Is(err, yamux.ErrRemoteGoAway) {
				t.Errorf("Err() = %v, want ErrRemoteGoAway", err)
			}
			var delivered int64
			for i := range streams + late {
				got := ty.get(id(i))
				if i >= streams {
					if got.rst != 1 || got.n != 0 || got.ack != 0 {
						t.Errorf("late stream %d: got %d RST, %d ACK, %d B; want exactly 1 RST", id(i), got.rst, got.ack, got.n)
					}
					continue
				}
				want := patternSum(int64(id(i))<<33, out)
				if got.n != out || !bytes.Equal(got.sum.Sum(nil), want[:]) || got.fin != 1 || got.rst != 0 {
					t.Errorf("stream %d: the peer got %d B (sha256 ok: %v), %d FIN, %d RST; want %d B, 1 FIN, 0 RST",
						id(i), got.n, bytes.Equal(got.sum.Sum(nil), want[:]), got.fin, got.rst, out)
				}
				delivered += got.n + in
			}
			t.Logf("R12 remote: %d of %d pre-GoAway bytes delivered; %d late SYNs refused", delivered, int64(streams)*(in+out), late)
			by.finish()
		})
	})
	t.Run("local", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const streams, late = 20, 20
			const drainTimeout = 200 * time.Millisecond
			cfg := testConfig()
			cfg.GoAwayDrainTimeout = drainTimeout
			hp := newHostilePeer(t, rawPeerOptions{AsClient: true, Config: cfg})
			ctl := hp.control(t)
			by := newBystander(t)
			ty := newFrameTally()
			hp.setSink(ty.sink(3))
			id := func(i int) uint32 { return uint32(3 + 2*i) }
			b := hp.batch()
			for i := range streams {
				b.add(frame.TypeWindowUpdate, frame.FlagSYN, id(i), 16<<20, nil)
				b.add(frame.TypeData, 0, id(i), in, pattern(make([]byte, in), int64(id(i))<<32))
			}
			b.flush()
			var done []<-chan struct{}
			for i := range streams {
				st, err := hp.S.AcceptStream()
				if err != nil || st.StreamID() != id(i) {
					t.Fatalf("AcceptStream = %v, %v; want stream %d", st, err, id(i))
				}
				done = append(done, serveStream(t, st, in, int64(id(i))<<32, out, int64(id(i))<<33))
			}
			if err := hp.S.GoAway(); err != nil {
				t.Fatalf("GoAway: %v", err)
			}
			hp.expectGoAway(uint32(yamux.CodeNormal))
			for i := streams; i < streams+late; i++ {
				b.add(frame.TypeWindowUpdate, frame.FlagSYN, id(i), 0, nil)
			}
			b.flush()
			mine := hp.openOutbound(2) // our own opens continue
			for i := range streams {
				b.add(frame.TypeWindowUpdate, frame.FlagFIN, id(i), 0, nil)
			}
			b.flush()
			for _, d := range done {
				<-d
			}
			synctest.Wait()
			for i := range streams + late {
				got := ty.get(id(i))
				switch {
				case i >= streams && got.rst != 1:
					t.Errorf("stream %d opened after our GoAway: got %d RST, want 1", id(i), got.rst)
				case i < streams && (got.n != out || got.fin != 1):
					t.Errorf("stream %d: the peer got %d B and %d FIN, want %d B and 1 FIN", id(i), got.n, got.fin, out)
				}
			}
			mine.Reset()
			hp.expectRST(2)
			synctest.Wait()
			if n := hp.S.NumStreams(); n != 1 {
				t.Errorf("NumStreams() = %d after the streams drained, want 1 (the control stream)", n)
			}
			hp.expectNoFrame()
			hp.expectAlive()
			// The control stream is the last one; once it ends the session
			// is idle and the drain timer (GoAwayDrainTimeout, 200 ms here)
			// closes it.
			ctl.finish()
			synctest.Wait()
			drained := time.Now()
			time.Sleep(drainTimeout - time.Nanosecond)
			if hp.S.IsClosed() {
				t.Fatalf("session closed %v after it drained, want it open until GoAwayDrainTimeout %v", time.Since(drained), drainTimeout)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if !hp.S.IsClosed() {
				t.Fatalf("session still open %v after the last stream drained following our GoAway, want closed at GoAwayDrainTimeout %v",
					time.Since(drained), drainTimeout)
			}
			if err := hp.S.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
				t.Errorf("Err() = %v, want ErrSessionShutdown", err)
			}
			by.finish()
		})
	})
}

// TestEndedStreamsWithUnreadDataHoldSlots: a stream the peer finished
// (FIN) and our application half-closed is FullyClosed, but the data it
// has not read is still buffered. It keeps its MaxIncomingStreams slot
// until that data is read or dropped: it used to give it back at once, so
// a peer finishing streams faster than the application read them had
// handlers and buffered data without bound (helper audit: 1,000 handlers
// and +252 MiB against a limit of 16).
func TestEndedStreamsWithUnreadDataHoldSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxIncomingStreams = 2
		p := newRawPeer(t, true, cfg)
		payload := bytes.Repeat([]byte("u"), 1000)
		finished := func(id uint32) *yamux.Stream {
			st := p.openInbound(id)
			p.writeData(frame.FlagFIN, id, payload)
			if err := st.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			p.expectFIN(id)
			synctest.Wait()
			if s := st.State(); s != yamux.StateFullyClosed {
				t.Fatalf("stream %d after both FINs: %v, want FullyClosed", id, s)
			}
			return st
		}
		first := finished(1)
		second := finished(3)
		// Both slots are held by unread data: the next SYN is refused.
		p.writeWindowUpdate(frame.FlagSYN, 5, 0)
		p.expectRST(5)
		// Reading the first stream to its end gives its slot back.
		if got, err := io.ReadAll(first); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("ReadAll(first) = %d bytes, %v; want the %d bytes sent", len(got), err, len(payload))
		}
		p.openInbound(7)
		// Closing the second without reading drops its data and its slot.
		second.Close()
		p.openInbound(9)
	})
}
