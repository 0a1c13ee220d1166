package yamux_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// The property/model test of docs/hostile-peers.md R24. Each case is a random
// program of stream operations on both ends of a client/server session pair
// (random configs, a small memconn to stress back-pressure), run inside a
// synctest bubble: a deadlock is reported instead of hanging, and time is
// fake. A model follows every stream and checks after each operation:
//
//   - per stream and direction, the bytes read are exactly a prefix of the
//     bytes written (in order, no duplicates, no loss); after the writer's
//     CloseWrite a reader that reads until io.EOF got all of them;
//   - a Reset makes later Reads and Writes of that end fail with
//     ErrStreamReset, and once the RST has arrived (the bubble settled) the
//     other end's too; no bytes are read after a reset error;
//   - half-close: after CloseWrite, Write fails with ErrStreamClosed and
//     reads continue; after Close, Read fails with ErrStreamClosed;
//   - AcceptStream hands out the peer's streams in the order they were
//     opened, and nothing else;
//   - a session Close flushes what was written: the peer reads it all
//     (when it ends by reading EOF rather than by a failed write).
//
// A seed fixes a case's configuration and program of operations; the
// scheduling of the session goroutines is not fixed, so replay a failing
// seed many times. To run more cases, other seeds, or one case:
//
//	go test -run '^TestR24_PropertyStreams$' -property.cases=100000 .
//	go test -run '^TestR24_PropertyStreams$' -property.first=50000 .
//	go test -run '^TestR24_PropertyStreams$' -property.seed=1234 -count=200 .
var (
	propCasesFlag = flag.Int("property.cases", 0,
		fmt.Sprintf("number of random cases of TestR24_PropertyStreams (0: %d, or %d with -short)", propDefaultCases, propDefaultCases/10))
	propSeedFlag = flag.Int64("property.seed", -1, "run only this case of TestR24_PropertyStreams")
	propFirst    = flag.Int64("property.first", 0, "seed of the first case of TestR24_PropertyStreams")
)

// propDefaultCases keeps TestR24_PropertyStreams under 20 s with -race on two
// busy cores (about 16 s measured; 3000 cases take about 4 s without -race,
// and 10,000 about 12 s).
const propDefaultCases = 3000

func TestR24_PropertyStreams(t *testing.T) {
	first, n := *propFirst, int64(propDefaultCases)
	if testing.Short() {
		n /= 10
	}
	if *propCasesFlag > 0 {
		n = int64(*propCasesFlag)
	}
	if *propSeedFlag >= 0 {
		first, n = *propSeedFlag, 1
	}
	for seed := first; seed < first+n; seed++ {
		propRunSeed(t, seed)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cases passed (seeds %d..%d)", n, first, first+n-1)
}

// propRunSeed runs one case; should the bubble panic (a deadlock), it says
// which seed before the panic goes on.
func propRunSeed(t *testing.T, seed int64) {
	ok := false
	defer func() {
		if !ok && !t.Failed() {
			fmt.Fprintf(os.Stderr, "TestR24_PropertyStreams: case %d panicked; replay with -property.seed=%d\n", seed, seed)
		}
	}()
	synctest.Test(t, func(t *testing.T) {
		c := newPropCase(t, seed)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("case %d: %s\nops:\n%s\nreplay: go test -run '^TestR24_PropertyStreams$' -property.seed=%d -count=200 .",
					seed, c.desc, c.traceString(), seed)
			}
		})
		c.run()
	})
	ok = true
}

// propOpDeadline bounds each operation of the random phase (fake time).
const propOpDeadline = time.Millisecond

// propTable is the data every writer sends: a stream direction sends the
// table from its own starting point, so any lost, repeated or reordered
// byte shows up as a mismatch.
// It is made on first use, so other tests do not pay for it.
var propTable = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(24, 24))
	b := make([]byte, propTableLen)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
})

const propTableLen = 1<<20 + 4099

// propFill writes the bytes at offsets off.. of the direction with key.
func propFill(dst []byte, key, off uint64) {
	for len(dst) > 0 {
		at := (key + off) % propTableLen
		n := copy(dst, propTable()[at:])
		dst, off = dst[n:], off+uint64(n)
	}
}

// propData returns the n bytes the direction with key sends at off:
// straight from the table when they do not wrap around (Write only reads
// its argument), which spares the allocations that dominate under -race.
func (c *propCase) propData(key, off uint64, n int, fresh bool) []byte {
	at := (key + off) % propTableLen
	if int(at)+n <= propTableLen {
		return propTable()[at : int(at)+n : int(at)+n]
	}
	var b []byte
	if fresh {
		b = make([]byte, n)
	} else {
		if cap(c.buf) < n {
			c.buf = make([]byte, n)
		}
		b = c.buf[:n]
	}
	propFill(b, key, off)
	return b
}

// propMatch reports whether b is what the direction with key sends at off.
func propMatch(b []byte, key, off uint64) bool {
	for len(b) > 0 {
		at := (key + off) % propTableLen
		n := min(len(b), propTableLen-int(at))
		if !bytes.Equal(b[:n], propTable()[at:at+uint64(n)]) {
			return false
		}
		b, off = b[n:], off+uint64(n)
	}
	return true
}

// propEnd is the model of one end of a stream.
type propEnd struct {
	st   *yamux.Stream // nil until accepted
	side int           // index of the session it belongs to
	key  uint64        // data key of the direction this end writes

	written    uint64 // bytes this end's Writes returned as written
	async      *propAsync
	wroteFIN   bool // CloseWrite or Close was called
	readClosed bool // Close or CloseRead was called
	resetKnown bool // this end is known to be Reset: Read and Write must fail with ErrStreamReset

	read  uint64 // bytes this end read
	eofAt int64  // read count when io.EOF was first seen, -1 before
}

// propAsync is a Write running in its own goroutine, without deadline.
type propAsync struct {
	n    int
	done chan propWriteResult
}

type propWriteResult struct {
	k   int
	err error
}

// propStream is the model of one stream. ends[0] belongs to the opener.
type propStream struct {
	idx  int
	ends [2]*propEnd
	// resetAny: some end's Reset took effect; ErrStreamReset is possible
	// anywhere on the stream from then on.
	resetAny bool
	// finBeforeReset: the resetting end had sent FIN before its Reset, so
	// the other end may legitimately have become FullyClosed instead.
	finBeforeReset bool
}

func (ps *propStream) other(e *propEnd) *propEnd {
	if ps.ends[0] == e {
		return ps.ends[1]
	}
	return ps.ends[0]
}

type propCase struct {
	t    *testing.T
	seed int64
	rng  *rand.Rand
	desc string

	sess     [2]*yamux.Session // [0] client, [1] server
	streams  []*propStream
	accepts  [2][]*propStream // per side: streams the other side opened, not yet accepted
	buf      []byte           // Write data that wraps around the table
	rbuf     []byte           // Read buffer
	trace    []string
	start    time.Time
	maxWrite int
}

func (c *propCase) tracef(format string, args ...any) {
	c.trace = append(c.trace, fmt.Sprintf(format, args...))
}

func (c *propCase) traceString() string {
	const keep = 60
	tr := c.trace
	prefix := ""
	if len(tr) > keep {
		prefix = fmt.Sprintf("  … %d earlier\n", len(tr)-keep)
		tr = tr[len(tr)-keep:]
	}
	return prefix + "  " + strings.Join(tr, "\n  ")
}

// fail reports a model violation with the operation that showed it.
func (c *propCase) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("case %d, op %d: %s", c.seed, len(c.trace), fmt.Sprintf(format, args...))
}

// propConfig draws a session config: windows 256 KiB..4 MiB (grown up to
// 8 MiB), messages 1..64 KiB; keepalive off and the stream timers far away, so that a stall
// shows up as a deadlock (or as fake time running away) instead of being
// papered over by a timer.
func propConfig(r *rand.Rand) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.EnableKeepAlive = false
	cfg.StreamOpenTimeout = 1000 * time.Hour
	cfg.StreamCloseTimeout = 1000 * time.Hour
	cfg.ConnectionWriteTimeout = 1000 * time.Hour
	// Half the sessions keep the minimum window, so that writes often
	// outrun it and flow control (blocked writers, window updates) is
	// exercised; the others draw a larger one.
	cfg.InitialStreamWindowSize = 256 << 10
	if r.IntN(2) == 0 {
		cfg.InitialStreamWindowSize += uint32(r.IntN(3840<<10 + 1))
	}
	cfg.MaxStreamWindowSize = cfg.InitialStreamWindowSize
	if r.IntN(2) == 0 {
		cfg.MaxStreamWindowSize += uint32(r.IntN(4 << 20))
	}
	cfg.MaxMessageSize = 1<<10 + r.IntN(63<<10+1)
	return cfg
}

func newPropCase(t *testing.T, seed int64) *propCase {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5EED))
	c := &propCase{t: t, seed: seed, rng: r}
	ccfg, scfg := propConfig(r), propConfig(r)
	capacity := 1<<10 + r.IntN(63<<10+1)
	c.maxWrite = []int{4 << 10, 64 << 10, 300 << 10, 600 << 10}[r.IntN(4)]
	c.desc = fmt.Sprintf("memconn capacity %d; client window %d..%d msg %d; server window %d..%d msg %d; writes up to %d",
		capacity, ccfg.InitialStreamWindowSize, ccfg.MaxStreamWindowSize, ccfg.MaxMessageSize,
		scfg.InitialStreamWindowSize, scfg.MaxStreamWindowSize, scfg.MaxMessageSize, c.maxWrite)
	a, b := memconn.PipeWith(memconn.Options{Capacity: capacity})
	var err error
	if c.sess[0], err = yamux.Client(a, ccfg); err != nil {
		t.Fatal(err)
	}
	if c.sess[1], err = yamux.Server(b, scfg); err != nil {
		t.Fatal(err)
	}
	c.start = time.Now()
	// On failure, end the sessions so that every goroutine of the bubble
	// returns.
	t.Cleanup(func() {
		c.sess[0].Close()
		c.sess[1].Close()
	})
	return c
}

func (c *propCase) run() {
	ops := 4 + c.rng.IntN(40)
	sessionClose := c.rng.IntN(8) == 0
	for range ops {
		c.step()
		if c.rng.IntN(4) == 0 {
			c.settle()
		}
	}
	if sessionClose {
		c.finishBySessionClose()
	} else {
		c.finish()
	}
	if d := time.Since(c.start); d > 10*time.Minute {
		c.fail("the case took %v of fake time: something stalled until a far-away timer fired", d)
	}
}

// step runs one random operation.
func (c *propCase) step() {
	r := c.rng
	side := r.IntN(2)
	switch k := r.IntN(100); {
	case k < 10 || len(c.streams) == 0:
		c.open(side)
	case k < 20:
		c.accept(side)
	default:
		e, ps := c.pickEnd()
		if e == nil {
			c.accept(side)
			return
		}
		switch k := r.IntN(100); {
		case k < 40:
			c.write(ps, e)
		case k < 75:
			c.read(ps, e)
		case k < 83:
			c.closeWrite(ps, e)
		case k < 88:
			c.close(ps, e)
		case k < 91:
			c.closeRead(ps, e)
		default:
			c.reset(ps, e)
		}
	}
}

// pickEnd picks a random stream end that exists (has been accepted).
func (c *propCase) pickEnd() (*propEnd, *propStream) {
	for range 4 {
		ps := c.streams[c.rng.IntN(len(c.streams))]
		if e := ps.ends[c.rng.IntN(2)]; e.st != nil {
			return e, ps
		}
	}
	return nil, nil
}

func (c *propCase) open(side int) {
	ctx, cancel := context.WithTimeout(context.Background(), propOpDeadline)
	defer cancel()
	st, err := c.sess[side].OpenStreamContext(ctx)
	c.tracef("side %d: OpenStream() = %v, %v", side, propID(st), err)
	if err != nil {
		c.fail("OpenStream on side %d: %v, want a stream", side, err)
	}
	idx := len(c.streams)
	ps := &propStream{idx: idx}
	ps.ends[0] = &propEnd{st: st, side: side, key: uint64(idx) * 2 * 7919, eofAt: -1}
	ps.ends[1] = &propEnd{side: 1 - side, key: (uint64(idx)*2 + 1) * 7919, eofAt: -1}
	c.streams = append(c.streams, ps)
	c.accepts[1-side] = append(c.accepts[1-side], ps)
}

func propID(st *yamux.Stream) any {
	if st == nil {
		return "nil"
	}
	return st.StreamID()
}

// accept takes the next stream the other side opened; with none pending it
// checks that AcceptStream does not invent one.
func (c *propCase) accept(side int) {
	ctx, cancel := context.WithTimeout(context.Background(), propOpDeadline)
	defer cancel()
	st, err := c.sess[side].AcceptStreamContext(ctx)
	c.tracef("side %d: AcceptStream() = %v, %v", side, propID(st), err)
	if len(c.accepts[side]) == 0 {
		if !errors.Is(err, context.DeadlineExceeded) {
			c.fail("AcceptStream on side %d with no stream opened = %v, %v; want context.DeadlineExceeded", side, propID(st), err)
		}
		return
	}
	ps := c.accepts[side][0]
	if err != nil {
		c.fail("AcceptStream on side %d = %v; want stream %d (opened before)", side, err, ps.ends[0].st.StreamID())
	}
	if want := ps.ends[0].st.StreamID(); st.StreamID() != want {
		c.fail("AcceptStream on side %d = stream %d, want %d (streams are accepted in the order they were opened)", side, st.StreamID(), want)
	}
	c.accepts[side] = c.accepts[side][1:]
	ps.ends[1].st = st
}

// writeSize draws a Write size: mostly small, sometimes beyond a window.
func (c *propCase) writeSize() int {
	switch r := c.rng; r.IntN(10) {
	case 0:
		return 0
	case 1, 2, 3, 4:
		return 1 + r.IntN(512)
	case 5, 6, 7:
		return 1 + r.IntN(min(c.maxWrite, 16<<10))
	default:
		return 1 + r.IntN(c.maxWrite)
	}
}

// collect takes the result of e's async Write if it has finished. It
// reports whether no async Write is in flight any more.
func (c *propCase) collect(ps *propStream, e *propEnd) bool {
	if e.async == nil {
		return true
	}
	var res propWriteResult
	select {
	case res = <-e.async.done:
	default:
		return false
	}
	n := e.async.n
	e.async = nil
	c.tracef("stream %d side %d: async Write(%d) = %d, %v", ps.idx, e.side, n, res.k, res.err)
	c.checkWrite(ps, e, n, res.k, res.err, false)
	e.written += uint64(res.k)
	return true
}

func (c *propCase) write(ps *propStream, e *propEnd) {
	if !c.collect(ps, e) {
		return // one Write per end at a time: Write holds a mutex while it blocks
	}
	n := c.writeSize()
	if c.rng.IntN(4) == 0 {
		b := c.propData(e.key, e.written, n, true)
		done := make(chan propWriteResult, 1)
		e.async = &propAsync{n: n, done: done}
		st := e.st
		go func() {
			k, err := st.Write(b)
			done <- propWriteResult{k, err}
		}()
		c.tracef("stream %d side %d: async Write(%d) started", ps.idx, e.side, n)
		return
	}
	b := c.propData(e.key, e.written, n, false)
	e.st.SetWriteDeadline(time.Now().Add(propOpDeadline))
	k, err := e.st.Write(b)
	e.st.SetWriteDeadline(time.Time{})
	c.tracef("stream %d side %d: Write(%d) = %d, %v", ps.idx, e.side, n, k, err)
	c.checkWrite(ps, e, n, k, err, true)
	e.written += uint64(k)
}

// checkWrite judges a Write's result against the model (before it is
// updated). sync says whether the Write was issued now, under the short
// deadline; an async Write was issued earlier and may have raced with
// later CloseWrite or Reset calls.
func (c *propCase) checkWrite(ps *propStream, e *propEnd, n, k int, err error, sync bool) {
	c.t.Helper()
	if k < 0 || k > n {
		c.fail("Write(%d) = %d bytes", n, k)
	}
	closedBefore := sync && (e.resetKnown || e.wroteFIN)
	switch {
	case err == nil:
		if k != n {
			c.fail("Write(%d) = %d, nil; want all bytes when there is no error", n, k)
		}
		if closedBefore {
			c.fail("Write(%d) succeeded on an end that is reset (%v) or write-closed (%v)", n, e.resetKnown, e.wroteFIN)
		}
	case errors.Is(err, yamux.ErrStreamReset):
		if !ps.resetAny {
			c.fail("Write = %v, but nobody reset the stream", err)
		}
		e.resetKnown = true
	case errors.Is(err, yamux.ErrStreamClosed):
		if !e.wroteFIN {
			c.fail("Write = %v before CloseWrite or Close", err)
		}
		if sync && e.resetKnown {
			c.fail("Write on a reset end = %v, want ErrStreamReset", err)
		}
	case errors.Is(err, yamux.ErrTimeout):
		if !sync {
			c.fail("Write without deadline = %v", err)
		}
		if closedBefore {
			c.fail("Write = %v on an end that is reset (%v) or write-closed (%v); want an immediate error", err, e.resetKnown, e.wroteFIN)
		}
	default:
		c.fail("Write = %v, want nil, ErrTimeout, ErrStreamClosed or ErrStreamReset", err)
	}
	if closedBefore && k != 0 {
		c.fail("Write on a reset or write-closed end wrote %d bytes", k)
	}
}

// read reads what is available (until the deadline) and checks it.
func (c *propCase) read(ps *propStream, e *propEnd) {
	e.st.SetReadDeadline(time.Now().Add(propOpDeadline))
	defer e.st.SetReadDeadline(time.Time{})
	c.readUntilError(ps, e, true)
}

// readUntilError reads until Read fails and judges every result.
// deadline says whether a read deadline is set.
func (c *propCase) readUntilError(ps *propStream, e *propEnd, deadline bool) error {
	c.t.Helper()
	peer := ps.other(e)
	if c.rbuf == nil {
		c.rbuf = make([]byte, 32<<10)
	}
	b := c.rbuf
	total := 0
	for {
		n, err := e.st.Read(b)
		if n > 0 {
			switch {
			case e.readClosed:
				c.fail("Read after Close/CloseRead returned %d bytes", n)
			case e.resetKnown:
				c.fail("Read after a reset returned %d bytes", n)
			case e.eofAt >= 0:
				c.fail("Read after io.EOF returned %d bytes", n)
			}
			if !propMatch(b[:n], peer.key, e.read) {
				c.fail("stream %d side %d: Read returned %d bytes that are not the peer's bytes at offset %d (loss, duplication or reordering)",
					ps.idx, e.side, n, e.read)
			}
			e.read += uint64(n)
			total += n
		}
		if err == nil {
			if n == 0 {
				c.fail("Read = 0, nil")
			}
			continue
		}
		c.tracef("stream %d side %d: Read… %d bytes, then %v", ps.idx, e.side, total, err)
		switch {
		case e.readClosed:
			if !errors.Is(err, yamux.ErrStreamClosed) {
				c.fail("Read after Close/CloseRead = %v, want ErrStreamClosed", err)
			}
		case errors.Is(err, yamux.ErrStreamReset):
			if !ps.resetAny {
				c.fail("Read = %v, but nobody reset the stream", err)
			}
			e.resetKnown = true
		case e.resetKnown:
			c.fail("Read on a reset end = %v, want ErrStreamReset", err)
		case err == io.EOF:
			if !peer.wroteFIN {
				c.fail("Read = EOF, but the peer end never called CloseWrite or Close")
			}
			if e.eofAt < 0 {
				e.eofAt = int64(e.read)
			}
		case errors.Is(err, yamux.ErrTimeout) && deadline:
			if e.eofAt >= 0 {
				c.fail("Read after io.EOF = %v, want io.EOF", err)
			}
		case errors.Is(err, yamux.ErrSessionShutdown) && !deadline:
		default:
			c.fail("Read = %v, want data, ErrTimeout, io.EOF or ErrStreamReset", err)
		}
		return err
	}
}

func (c *propCase) closeWrite(ps *propStream, e *propEnd) {
	err := e.st.CloseWrite()
	c.tracef("stream %d side %d: CloseWrite() = %v", ps.idx, e.side, err)
	if err != nil {
		c.fail("CloseWrite = %v, want nil", err)
	}
	e.wroteFIN = true
}

func (c *propCase) close(ps *propStream, e *propEnd) {
	err := e.st.Close()
	c.tracef("stream %d side %d: Close() = %v", ps.idx, e.side, err)
	if err != nil {
		c.fail("Close = %v, want nil", err)
	}
	e.wroteFIN, e.readClosed = true, true
}

func (c *propCase) closeRead(ps *propStream, e *propEnd) {
	err := e.st.CloseRead()
	c.tracef("stream %d side %d: CloseRead() = %v", ps.idx, e.side, err)
	if err != nil {
		c.fail("CloseRead = %v, want nil", err)
	}
	e.readClosed = true
}

func (c *propCase) reset(ps *propStream, e *propEnd) {
	err := e.st.Reset()
	state := e.st.State()
	c.tracef("stream %d side %d: Reset() = %v, state %v", ps.idx, e.side, err, state)
	if err != nil {
		c.fail("Reset = %v, want nil", err)
	}
	switch state {
	case yamux.StateReset:
		if !e.resetKnown {
			ps.finBeforeReset = ps.finBeforeReset || e.wroteFIN
		}
		e.resetKnown = true
		ps.resetAny = true
	case yamux.StateFullyClosed:
		// Both FINs were exchanged first: nothing left to reset.
		if !e.wroteFIN || !ps.other(e).wroteFIN {
			c.fail("after Reset, state %v without both ends' FIN", state)
		}
	default:
		c.fail("after Reset, state %v, want Reset", state)
	}
	if c.rng.IntN(2) == 0 {
		c.settle()
	}
}

// settle lets the bubble run until every goroutine is blocked, then until
// a read role left idle has been taken back (as idleGrace passing would):
// every frame in flight has then been processed, so a RST has reached the
// other end.
func (c *propCase) settle() {
	synctest.Wait()
	for _, s := range c.sess {
		yamux.EndIdleGrace(s)
	}
	synctest.Wait()
	for _, ps := range c.streams {
		if !ps.resetAny {
			continue
		}
		for _, e := range ps.ends {
			if e.st == nil || e.resetKnown {
				continue
			}
			switch state := e.st.State(); state {
			case yamux.StateReset:
				e.resetKnown = true
			case yamux.StateFullyClosed:
				if !e.wroteFIN || !ps.finBeforeReset {
					c.fail("stream %d side %d: after the peer's RST arrived, state %v; want Reset (FullyClosed only if both FINs came first)",
						ps.idx, e.side, state)
				}
			default:
				c.fail("stream %d side %d: after the peer's RST arrived, state %v; want Reset", ps.idx, e.side, state)
			}
		}
	}
}

// finish ends the case gracefully: all pending streams are accepted, every
// writer finishes and half-closes, every reader reads until the end; then
// the model must account for every byte.
func (c *propCase) finish() {
	c.settle()
	for side := range 2 {
		for len(c.accepts[side]) > 0 {
			c.accept(side)
		}
	}
	c.settle()
	c.tracef("finish: every end closes its write side, every reader reads to the end")

	// Every end sends FIN: at once, or after its async Write in a goroutine.
	// Then this goroutine reads every end to the end, one after the other:
	// that cannot deadlock, since the receive loops never wait for the
	// application and each stream's writer needs only its own reader.
	type written struct {
		ps    *propStream
		e     *propEnd
		async *propAsync
		res   propWriteResult
	}
	finished := make(chan written, 2*len(c.streams))
	waits := 0
	for _, ps := range c.streams {
		for _, e := range ps.ends {
			if e.async == nil {
				e.st.CloseWrite()
				e.wroteFIN = true
				continue
			}
			waits++
			async, st := e.async, e.st
			e.async = nil
			e.wroteFIN = true // soon: the reader below may see EOF
			go func() {
				res := <-async.done
				st.CloseWrite()
				finished <- written{ps, e, async, res}
			}()
		}
	}
	for _, ps := range c.streams {
		for _, e := range ps.ends {
			if e.readClosed || e.resetKnown {
				continue
			}
			err := c.readUntilError(ps, e, false)
			switch {
			case err == io.EOF:
			case errors.Is(err, yamux.ErrStreamReset):
			default:
				c.fail("stream %d side %d: reading to the end = %v, want io.EOF (or ErrStreamReset after a Reset)", ps.idx, e.side, err)
			}
		}
	}
	for range waits {
		w := <-finished
		c.tracef("stream %d side %d: async Write(%d) = %d, %v", w.ps.idx, w.e.side, w.async.n, w.res.k, w.res.err)
		c.checkWrite(w.ps, w.e, w.async.n, w.res.k, w.res.err, false)
		w.e.written += uint64(w.res.k)
	}
	for _, ps := range c.streams {
		for _, e := range ps.ends {
			peer := ps.other(e)
			if e.read > peer.written {
				c.fail("stream %d side %d read %d bytes, the peer wrote only %d", ps.idx, e.side, e.read, peer.written)
			}
			if e.eofAt >= 0 && uint64(e.eofAt) != peer.written {
				c.fail("stream %d side %d: io.EOF after %d bytes, the peer wrote %d", ps.idx, e.side, e.eofAt, peer.written)
			}
			if !ps.resetAny && !e.readClosed && e.eofAt < 0 {
				c.fail("stream %d side %d: no io.EOF after the peer's CloseWrite", ps.idx, e.side)
			}
		}
	}
	c.closeSessions()
}

// finishBySessionClose closes one session in the middle of everything:
// every call must return, what the closer wrote must all arrive (Close
// flushes), nothing may arrive twice or out of order.
func (c *propCase) finishBySessionClose() {
	closer := c.rng.IntN(2)
	c.tracef("side %d: session Close()", closer)
	if err := c.sess[closer].Close(); err != nil {
		c.fail("Session.Close = %v, want nil", err)
	}
	synctest.Wait()
	for side, s := range c.sess {
		if !s.IsClosed() {
			c.fail("side %d: session still open after side %d closed", side, closer)
		}
		if _, err := s.OpenStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
			c.fail("side %d: OpenStream after the session ended = %v, want ErrSessionShutdown", side, err)
		}
	}
	for _, ps := range c.streams {
		for _, e := range ps.ends {
			if e.st == nil {
				continue
			}
			if e.async != nil {
				res := <-e.async.done
				n := e.async.n
				e.async = nil
				c.tracef("stream %d side %d: async Write(%d) = %d, %v", ps.idx, e.side, n, res.k, res.err)
				if res.k < 0 || res.k > n || (res.err == nil && res.k != n) {
					c.fail("async Write(%d) = %d, %v; want 0..%d bytes, all of them without error", n, res.k, res.err, n)
				}
				if res.err != nil && !errors.Is(res.err, yamux.ErrSessionShutdown) &&
					!errors.Is(res.err, yamux.ErrStreamReset) && !errors.Is(res.err, yamux.ErrStreamClosed) {
					c.fail("async Write = %v, want ErrSessionShutdown, ErrStreamReset or ErrStreamClosed", res.err)
				}
				e.written += uint64(res.k)
			}
			if _, err := e.st.Write([]byte{1}); err == nil {
				c.fail("stream %d side %d: Write after the session ended succeeded", ps.idx, e.side)
			}
		}
	}
	// The closer flushed everything, then GO_AWAY, then closed the conn.
	// The other side gets it all if it reads until EOF. But if its own
	// write to the closed conn fails first, it ends at once (like a TCP
	// RST) and discards what it had not read yet: then only the prefix
	// property holds.
	gotEOF := errors.Is(c.sess[1-closer].Err(), io.EOF)
	c.tracef("side %d ended with %v", 1-closer, c.sess[1-closer].Err())
	for _, ps := range c.streams {
		for _, e := range ps.ends {
			if e.st == nil || e.readClosed || e.resetKnown {
				continue
			}
			peer := ps.other(e)
			err := c.readUntilError(ps, e, false)
			if err == io.EOF && uint64(e.eofAt) != peer.written {
				c.fail("stream %d side %d: io.EOF after %d bytes, the peer wrote %d", ps.idx, e.side, e.eofAt, peer.written)
			}
			if e.read > peer.written {
				c.fail("stream %d side %d read %d bytes, the peer wrote only %d", ps.idx, e.side, e.read, peer.written)
			}
			if peer.side == closer && !ps.resetAny && gotEOF && e.read != peer.written {
				c.fail("stream %d side %d read %d bytes of the %d the closing side wrote: Close must flush them", ps.idx, e.side, e.read, peer.written)
			}
		}
	}
	c.closeSessions()
}

func (c *propCase) closeSessions() {
	for side, s := range c.sess {
		if err := s.Close(); err != nil {
			c.fail("side %d: Session.Close = %v, want nil", side, err)
		}
		if err := s.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
			c.fail("side %d: Err() = %v, want ErrSessionShutdown", side, err)
		}
	}
}
