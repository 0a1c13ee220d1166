package yamux_test

// Healthy traffic for the hostile-peer cases: SHA-256-checked echo
// streams that must keep working during an attack, the bystander session
// pair that must not notice it, and the tally of what our session sends
// to the attacker's bulk streams.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// echoStream is one healthy stream: the opener's end (c) writes chunks of
// a known pattern and reads them back; the acceptor's end (srv) echoes
// everything. Rounds are synchronous, so a round that completes in the
// middle of an attack proves the session served the stream during it.
// Both directions are hashed with SHA-256 and compared at the end.
type echoStream struct {
	t      testing.TB
	name   string
	c, srv *yamux.Stream
	done   chan error // result of the echo goroutine

	sent, got hash.Hash
	n         int64 // bytes sent and echoed back so far
	rounds    int
	rtts      []time.Duration // fake time per round
	wbuf      []byte
	rbuf      []byte
}

// startEcho opens a stream on opener, accepts it on acceptor, starts
// the echo there and runs one round.
func startEcho(t testing.TB, name string, opener, acceptor *yamux.Session) *echoStream {
	t.Helper()
	c, err := opener.OpenStream()
	if err != nil {
		t.Fatalf("%s: OpenStream: %v", name, err)
	}
	srv, err := acceptor.AcceptStream()
	if err != nil {
		t.Fatalf("%s: AcceptStream: %v", name, err)
	}
	if srv.StreamID() != c.StreamID() {
		t.Fatalf("%s: accepted stream %d, want the one just opened, %d", name, srv.StreamID(), c.StreamID())
	}
	e := &echoStream{
		t: t, name: name, c: c, srv: srv,
		done: make(chan error, 1),
		sent: sha256.New(), got: sha256.New(),
		wbuf: make([]byte, 4096), rbuf: make([]byte, 4096),
	}
	go func() {
		_, err := io.CopyBuffer(srv, srv, make([]byte, 32*1024))
		if err == nil {
			err = srv.CloseWrite()
		}
		e.done <- err
	}()
	t.Cleanup(func() {
		// Resetting both ends wakes the echo goroutine wherever it is.
		srv.Reset()
		c.Reset()
		<-e.done
		e.done <- nil // keep it readable for a later finish
	})
	e.round()
	return e
}

// tryRound writes one chunk (512 B to 4 KiB) and reads its echo. It gives
// up after a minute of fake time.
func (e *echoStream) tryRound() error {
	size := 512 + (e.rounds*997)%3584
	chunk := pattern(e.wbuf[:size], e.n)
	echo := e.rbuf[:size]
	start := time.Now()
	e.c.SetDeadline(start.Add(time.Minute))
	defer e.c.SetDeadline(time.Time{})
	if _, err := e.c.Write(chunk); err != nil {
		return err
	}
	if _, err := io.ReadFull(e.c, echo); err != nil {
		return err
	}
	e.rtts = append(e.rtts, time.Since(start))
	if !bytes.Equal(chunk, echo) {
		e.t.Errorf("%s: round %d echoed different bytes at offset %d", e.name, e.rounds, e.n)
	}
	e.sent.Write(chunk)
	e.got.Write(echo)
	e.n += int64(size)
	e.rounds++
	return nil
}

// round runs one round and fails the test if it does not complete.
func (e *echoStream) round() {
	e.t.Helper()
	if err := e.tryRound(); err != nil {
		e.t.Fatalf("%s: round %d after %d bytes: %v", e.name, e.rounds, e.n, err)
	}
}

// checkSums compares the SHA-256 of everything sent and everything echoed.
func (e *echoStream) checkSums() {
	e.t.Helper()
	if s, g := e.sent.Sum(nil), e.got.Sum(nil); !bytes.Equal(s, g) {
		e.t.Errorf("%s: sha256 of %d echoed bytes = %x, want %x", e.name, e.n, g, s)
	}
	if want := patternSum(0, e.n); !bytes.Equal(e.sent.Sum(nil), want[:]) {
		e.t.Errorf("%s: sha256 of the %d bytes sent is not the pattern's", e.name, e.n)
	}
}

// p99 returns the 99th percentile of the round trip times (fake time).
func (e *echoStream) p99() time.Duration {
	if len(e.rtts) == 0 {
		return 0
	}
	r := slices.Clone(e.rtts)
	slices.Sort(r)
	return r[(len(r)*99)/100]
}

// finish runs a last round, closes the stream cleanly in both directions
// and asserts that every byte came back (SHA-256) with p99 round trip under
// 50 ms of fake time (the figure of R01; no timer lies on the echo path,
// so it is 0 unless the session waited on one).
func (e *echoStream) finish() {
	e.t.Helper()
	e.round()
	if err := e.c.CloseWrite(); err != nil {
		e.t.Fatalf("%s: CloseWrite: %v", e.name, err)
	}
	e.c.SetReadDeadline(time.Now().Add(time.Minute))
	if n, err := e.c.Read(e.rbuf); n != 0 || !errors.Is(err, io.EOF) {
		e.t.Fatalf("%s: Read after the echo ended = %d, %v; want 0, io.EOF", e.name, n, err)
	}
	if err := <-e.done; err != nil {
		e.t.Fatalf("%s: echo side ended with %v, want nil", e.name, err)
	}
	e.done <- nil
	e.c.Close()
	e.checkSums()
	if p := e.p99(); p >= 50*time.Millisecond {
		e.t.Errorf("%s: p99 round trip %v (fake time), want < 50ms", e.name, p)
	}
}

// finishBroken is finish for a stream whose session the attack ended:
// rounds before the end matched, a new round fails, and the echo side
// reports an error matching ErrSessionShutdown and every error in want.
func (e *echoStream) finishBroken(want ...error) {
	e.t.Helper()
	if e.rounds == 0 {
		e.t.Fatalf("%s: no round completed before the session ended", e.name)
	}
	e.checkSums()
	if err := e.tryRound(); err == nil {
		e.t.Errorf("%s: a round succeeded after its session ended", e.name)
	}
	err := <-e.done
	e.done <- err
	for _, w := range append([]error{yamux.ErrSessionShutdown}, want...) {
		if !errors.Is(err, w) {
			e.t.Errorf("%s: echo side ended with %v, want an error matching %v", e.name, err, w)
		}
	}
}

// bystander is a second, healthy session pair in the same test: an
// attack may cost the attacker its session, never anyone else's.
type bystander struct {
	Client, Server *yamux.Session
	echo           *echoStream
}

func newBystander(t testing.TB) *bystander {
	t.Helper()
	c, s := sessionPair(t, memPair, testConfig(), testConfig())
	return &bystander{Client: c, Server: s, echo: startEcho(t, "bystander session", c, s)}
}

func (b *bystander) round() {
	b.echo.t.Helper()
	b.echo.round()
}

// finish asserts the bystander's echo completed intact and both of its
// sessions are still up.
func (b *bystander) finish() {
	t := b.echo.t
	t.Helper()
	b.echo.finish()
	for _, s := range []*yamux.Session{b.Client, b.Server} {
		if s.IsClosed() {
			t.Errorf("bystander session closed (%v), want it unaffected", s.Err())
		}
	}
}

// frameTally is a sink for the attacker's view of bulk transfers: per
// stream, the DATA bytes our session sent (and their SHA-256), its FIN,
// ACK and RST frames. Other frames go to the queue.
type frameTally struct {
	mu   sync.Mutex
	data map[uint32]*streamTally
}

type streamTally struct {
	n             int64
	sum           hash.Hash
	fin, ack, rst int
}

func newFrameTally() *frameTally {
	return &frameTally{data: make(map[uint32]*streamTally)}
}

// sink counts stream frames for ids >= from (the attacker's streams).
func (ty *frameTally) sink(from uint32) func(rawFrame) bool {
	return func(f rawFrame) bool {
		id := f.h.StreamID()
		if id < from || (f.h.Type() != frame.TypeData && f.h.Type() != frame.TypeWindowUpdate) {
			return false
		}
		if f.h.Type() == frame.TypeWindowUpdate && f.h.Flags()&frame.FlagSYN != 0 {
			return false // our own opens are for the test to see
		}
		ty.mu.Lock()
		defer ty.mu.Unlock()
		st := ty.data[id]
		if st == nil {
			st = &streamTally{sum: sha256.New()}
			ty.data[id] = st
		}
		st.n += int64(len(f.body))
		st.sum.Write(f.body)
		flags := f.h.Flags()
		if flags&frame.FlagFIN != 0 {
			st.fin++
		}
		if flags&frame.FlagACK != 0 {
			st.ack++
		}
		if flags&frame.FlagRST != 0 {
			st.rst++
		}
		return true
	}
}

func (ty *frameTally) get(id uint32) streamTally {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if st := ty.data[id]; st != nil {
		return *st
	}
	return streamTally{sum: sha256.New()}
}

// serveStream is our application on one accepted stream: it reads
// everything until EOF and checks it against the pattern at inOff, and
// concurrently writes out bytes of the pattern at outOff, then CloseWrite.
func serveStream(t testing.TB, st *yamux.Stream, in, inOff, out, outOff int64) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		got, err := io.ReadAll(st)
		if err != nil {
			t.Errorf("stream %d: ReadAll: %v", st.StreamID(), err)
			return
		}
		if sum, want := sha256.Sum256(got), patternSum(inOff, in); int64(len(got)) != in || sum != want {
			t.Errorf("stream %d: read %d B with sha256 %x, want %d B with %x", st.StreamID(), len(got), sum, in, want)
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 16<<10)
		for off := int64(0); off < out; {
			k := min(int64(len(buf)), out-off)
			if _, err := st.Write(pattern(buf[:k], outOff+off)); err != nil {
				t.Errorf("stream %d: Write at %d: %v", st.StreamID(), off, err)
				return
			}
			off += k
		}
		st.CloseWrite()
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}
