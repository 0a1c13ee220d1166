package yamux_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// The lingering close (spec.md §6.3): Close flushes, sends GO_AWAY,
// half-closes the connection and reads until the peer's EOF before it
// closes, so that frames the peer sent meanwhile never make our kernel
// answer with RST (which would destroy data the peer had received but not
// yet read). memconn models that RST (memconn.TestCloseWithUnreadResets).

// lingerResult is what the frame-level peer of lingerScenario saw.
type lingerResult struct {
	data      int64
	sum       [sha256.Size]byte
	goAway    bool
	goAwayErr uint32
	afterGo   int // frames after GO_AWAY (must be 0)
	err       error
}

// lingerPeer reads frames from raw until an error, hashing DATA of stream
// id; it closes raw when the read ends, as a peer like us does on EOF.
func lingerPeer(raw net.Conn, id uint32) lingerResult {
	var r lingerResult
	h := sha256.New()
	var hdr [frame.HeaderSize]byte
	for {
		if _, err := io.ReadFull(raw, hdr[:]); err != nil {
			r.err = err
			break
		}
		fh := frame.Header(hdr)
		if r.goAway {
			r.afterGo++
		}
		switch fh.Type() {
		case frame.TypeData:
			n, err := io.CopyN(h, raw, int64(fh.Length()))
			if fh.StreamID() == id {
				r.data += n
			}
			r.err = err
		case frame.TypeGoAway:
			r.goAway, r.goAwayErr = true, fh.Length()
		}
		if r.err != nil {
			break
		}
	}
	copy(r.sum[:], h.Sum(nil))
	raw.Close()
	return r
}

// lingerScenario: our client session over ours queues 1 MiB on a stream and
// closes at once, while the peer on raw keeps sending PINGs and window
// updates. The peer must read all 1 MiB, then GO_AWAY(0), then EOF.
func lingerScenario(t *testing.T, ours, raw net.Conn) {
	s, err := yamux.Client(ours, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("lingering close "), 1<<16) // 1 MiB
	// ACK with credit for all of it, so our writes never wait for the peer.
	ack := frame.New(frame.TypeWindowUpdate, frame.FlagACK, st.StreamID(), uint32(len(want)))
	if _, err := raw.Write(ack[:]); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	noisy := make(chan struct{})
	go func() { // the peer keeps talking while we close
		defer close(noisy)
		var buf []byte
		for i := uint32(1); !stop.Load(); i++ {
			buf = buf[:0]
			for k := range uint32(64) {
				p := frame.New(frame.TypePing, frame.FlagSYN, 0, i*64+k)
				w := frame.New(frame.TypeWindowUpdate, 0, st.StreamID(), 4096)
				buf = append(append(buf, p[:]...), w[:]...)
			}
			if _, err := raw.Write(buf); err != nil {
				return
			}
		}
	}()
	got := make(chan lingerResult, 1)
	go func() { got <- lingerPeer(raw, st.StreamID()) }()

	if n, err := st.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close returned: the connection is closed.
	if _, err := ours.Write([]byte{0}); err == nil {
		t.Errorf("our conn still writable after Close returned")
	}
	r := <-got
	stop.Store(true)
	<-noisy
	if r.data != int64(len(want)) || r.sum != sha256.Sum256(want) {
		t.Errorf("peer read %d of %d bytes (checksum match %v), want all", r.data, len(want), r.sum == sha256.Sum256(want))
	}
	if !r.goAway || r.goAwayErr != 0 || r.afterGo != 0 {
		t.Errorf("GO_AWAY seen %v (code %d, %d frames after it), want GO_AWAY(0) last", r.goAway, r.goAwayErr, r.afterGo)
	}
	if r.err != io.EOF {
		t.Errorf("peer's read ended with %v, want io.EOF (a clean close, no reset)", r.err)
	}
}

func TestCloseLingersMem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, raw := memconn.PipeWith(memconn.Options{Capacity: 64 << 10})
		lingerScenario(t, ours, raw)
	})
}

func TestCloseLingersTCP(t *testing.T) {
	ours, raw := tcpPair(t)
	lingerScenario(t, ours, raw)
}

// TestCloseLingerBounded: a peer that never closes its side (it reads our
// EOF and keeps the connection open, still sending) cannot hold Close: it
// returns after min(ConnectionWriteTimeout, 1 s) of lingering, and the
// connection is closed by then.
func TestCloseLingerBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, raw := memconn.Pipe()
		defer raw.Close()
		s, err := yamux.Client(ours, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		eof := make(chan error, 1)
		go func() { // reads to our EOF, then just stays
			_, err := io.Copy(io.Discard, raw)
			eof <- err
		}()
		synctest.Wait()
		start := time.Now()
		s.Close()
		if d := time.Since(start); d != time.Second {
			t.Errorf("Close took %v with a peer that never closes, want the 1 s linger bound", d)
		}
		if err := <-eof; err != nil {
			t.Errorf("peer's read ended with %v, want our EOF (half-close) before the close", err)
		}
		if _, err := ours.Write([]byte{0}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("our conn after Close: Write = %v, want net.ErrClosed", err)
		}
	})
}

// TestCloseLingerBothOurs: two of our sessions, each closing while the
// other sends: both Closes end within one exchange (no linger timeout),
// because each side ends its session on the other's EOF.
func TestCloseLingerBothOurs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := memSessions(t)
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		sst, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		done := make(chan struct{})
		go func() { server.Close(); close(done) }()
		client.Close()
		<-done
		if d := time.Since(start); d != 0 {
			t.Errorf("closing both sessions took %v of fake time, want 0 (no linger timeout)", d)
		}
		buf := make([]byte, 1)
		if n, err := sst.Read(buf); n != 1 || buf[0] != 'x' {
			t.Errorf("server stream Read = %d, %v, want the byte written before Close", n, err)
		}
	})
}

// TestCloseNoLingerWithoutHalfClose: a connection without CloseWrite
// (net.Pipe) is closed right after the final write: there is nothing to
// linger for, since it has no kernel buffer that could answer with RST.
func TestCloseNoLingerWithoutHalfClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, raw := net.Pipe()
		defer raw.Close()
		s, err := yamux.Client(ours, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan lingerResult, 1)
		go func() { got <- lingerPeer(raw, 0) }()
		synctest.Wait()
		start := time.Now()
		s.Close()
		if d := time.Since(start); d != 0 {
			t.Errorf("Close over net.Pipe took %v, want 0", d)
		}
		if r := <-got; !r.goAway || r.err != io.EOF {
			t.Errorf("peer saw GO_AWAY %v, read end %v; want GO_AWAY then io.EOF", r.goAway, r.err)
		}
	})
}

// TestCloseLingersMemUnread is the deterministic form: 4 MiB of the peer's
// window updates sit unread in our connection when we Close, and the peer
// only starts reading once Close has returned. Closing over unread bytes
// resets the connection (memconn, like a kernel), so the peer would read
// nothing; lingering drains them first, and the peer reads all 1 MiB, the
// GO_AWAY and a clean EOF.
func TestCloseLingersMemUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, raw := memconn.PipeWith(memconn.Options{Capacity: 16 << 20})
		s, err := yamux.Client(ours, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Repeat([]byte("unread at close "), 1<<16) // 1 MiB
		ack := frame.New(frame.TypeWindowUpdate, frame.FlagACK, st.StreamID(), uint32(len(want)))
		raw.Write(ack[:])
		synctest.Wait()
		if n, err := st.Write(want); n != len(want) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		var noise []byte
		for range (4 << 20) / frame.HeaderSize {
			wu := frame.New(frame.TypeWindowUpdate, 0, st.StreamID(), 4096)
			noise = append(noise, wu[:]...)
		}
		if _, err := raw.Write(noise); err != nil {
			t.Fatal(err)
		}
		s.Close()
		r := lingerPeer(raw, st.StreamID())
		if r.data != int64(len(want)) || r.sum != sha256.Sum256(want) {
			t.Errorf("peer read %d of %d bytes, want all", r.data, len(want))
		}
		if !r.goAway || r.err != io.EOF {
			t.Errorf("peer saw GO_AWAY %v, read end %v; want GO_AWAY(0), then io.EOF", r.goAway, r.err)
		}
	})
}

// TestPeerGoAwayErrorLingers: the peer sends GO_AWAY with an error code
// followed by more frames than our read buffer takes in one read. Our
// session ends and sends nothing more, but it must not close on those
// unread frames: that resets the connection and destroys the stream data
// we had sent before, which the peer has not read yet. The peer reads all
// of it, then our EOF (spec.md §6.2, §6.3).
func TestPeerGoAwayErrorLingers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, raw := memconn.Pipe()
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		s, err := yamux.Server(ours, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := raw.Write(rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)); err != nil {
			t.Fatal(err)
		}
		st, err := s.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		data := patternBytes(3, 200<<10) // within the initial window
		if _, err := st.Write(data); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // all of it is in the peer's inbound buffer, unread

		const code = 0x1005
		burst := rawEncode(frame.TypeGoAway, 0, 0, code)
		for len(burst) < 100<<10 { // more than one read of our 64 KiB buffer
			burst = append(burst, rawEncode(frame.TypePing, frame.FlagACK, 0, 12345)...)
		}
		if _, err := raw.Write(burst); err != nil {
			t.Fatal(err)
		}
		<-s.CloseChan()
		var se *yamux.SessionError
		if err := s.Err(); !errors.As(err, &se) || se.Code != code || !se.Remote {
			t.Fatalf("Err() = %v, want the peer's GO_AWAY(0x%x)", err, code)
		}
		res := lingerPeer(raw, 1)
		if !errors.Is(res.err, io.EOF) {
			t.Fatalf("peer read %d of %d stream bytes, then %v", res.data, len(data), res.err)
		}
		if res.data != int64(len(data)) || res.sum != sha256.Sum256(data) {
			t.Errorf("peer read %d bytes (checksum match %v), want all %d", res.data, res.sum == sha256.Sum256(data), len(data))
		}
		if res.goAway {
			t.Errorf("we answered the peer's GO_AWAY with GO_AWAY(%d); want nothing more", res.goAwayErr)
		}
	})
}
