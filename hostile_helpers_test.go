package yamux_test

// Harness for the hostile-peer cases of hostile_test.go
// (docs/hostile-peers.md, R01–R13, R15 and the worst-case memory bound).
//
// A hostile peer is the raw-frame peer of rawpeer_test.go (writeFrame,
// writeRaw, expectGoAway, expectRST, expectNoFrame, expectAlive, …) with a
// twist: a real yamux session, Ctl, shares the raw connection with the
// attacker. Its frames are spliced in between the attacker's frames, whole
// frame by whole frame, and our session's replies on Ctl's streams (and the
// pongs of Ctl's pings) are routed back to it instead of into the rawPeer
// queue. So one connection carries both an attack and a healthy control
// stream, and the test's expect* calls see only what our session says to
// the attacker.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

var (
	// hostileFull runs every case at the size docs/hostile-peers.md gives
	// (1,000,000 SYNs for R01, 1e7 frames for R04, 16 MiB per writer for
	// R13, …). It takes minutes under -race:
	//
	//	go test -race -count=1 -run 'Hostile|WorstCase' -hostile.full -timeout=2h .
	hostileFull = flag.Bool("hostile.full", false,
		"hostile_test.go: run the hostile-peer cases at the full sizes of docs/hostile-peers.md (slow)")
)

// hostileSize returns full under -hostile.full, short under -short and ci
// otherwise (CI runs without -short).
func hostileSize(full, ci, short int) int {
	switch {
	case *hostileFull:
		return full
	case testing.Short():
		return short
	}
	return ci
}

// --- Measurements -------------------------------------------------------

// hostileHeap returns the bytes of live heap objects after two GCs (the
// second clears sync.Pool victim caches), as runtime/metrics reports them.
func hostileHeap() int64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// hostileAllocated returns the bytes allocated so far by the whole
// process. ReadMemStats flushes the per-P caches, so the count is exact
// (runtime/metrics counts small objects a span at a time).
func hostileAllocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// hostileGoroutines counts the goroutines of the caller's synctest bubble
// (outside a bubble: runtime.NumGoroutine). runtime.NumGoroutine alone is
// process-wide, so it also counts the runner goroutines of tests and
// subtests that are still exiting, which makes "back to baseline" checks
// flaky; goroutine dumps name each goroutine's bubble.
func hostileGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// The first goroutine is the caller: "goroutine 9 [running, synctest bubble 1]:".
	first, _, _ := strings.Cut(string(buf), "\n")
	_, bubble, ok := strings.Cut(first, ", synctest bubble ")
	if !ok {
		return runtime.NumGoroutine()
	}
	marker := ", synctest bubble " + bubble // "1]:"
	count := 0
	for line := range strings.Lines(string(buf)) {
		if strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(strings.TrimSpace(line), marker) {
			count++
		}
	}
	return count
}

// hostileWarmGoroutines starts and ends n goroutines, so that goroutines
// started later reuse their descriptors: the runtime never frees a dead
// goroutine's g struct (about 512 B of heap), nor the sleep timer it
// allocates on its first time.Sleep, which would otherwise show as heap
// growth after a test's own goroutines have ended. Inside a bubble.
func hostileWarmGoroutines(n int) {
	release := make(chan struct{})
	for range n {
		go func() {
			<-release
			time.Sleep(time.Nanosecond)
		}()
	}
	synctest.Wait()
	close(release)
	time.Sleep(time.Millisecond)
	synctest.Wait()
}

// hostileWrite writes b on st and fails the test unless all of it went.
func hostileWrite(t testing.TB, st *yamux.Stream, b []byte) {
	t.Helper()
	if n, err := st.Write(b); n != len(b) || err != nil {
		t.Fatalf("stream %d: Write(%d B) = %d, %v; want %d, nil", st.StreamID(), len(b), n, err, len(b))
	}
}

// hostileMiB formats a byte count for messages.
func hostileMiB(n int64) float64 { return float64(n) / (1 << 20) }

// --- Frames -------------------------------------------------------------

// hostileAppend appends one encoded frame to b. For DATA, length is what
// the header announces and payload what follows; they may differ.
func hostileAppend(b []byte, typ frame.Type, flags frame.Flags, id, length uint32, payload []byte) []byte {
	h := frame.New(typ, flags, id, length)
	return append(append(b, h[:]...), payload...)
}

// hostilePattern fills b with the deterministic pseudo-random bytes found
// at offset off of an endless stream, so any prefix can be recomputed.
func hostilePattern(b []byte, off int64) []byte {
	for i := range b {
		x := uint64(off+int64(i)) * 0x9E3779B97F4A7C15
		b[i] = byte(x >> 56)
	}
	return b
}

// hostileSum is the sha256 of n pattern bytes starting at offset off.
func hostileSum(off, n int64) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 32*1024)
	for n > 0 {
		k := min(n, int64(len(buf)))
		h.Write(hostilePattern(buf[:k], off))
		off += k
		n -= k
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// --- The hostile peer ---------------------------------------------------

// hostileCtlTag marks, on the shared connection, the PING values of the
// control session Ctl, so that our pongs can be routed back to it. Attack
// pings must not use values of the form 0xC0DExxxx.
const hostileCtlTag = 0xC0DE0000

// hostilePeer is a rawPeer (attacker) and a real yamux session (Ctl)
// sharing one connection to our session S.
type hostilePeer struct {
	*rawPeer
	// Ctl is the peer's well-behaved session; it owns the streams it opens
	// (the control streams). Attack frames must not use their ids.
	Ctl   *yamux.Session
	proxy *memconn.Conn // the far end of Ctl's connection, pumped both ways

	mu     sync.Mutex
	ctlIDs map[uint32]bool     // stream ids Ctl opened
	sink   func(rawFrame) bool // see setSink

	scratch  []byte // DATA bodies; owned by readLoop
	upDone   chan struct{}
	stopOnce sync.Once
}

// hostileNewPeer starts our session and a hostile peer on a memconn pair,
// as newRawPeerOpts does (the options mean the same), plus the control
// session Ctl. It must run inside a synctest bubble. Cleanup (or
// shutdown) closes everything and waits for every goroutine it started.
func hostileNewPeer(t testing.TB, o rawPeerOptions) *hostilePeer {
	t.Helper()
	cfg := o.Config
	if cfg == nil {
		cfg = testConfig()
	}
	ctlCfg := testConfig()
	ctlCfg.EnableKeepAlive = false
	// The control session must not give up before our session does when
	// a test stalls the shared connection on purpose.
	ctlCfg.ConnectionWriteTimeout = 30 * time.Minute

	ours, raw := memconn.PipeWith(memconn.Options{Capacity: o.Capacity})
	ctlConn, proxy := memconn.Pipe()
	newOurs, newCtl := yamux.Client, yamux.Server
	if o.AsClient {
		newOurs, newCtl = yamux.Server, yamux.Client
	}
	s, err := newOurs(ours, cfg)
	if err != nil {
		t.Fatalf("starting our session: %v", err)
	}
	ctl, err := newCtl(ctlConn, ctlCfg)
	if err != nil {
		t.Fatalf("starting the control session: %v", err)
	}
	p := newRawPeerState(t, raw, ours, s, o)
	hp := &hostilePeer{
		rawPeer: p,
		Ctl:     ctl,
		proxy:   proxy,
		ctlIDs:  make(map[uint32]bool),
		upDone:  make(chan struct{}),
	}
	go hp.readLoop()
	go hp.upLoop()
	p.watchdog = time.AfterFunc(time.Hour, func() {
		t.Errorf("test still blocked after an hour of fake time; closing the session")
		p.S.Close()
		p.Conn.Close()
	})
	t.Cleanup(hp.shutdown)
	return hp
}

// shutdown closes both sessions and the connections and waits for the
// pumps. It is idempotent.
func (hp *hostilePeer) shutdown() {
	hp.stopOnce.Do(func() {
		p := hp.rawPeer
		p.watchdog.Stop()
		p.Ours.BlockWrites(false)
		// Closing the raw end first makes our session's final writes fail
		// at once instead of waiting for a reader.
		p.Conn.Close()
		hp.proxy.Close()
		p.S.Close()
		hp.Ctl.Close()
		<-p.readerDone
		<-hp.upDone
	})
}

// setSink installs f, which sees every frame our session sends to the
// attacker before it is queued; frames for which f returns true are
// dropped (counted by f), so floods of replies do not pile up in the
// queue. f runs on the reader goroutine and must not keep f.body.
func (hp *hostilePeer) setSink(f func(rawFrame) bool) {
	hp.mu.Lock()
	hp.sink = f
	hp.mu.Unlock()
}

func (hp *hostilePeer) isCtl(id uint32) bool {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	return hp.ctlIDs[id]
}

// readLoop replaces rawPeer.readLoop: it reads every frame our session
// writes, answers our pings (like rawPeer), routes frames of Ctl's streams
// and pongs of Ctl's pings to Ctl, and queues the rest for expect*.
func (hp *hostilePeer) readLoop() {
	p := hp.rawPeer
	defer close(p.readerDone)
	fr := frame.NewReader(p.Conn, math.MaxUint32)
	var err error
	for {
		var h frame.Header
		if h, err = fr.ReadHeader(); err != nil {
			break
		}
		body := hp.scratch[:0]
		if h.Type() == frame.TypeData && h.Length() > 0 {
			n := int(h.Length())
			if cap(hp.scratch) < n {
				hp.scratch = make([]byte, n)
			}
			body = hp.scratch[:n]
			if _, err = io.ReadFull(p.Conn, body); err != nil {
				break
			}
		}
		typ, flags := h.Type(), h.Flags()
		switch {
		case typ == frame.TypePing && flags&frame.FlagSYN != 0:
			p.ourPings.Add(1)
			if p.answerPings {
				pong := frame.New(frame.TypePing, frame.FlagACK, 0, h.Length())
				p.write(pong[:]) // fails once our session is gone; fine
			}
			continue
		case typ == frame.TypePing && flags&frame.FlagACK != 0 && h.Length()&^0xFFFF == hostileCtlTag:
			pong := frame.New(frame.TypePing, flags, 0, h.Length()&0xFFFF)
			hp.forward(pong, nil)
			continue
		case (typ == frame.TypeData || typ == frame.TypeWindowUpdate) && hp.isCtl(h.StreamID()):
			hp.forward(h, body)
			continue
		}
		f := rawFrame{h: h, body: body}
		hp.mu.Lock()
		sink := hp.sink
		hp.mu.Unlock()
		if sink != nil && sink(f) {
			continue
		}
		f.body = bytes.Clone(body)
		if len(f.body) == 0 {
			f.body = nil
		}
		p.mu.Lock()
		p.queue = append(p.queue, f)
		p.mu.Unlock()
		p.signal()
	}
	// The control session sees the connection end too.
	hp.proxy.Close()
	p.mu.Lock()
	p.readErr = err
	p.mu.Unlock()
	p.signal()
}

// forward hands one frame to Ctl (errors mean Ctl is gone; ignored).
func (hp *hostilePeer) forward(h frame.Header, body []byte) {
	if _, err := hp.proxy.Write(h[:]); err == nil && len(body) > 0 {
		hp.proxy.Write(body)
	}
}

// upLoop copies Ctl's frames onto the shared connection, one whole frame
// per write so they interleave with the attacker's only at frame
// boundaries. It records the streams Ctl opens and tags Ctl's pings.
func (hp *hostilePeer) upLoop() {
	defer close(hp.upDone)
	defer hp.proxy.Close()
	fr := frame.NewReader(hp.proxy, math.MaxUint32)
	buf := make([]byte, 0, frame.HeaderSize+64*1024)
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			return
		}
		switch h.Type() {
		case frame.TypePing:
			if h.Flags()&frame.FlagSYN != 0 {
				h = frame.New(frame.TypePing, h.Flags(), 0, hostileCtlTag|h.Length()&0xFFFF)
			}
		case frame.TypeData, frame.TypeWindowUpdate:
			if h.Flags()&frame.FlagSYN != 0 {
				hp.mu.Lock()
				hp.ctlIDs[h.StreamID()] = true
				hp.mu.Unlock()
			}
		}
		buf = append(buf[:0], h[:]...)
		if h.Type() == frame.TypeData && h.Length() > 0 {
			buf = slices.Grow(buf, int(h.Length()))[:frame.HeaderSize+int(h.Length())]
			if _, err := io.ReadFull(hp.proxy, buf[frame.HeaderSize:]); err != nil {
				return
			}
		}
		if err := hp.write(buf); err != nil {
			return
		}
	}
}

// control starts the control stream: Ctl opens it, our application
// accepts it and echoes everything back. Call it before the attack opens
// streams, so that AcceptStream returns the control stream.
func (hp *hostilePeer) control(t testing.TB) *hostileEcho {
	t.Helper()
	return hostileStartEcho(t, "control stream", hp.Ctl, hp.S)
}

// hostileBatch accumulates encoded frames and writes them to the attacker's
// connection about 32 KiB at a time. Test goroutine only (writeRaw fails
// the test on error).
type hostileBatch struct {
	hp  *hostilePeer
	buf []byte
}

func (hp *hostilePeer) batch() *hostileBatch {
	return &hostileBatch{hp: hp, buf: make([]byte, 0, 64*1024)}
}

// add appends one frame, writing the batch when it is large enough.
func (b *hostileBatch) add(typ frame.Type, flags frame.Flags, id, length uint32, payload []byte) {
	b.buf = hostileAppend(b.buf, typ, flags, id, length, payload)
	if len(b.buf) >= 32*1024 {
		b.flush()
	}
}

// flush writes what has accumulated.
func (b *hostileBatch) flush() {
	b.hp.t.Helper()
	if len(b.buf) > 0 {
		b.hp.writeRaw(b.buf)
		b.buf = b.buf[:0]
	}
}

// --- Healthy traffic: sha256-checked echo streams -----------------------

// hostileEcho is one healthy stream: the opener's end (c) writes chunks of
// a known pattern and reads them back; the acceptor's end (srv) echoes
// everything. Rounds are synchronous, so a round that completes in the
// middle of an attack proves the session served the stream during it.
// Both directions are hashed with SHA-256 and compared at the end.
type hostileEcho struct {
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

// hostileStartEcho opens a stream on opener, accepts it on acceptor, starts
// the echo there and runs one round.
func hostileStartEcho(t testing.TB, name string, opener, acceptor *yamux.Session) *hostileEcho {
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
	e := &hostileEcho{
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
func (e *hostileEcho) tryRound() error {
	size := 512 + (e.rounds*997)%3584
	chunk := hostilePattern(e.wbuf[:size], e.n)
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
func (e *hostileEcho) round() {
	e.t.Helper()
	if err := e.tryRound(); err != nil {
		e.t.Fatalf("%s: round %d after %d bytes: %v", e.name, e.rounds, e.n, err)
	}
}

// checkSums compares the SHA-256 of everything sent and everything echoed.
func (e *hostileEcho) checkSums() {
	e.t.Helper()
	if s, g := e.sent.Sum(nil), e.got.Sum(nil); !bytes.Equal(s, g) {
		e.t.Errorf("%s: sha256 of %d echoed bytes = %x, want %x", e.name, e.n, g, s)
	}
	if want := hostileSum(0, e.n); !bytes.Equal(e.sent.Sum(nil), want[:]) {
		e.t.Errorf("%s: sha256 of the %d bytes sent is not the pattern's", e.name, e.n)
	}
}

// p99 returns the 99th percentile of the round trip times (fake time).
func (e *hostileEcho) p99() time.Duration {
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
func (e *hostileEcho) finish() {
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
func (e *hostileEcho) finishBroken(want ...error) {
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

// hostileBystander is a second, healthy session pair in the same test: an
// attack may cost the attacker its session, never anyone else's.
type hostileBystander struct {
	Client, Server *yamux.Session
	echo           *hostileEcho
}

func hostileNewBystander(t testing.TB) *hostileBystander {
	t.Helper()
	c, s := sessionPair(t, memPair, testConfig(), testConfig())
	return &hostileBystander{Client: c, Server: s, echo: hostileStartEcho(t, "bystander session", c, s)}
}

func (b *hostileBystander) round() {
	b.echo.t.Helper()
	b.echo.round()
}

// finish asserts the bystander's echo completed intact and both of its
// sessions are still up.
func (b *hostileBystander) finish() {
	t := b.echo.t
	t.Helper()
	b.echo.finish()
	for _, s := range []*yamux.Session{b.Client, b.Server} {
		if s.IsClosed() {
			t.Errorf("bystander session closed (%v), want it unaffected", s.Err())
		}
	}
}

// --- A connection fed batch by batch (allocation measurements) ----------

// hostileFeedConn is a connection for one session whose input the test
// hands over batch by batch, with nothing else running: no harness
// goroutine, no allocation per Read. What our session writes is dropped.
type hostileFeedConn struct {
	feed     chan []byte   // the next batch to read
	consumed chan struct{} // the session asked for more after a batch
	cur      []byte
	fed      bool // a batch was handed out and not yet reported consumed
	closed   chan struct{}
	once     sync.Once
}

func newHostileFeedConn() *hostileFeedConn {
	return &hostileFeedConn{
		feed:     make(chan []byte),
		consumed: make(chan struct{}),
		closed:   make(chan struct{}),
	}
}

func (c *hostileFeedConn) Read(b []byte) (int, error) {
	if len(c.cur) == 0 {
		if c.fed {
			// Everything handed out before has been decoded and handled:
			// the receive loop reads only once its buffer is empty.
			c.fed = false
			select {
			case c.consumed <- struct{}{}:
			case <-c.closed:
				return 0, io.EOF
			}
		}
		select {
		case c.cur = <-c.feed:
			c.fed = true
		case <-c.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *hostileFeedConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return len(b), nil
}

func (c *hostileFeedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// give feeds one batch and waits until the session has handled all of it
// or has ended. It reports whether the session is still reading.
func (c *hostileFeedConn) give(s *yamux.Session, batch []byte) bool {
	select {
	case c.feed <- batch:
	case <-s.CloseChan():
		return false
	}
	select {
	case <-c.consumed:
		return true
	case <-s.CloseChan():
		return false
	}
}

// hostileHandlingAlloc measures the bytes our session allocates while it
// handles offending (fed after prefix, which sets up state), until it has
// handled it and either asks for more or has ended. Our session is a
// server and the only thing running on the connection. Call it inside a
// synctest bubble.
func hostileHandlingAlloc(t testing.TB, cfg *yamux.Config, prefix, offending []byte) (alloc uint64, s *yamux.Session) {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
		cfg.EnableKeepAlive = false
	}
	c := newHostileFeedConn()
	s, err := yamux.Server(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// The RTT ping's pong, so nothing is outstanding.
	pong := frame.New(frame.TypePing, frame.FlagACK, 0, 1)
	if !c.give(s, append(pong[:], prefix...)) {
		t.Fatalf("session ended on the prefix: %v", s.Err())
	}
	before := hostileAllocated()
	if c.give(s, offending) {
		// Still alive: it handled the frame and asked for more.
	} else {
		<-s.CloseChan()
	}
	// Let the session's goroutines finish what the frame caused.
	synctest.Wait()
	return hostileAllocated() - before, s
}

// --- Helpers of individual cases ------------------------------------------

// hostileUseless appends one frame for stream id that changes nothing: a
// WINDOW_UPDATE with delta 0 or 1 and, at random, ACK (the stream is
// already established), or a flagless empty DATA (A4, A6). It returns the
// window credit it carries.
func hostileUseless(b []byte, rng *rand.Rand, id uint32) ([]byte, uint32) {
	if rng.IntN(3) == 0 {
		return hostileAppend(b, frame.TypeData, 0, id, 0, nil), 0
	}
	var flags frame.Flags
	if rng.IntN(2) == 0 {
		flags = frame.FlagACK
	}
	delta := uint32(rng.IntN(2))
	return hostileAppend(b, frame.TypeWindowUpdate, flags, id, delta, nil), delta
}

// hostileMaxUseless is the core's limit of consecutive frames that change
// nothing (maxUselessFrames in session_recv.go): the next one is a
// protocol error.
const hostileMaxUseless = 10_000

// hostileLoopReader serves the same bytes over and over.
type hostileLoopReader struct {
	b   []byte
	off int
}

func (r *hostileLoopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.b[r.off:])
		n += k
		r.off = (r.off + k) % len(r.b)
	}
	return n, nil
}

// hostileBlocked is a call the test expects to stay blocked until the
// session ends; it records when (fake time) and with what it returned.
type hostileBlocked struct {
	name string
	done chan struct{}
	at   time.Time
	err  error
}

func hostileBlock(name string, call func() error) *hostileBlocked {
	c := &hostileBlocked{name: name, done: make(chan struct{})}
	go func() {
		c.err = call()
		c.at = time.Now()
		close(c.done)
	}()
	return c
}

// hostileExpectUnblocked asserts every call returned within d of since,
// with an error matching each of want.
func hostileExpectUnblocked(t testing.TB, since time.Time, d time.Duration, calls []*hostileBlocked, want ...error) {
	t.Helper()
	for _, c := range calls {
		<-c.done
		if took := c.at.Sub(since); took > d {
			t.Errorf("%s returned %v after the fatal frame, want <= %v", c.name, took, d)
		}
		for _, w := range want {
			if !errors.Is(c.err, w) {
				t.Errorf("%s returned %v, want an error matching %v", c.name, c.err, w)
			}
		}
	}
}

// hostileWantReadErr asserts that Read on st fails with an error matching
// ErrProtocol, ErrSessionShutdown and want (after any buffered data).
func hostileWantReadErr(t testing.TB, st *yamux.Stream, want error) {
	t.Helper()
	_, err := io.Copy(io.Discard, st)
	for _, w := range []error{yamux.ErrProtocol, yamux.ErrSessionShutdown, want} {
		if !errors.Is(err, w) {
			t.Errorf("stream %d: Read = %v, want an error matching %v", st.StreamID(), err, w)
		}
	}
}

// hostileWantAlloc checks a hostileHandlingAlloc measurement: the session
// ended with want, allocating less than bound.
func hostileWantAlloc(t testing.TB, alloc, bound uint64, s *yamux.Session, want error) {
	t.Helper()
	if err := s.Err(); !errors.Is(err, want) {
		t.Errorf("fed session: Err() = %v, want an error matching %v", err, want)
	}
	t.Logf("handling the header allocated %d B (bound %d B)", alloc, bound)
	if alloc >= bound {
		t.Errorf("handling the header allocated %d B, want < %d", alloc, bound)
	}
}

// hostileTally is a sink for the attacker's view of bulk transfers: per
// stream, the DATA bytes our session sent (and their SHA-256), its FIN,
// ACK and RST frames. Other frames go to the queue.
type hostileTally struct {
	mu   sync.Mutex
	data map[uint32]*hostileStreamTally
}

type hostileStreamTally struct {
	n             int64
	sum           hash.Hash
	fin, ack, rst int
}

func newHostileTally() *hostileTally {
	return &hostileTally{data: make(map[uint32]*hostileStreamTally)}
}

// sink counts stream frames for ids >= from (the attacker's streams).
func (ty *hostileTally) sink(from uint32) func(rawFrame) bool {
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
			st = &hostileStreamTally{sum: sha256.New()}
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

func (ty *hostileTally) get(id uint32) hostileStreamTally {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if st := ty.data[id]; st != nil {
		return *st
	}
	return hostileStreamTally{sum: sha256.New()}
}

// hostileServeStream is our application on one accepted stream: it reads
// everything until EOF and checks it against the pattern at inOff, and
// concurrently writes out bytes of the pattern at outOff, then CloseWrite.
func hostileServeStream(t testing.TB, st *yamux.Stream, in, inOff, out, outOff int64) <-chan struct{} {
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
		if sum, want := sha256.Sum256(got), hostileSum(inOff, in); int64(len(got)) != in || sum != want {
			t.Errorf("stream %d: read %d B with sha256 %x, want %d B with %x", st.StreamID(), len(got), sum, in, want)
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 16<<10)
		for off := int64(0); off < out; {
			k := min(int64(len(buf)), out-off)
			if _, err := st.Write(hostilePattern(buf[:k], outOff+off)); err != nil {
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

// hostileIdleStreamBytes measures streamOverhead: the heap growth per idle
// accepted stream, over n streams.
func hostileIdleStreamBytes(t *testing.T, n int) (perStream int64) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		cfg.AcceptBacklog = n
		cfg.MaxIncomingStreams = n
		c := newHostileFeedConn()
		s, err := yamux.Server(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pong := frame.New(frame.TypePing, frame.FlagACK, 0, 1)
		c.give(s, pong[:])
		held := make([]*yamux.Stream, 0, n)
		syns := make([]byte, 0, n*frame.HeaderSize)
		for i := range n {
			syns = hostileAppend(syns, frame.TypeWindowUpdate, frame.FlagSYN, uint32(1+2*i), 0, nil)
		}
		synctest.Wait()
		heap0 := hostileHeap()
		if !c.give(s, syns) {
			t.Fatalf("session ended: %v", s.Err())
		}
		for range n {
			st, err := s.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, st)
		}
		synctest.Wait()
		perStream = (hostileHeap() - heap0) / int64(len(held))
	})
	return perStream
}

// hostileIdleSessionBytes measures what a session holds before any attack:
// the Session, its read buffer, its send ring (allocated on the first
// DATA) and one stream.
func hostileIdleSessionBytes(t *testing.T) (n int64) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		synctest.Wait()
		heap0 := hostileHeap()
		c := newHostileFeedConn()
		s, err := yamux.Server(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pong := frame.New(frame.TypePing, frame.FlagACK, 0, 1)
		c.give(s, hostileAppend(pong[:], frame.TypeWindowUpdate, frame.FlagSYN, 1, 0, nil))
		st, err := s.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		hostileWrite(t, st, []byte("x"))
		synctest.Wait()
		n = hostileHeap() - heap0
	})
	return n
}
