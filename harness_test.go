package yamux_test

// The shared test harness: the transport matrix and one session-pair
// builder over it, one deterministic data pattern, one tracker for calls
// that are expected to block, and the measurements and stream helpers
// every test file uses. The frame-level peer is in rawpeer_test.go, the
// hostile peer built on it in hostile_peer_test.go, the TCP fault proxy
// in faultproxy_test.go.

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Sizes, for readable figures.
const (
	kib = 1024
	mib = 1024 * kib
	gib = 1024 * mib
)

// guard bounds every wait for something that should happen. It is a
// failure guard, never a sleep: inside a bubble it is fake time and costs
// nothing when the awaited event happens.
const guard = 5 * time.Second

// testConfig is DefaultConfig; tests that need other timings set them.
func testConfig() *yamux.Config {
	return yamux.DefaultConfig()
}

// --- Transports -----------------------------------------------------------

// pairFunc makes a connected pair of conns.
type pairFunc = func(testing.TB) (net.Conn, net.Conn)

// transport is one entry of the matrix.
type transport struct {
	name string
	pair pairFunc
}

// memPair is a buffered in-memory connection; usable inside synctest bubbles.
func memPair(t testing.TB) (net.Conn, net.Conn) {
	a, b := memconn.Pipe()
	return a, b
}

// tcpPair is a real loopback TCP connection (never inside synctest bubbles:
// sockets are not durably blocking).
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return dialAccept(t, ln, ln.Addr().String())
}

// dialAccept dials addr, on ln's network, and returns that conn and the
// one ln accepts (the dial may reach ln through a proxy).
func dialAccept(t testing.TB, ln net.Listener, addr string) (client, server net.Conn) {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err := net.Dial(ln.Addr().Network(), addr)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		client.Close()
		t.Fatal(r.err)
	}
	return client, r.c
}

// unixPair is a connected pair of Unix stream sockets: a kernel socket
// like TCP's but without its segments, where a Read holding the read role
// reads bodies and headers together (readv_linux.go) the same way.
func unixPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "yamux") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return dialAccept(t, ln, ln.Addr().String())
}

// pipePair is net.Pipe: unbuffered, every Write waits for the peer's Read.
// It is the hardest transport for liveness (two sessions that both stop
// reading while they write deadlock it); tests that are about that use it.
func pipePair(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	return a, b
}

// transports is the matrix behavioural tests run over: memconn (inside a
// synctest bubble where forEachTransport runs it), TCP loopback and Unix
// stream sockets.
var transports = []transport{
	{"mem", memPair},
	{"tcp", tcpPair},
	{"unix", unixPair},
}

// pipeTransport is net.Pipe, for tests where an unbuffered conn matters;
// pass it to forEachTransport as an extra.
var pipeTransport = transport{"pipe", pipePair}

// forEachTransport runs fn once per transport, and per extra one: memconn
// inside a synctest bubble (fake == true: time is fake and synctest.Wait
// may be used), every other transport on real time outside bubbles.
func forEachTransport(t *testing.T, fn func(t *testing.T, pair pairFunc, fake bool), extra ...transport) {
	t.Helper()
	for _, tr := range append(transports[:len(transports):len(transports)], extra...) {
		t.Run(tr.name, func(t *testing.T) {
			if tr.name == "mem" {
				synctest.Test(t, func(t *testing.T) { fn(t, tr.pair, true) })
				return
			}
			fn(t, tr.pair, false)
		})
	}
}

// memOf returns the *memconn.Conn behind c.
func memOf(t testing.TB, c net.Conn) *memconn.Conn {
	t.Helper()
	mc, ok := c.(*memconn.Conn)
	if !ok {
		t.Fatalf("conn is %T, want *memconn.Conn", c)
	}
	return mc
}

// --- Session pairs ----------------------------------------------------------

// sessions is a client/server session pair with the conns under them.
type sessions struct {
	client, server *yamux.Session
	cconn, sconn   net.Conn
}

// sessionsOn starts a client session on c1 and a server session on c2;
// cleanup closes both sessions and both conns. Every session pair of the
// tests is made here.
func sessionsOn(t testing.TB, c1, c2 net.Conn, ccfg, scfg *yamux.Config) (client, server *yamux.Session) {
	t.Helper()
	client, err := yamux.Client(c1, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err = yamux.Server(c2, scfg)
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
	return client, server
}

// startSessions starts a session pair over a new pair of conns.
func startSessions(t testing.TB, pair pairFunc, ccfg, scfg *yamux.Config) sessions {
	t.Helper()
	c1, c2 := pair(t)
	client, server := sessionsOn(t, c1, c2, ccfg, scfg)
	return sessions{client: client, server: server, cconn: c1, sconn: c2}
}

// sessionPair is startSessions for tests that need only the sessions.
func sessionPair(t testing.TB, pair pairFunc, ccfg, scfg *yamux.Config) (client, server *yamux.Session) {
	t.Helper()
	p := startSessions(t, pair, ccfg, scfg)
	return p.client, p.server
}

// memSessions is sessionPair over memconn with the default config; inside a
// synctest bubble it runs on fake time.
func memSessions(t testing.TB) (client, server *yamux.Session) {
	return sessionPair(t, memPair, testConfig(), testConfig())
}

// warmUp pings both ways. Afterwards no frame is in flight between the two
// sessions, so closing a conn is seen by the peer as a clean EOF even on TCP.
func warmUp(t testing.TB, p sessions) {
	t.Helper()
	for _, s := range []*yamux.Session{p.client, p.server} {
		if _, err := s.Ping(); err != nil {
			t.Fatalf("Ping before the test: %v, want nil", err)
		}
	}
}

// streamPair opens a stream on the client and accepts it on the server.
func streamPair(t testing.TB, p sessions) (c, s *yamux.Stream) {
	t.Helper()
	c, err := p.client.OpenStream()
	if err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	s, err = p.server.AcceptStreamContext(ctx)
	if err != nil {
		t.Fatalf("AcceptStream: %v", err)
	}
	if c.StreamID() != s.StreamID() {
		t.Fatalf("accepted stream %d, want %d", s.StreamID(), c.StreamID())
	}
	return c, s
}

// waitClosed fails the test if s does not end within d (real or fake time).
func waitClosed(t testing.TB, s *yamux.Session, d time.Duration) {
	t.Helper()
	select {
	case <-s.CloseChan():
	case <-time.After(d):
		t.Fatalf("session not closed after %v", d)
	}
}

// --- The data pattern -------------------------------------------------------

// pattern fills b with the bytes found at offset off of one endless,
// deterministic byte stream and returns b. Any piece can be recomputed
// from its offset, neighbouring bytes differ, so a lost, duplicated or
// reordered frame shows; streams that must carry different data use
// offsets far apart (patternBytes's seed).
func pattern(b []byte, off int64) []byte {
	for i := range b {
		x := uint64(off+int64(i)) * 0x9E3779B97F4A7C15
		b[i] = byte(x >> 56)
	}
	return b
}

// patternBytes returns n pattern bytes of the piece numbered seed (offset
// seed << 32).
func patternBytes(seed uint64, n int) []byte {
	return pattern(make([]byte, n), int64(seed<<32))
}

// patternSum is the sha256 of n pattern bytes starting at offset off.
func patternSum(off, n int64) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 32*1024)
	for n > 0 {
		k := min(n, int64(len(buf)))
		h.Write(pattern(buf[:k], off))
		off += k
		n -= k
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// --- Calls expected to block ------------------------------------------------

// callResult is how a call run by goCall or startCall ended.
type callResult struct {
	name string
	err  error
	at   time.Time // when it returned
}

// pendingCall is a call running in its own goroutine that the test
// expects to block until something happens.
type pendingCall struct {
	name string
	done chan struct{}
	res  callResult
}

// startCall runs call in a new goroutine.
func startCall(name string, call func() error) *pendingCall {
	c := &pendingCall{name: name, done: make(chan struct{})}
	go func() {
		err := call()
		c.res = callResult{name: name, err: err, at: time.Now()}
		close(c.done)
	}()
	return c
}

// result waits for c to return, however long that takes, and returns how.
func (c *pendingCall) result() callResult {
	<-c.done
	return c.res
}

// goCall is startCall for a call the test names when it waits.
func goCall(call func() error) *pendingCall { return startCall("", call) }

// waitCall returns the outcome of c, failing the test if it has not
// returned within guard.
func waitCall(t testing.TB, c *pendingCall, what string) callResult {
	t.Helper()
	return waitCallFor(t, c, what, guard)
}

// waitCallFor is waitCall with guard d.
func waitCallFor(t testing.TB, c *pendingCall, what string, d time.Duration) callResult {
	t.Helper()
	select {
	case <-c.done:
		return c.res
	case <-time.After(d):
		t.Fatalf("%s: still blocked after %v, want it to return", what, d)
		return callResult{}
	}
}

// expectBlocked fails the test if c has already returned.
func expectBlocked(t testing.TB, c *pendingCall, what string) {
	t.Helper()
	select {
	case <-c.done:
		t.Fatalf("%s returned early (err %v), want it still blocked", what, c.res.err)
	default:
	}
}

// expectUnblocked asserts every call returned within d of since, with an
// error matching each of want.
func expectUnblocked(t testing.TB, since time.Time, d time.Duration, calls []*pendingCall, want ...error) {
	t.Helper()
	for _, c := range calls {
		<-c.done
		if took := c.res.at.Sub(since); took > d {
			t.Errorf("%s returned %v after the fatal frame, want <= %v", c.name, took, d)
		}
		for _, w := range want {
			if !errors.Is(c.res.err, w) {
				t.Errorf("%s returned %v, want an error matching %v", c.name, c.res.err, w)
			}
		}
	}
}

// waitGroup waits for wg, failing the test (without returning) if that
// takes longer than d; goleak then names the stuck goroutines.
func waitGroup(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %v", what, d)
	}
}

// poll calls cond every millisecond until it holds or within passes, and
// reports whether it held and how long that took. For conditions on real
// time that no event announces (heap, file descriptors).
func poll(within time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		if cond() {
			return true, time.Since(start)
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return cond(), time.Since(start)
		}
	}
}

// --- Errors -----------------------------------------------------------------

// asSessionError returns err as a *SessionError, failing the test otherwise.
func asSessionError(t testing.TB, err error) *yamux.SessionError {
	t.Helper()
	var se *yamux.SessionError
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want a *yamux.SessionError", err, err)
	}
	return se
}

// asStreamError returns err as a *StreamError, failing the test otherwise.
func asStreamError(t testing.TB, err error) *yamux.StreamError {
	t.Helper()
	var se *yamux.StreamError
	if !errors.As(err, &se) || !errors.Is(err, yamux.ErrStreamReset) {
		t.Fatalf("got error %v (%T), want a *yamux.StreamError matching ErrStreamReset", err, err)
	}
	return se
}

// expectStreamError checks that err is a reset of stream id with the
// given code and origin.
func expectStreamError(t testing.TB, err error, id, code uint32, remote bool) {
	t.Helper()
	se := asStreamError(t, err)
	if se.StreamID != id || se.Code != code || se.Remote != remote {
		t.Fatalf("StreamError = {StreamID: %d, Code: %#x, Remote: %v}, want {%d, %#x, %v}",
			se.StreamID, se.Code, se.Remote, id, code, remote)
	}
}

// expectTimeout checks that err is a deadline error in every form the API
// promises: a net.Error with Timeout() true matching os.ErrDeadlineExceeded
// and yamux.ErrTimeout.
func expectTimeout(t testing.TB, err error, what string) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%s error = %v (%T), want a net.Error with Timeout() true", what, err, err)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, yamux.ErrTimeout) {
		t.Errorf("%s error = %v, want it to match os.ErrDeadlineExceeded and yamux.ErrTimeout", what, err)
	}
}

// --- Stream I/O -------------------------------------------------------------

// writeAll writes b on st and fails the test unless all of it went.
func writeAll(t testing.TB, st *yamux.Stream, b []byte) {
	t.Helper()
	if n, err := st.Write(b); n != len(b) || err != nil {
		t.Fatalf("stream %d: Write(%d B) = %d, %v; want %d, nil", st.StreamID(), len(b), n, err, len(b))
	}
}

// readN reads exactly n bytes from st.
func readN(t testing.TB, st *yamux.Stream, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(st, b); err != nil {
		t.Fatalf("reading %d bytes from stream %d: %v", n, st.StreamID(), err)
	}
	return b
}

// expectRead reads len(want) bytes from st and compares them.
func expectRead(t testing.TB, st *yamux.Stream, want string) {
	t.Helper()
	if got := readN(t, st, len(want)); string(got) != want {
		t.Fatalf("stream %d read %q, want %q", st.StreamID(), got, want)
	}
}

// expectNoEOF checks that st has nothing to read and is not at EOF: a Read
// with a short deadline times out.
func expectNoEOF(t testing.TB, st *yamux.Stream) {
	t.Helper()
	st.SetReadDeadline(time.Now().Add(time.Second))
	defer st.SetReadDeadline(time.Time{})
	if n, err := st.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want a timeout (no data, no EOF)", n, err)
	}
}

// expectEOF checks that Read returns 0, io.EOF.
func expectEOF(t testing.TB, st *yamux.Stream) {
	t.Helper()
	if n, err := st.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 0, io.EOF", n, err)
	}
}

// expectState checks st.State(), failing the test at once.
func expectState(t testing.TB, st *yamux.Stream, want yamux.StreamState) {
	t.Helper()
	if got := st.State(); got != want {
		t.Fatalf("stream %d State() = %v, want %v", st.StreamID(), got, want)
	}
}

// checkState is expectState that goes on after a mismatch; who names the
// end in the message.
func checkState(t testing.TB, st *yamux.Stream, who string, want yamux.StreamState) {
	t.Helper()
	if got := st.State(); got != want {
		t.Errorf("%s State() = %v, want %v", who, got, want)
	}
}

// serveStreams runs handle on every stream s accepts, each in its own
// goroutine, until the session ends. The WaitGroup covers the accept loop
// and every handler: Wait for it after closing the session.
func serveStreams(s *yamux.Session, handle func(*yamux.Stream)) *sync.WaitGroup {
	wg := new(sync.WaitGroup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			st, err := s.AcceptStream()
			if err != nil {
				return
			}
			wg.Go(func() { handle(st) })
		}
	}()
	return wg
}

// serveEcho echoes every stream accepted on s, then closes its write side,
// until the session ends.
func serveEcho(s *yamux.Session) {
	serveStreams(s, func(st *yamux.Stream) {
		io.Copy(st, st)
		st.CloseWrite()
	})
}

// echoUntilError copies st back to itself until an error and returns it.
func echoUntilError(st *yamux.Stream) error {
	buf := make([]byte, 16*1024)
	for {
		n, err := st.Read(buf)
		if n > 0 {
			if _, werr := st.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

// echoThenCloseWrite echoes st until EOF, then closes its write side.
func echoThenCloseWrite(st *yamux.Stream) error {
	if err := echoUntilError(st); err != io.EOF {
		return err
	}
	return st.CloseWrite()
}

// --- Measurements -----------------------------------------------------------

// heapBytes returns the bytes of live heap objects after two GCs (the
// second clears sync.Pool victim caches), as runtime/metrics reports them,
// less what the spare lists hold.
func heapBytes() int64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	// Not the spare lists: a process-wide cache of buffers no session
	// holds (at most 16 send rings and 16 receive chunks), filled by
	// whichever session drained one last. Whether an earlier test left
	// a ring there or the one measured draws a new one is not what the
	// session costs (with it, TestR01_SynFlood counted a fresh 256 KiB
	// ring in some orders of the shuffled tests).
	return int64(s[0].Value.Uint64()) - yamux.SpareBytes()
}

// allocatedBytes returns the bytes allocated so far by the whole process.
// ReadMemStats flushes the per-P caches, so the count is exact
// (runtime/metrics counts small objects a span at a time).
func allocatedBytes() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// bubbleGoroutines counts the goroutines of the caller's synctest bubble
// (outside a bubble: runtime.NumGoroutine). runtime.NumGoroutine alone is
// process-wide, so it also counts the runner goroutines of tests and
// subtests that are still exiting, which makes "back to baseline" checks
// flaky; goroutine dumps name each goroutine's bubble.
func bubbleGoroutines() int {
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

// warmGoroutines starts and ends n goroutines, so that goroutines started
// later reuse their descriptors: the runtime never frees a dead
// goroutine's g struct (about 512 B of heap), nor the sleep timer it
// allocates on its first time.Sleep, which would otherwise show as heap
// growth after a test's own goroutines have ended. Inside a bubble.
func warmGoroutines(n int) {
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

// openFDs counts this process's open file descriptors (-1 if unknown).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// inMiB formats a byte count for messages.
func inMiB(n int64) float64 { return float64(n) / mib }
