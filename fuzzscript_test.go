package yamux_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// FuzzFrameScript is the structured frame-script fuzzer of docs/hostile-peers.md
// R23. The input is decoded (see runScript) into a script: a configuration byte,
// then operations that are either a frame the scripted peer writes (any of
// the four types, occasionally a bad version or type, flag combinations,
// stream ids from a small interesting set, lengths near the window bounds)
// or a call our side makes (OpenStream, AcceptStream, Write, Read,
// CloseWrite, Close, CloseRead, Reset, GoAway, Ping, session Close, fake
// sleeps). It runs inside a synctest bubble over memconn, so time is fake and
// a hang is reported as a deadlock.
//
// While the script runs, a drain goroutine decodes every frame our session
// sends and checks it (scriptChecker): valid version and type, PING and GO_AWAY
// on stream 0 only, DATA/WINDOW_UPDATE never on stream 0, DATA no larger
// than MaxMessageSize and never beyond the window the script granted,
// DATA bytes exactly the bytes our Writes queued, SYNs only on our ids and
// in increasing order, pongs only for the script's pings.
//
// After the script, the peer half-closes; then the session must have ended
// with an error matching ErrSessionShutdown; if it ended because of a
// protocol violation, the last frame we sent must be GO_AWAY(1). synctest
// fails the run if any goroutine is left behind.
//
// Run longer with:
//
//	go test -run '^$' -fuzz '^FuzzFrameScript$' -fuzztime 5m .
func FuzzFrameScript(f *testing.F) {
	for _, s := range scriptSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		synctest.Test(t, func(t *testing.T) { runScript(t, input) })
	})
}

// Opcodes of a script (the low 4 bits of an op's first byte). Peer frames
// take 7 of the 16 values so that most operations put frames on the wire.
const (
	opFrame     = 0 // ..6: the peer sends a frame: type, flags, id, length bytes follow
	opTruncated = 7 // the peer sends part of a frame and the script ends
	opOpen      = 8 // our OpenStreamContext
	opAccept    = 9 // our AcceptStreamContext
	opWrite     = 10
	opRead      = 11
	opStream    = 12 // CloseWrite, Close, Reset, ResetWithError, CloseRead
	opSession   = 13 // GoAway, Ping, Close, CloseWithError, NumStreams
	opSleep     = 14
	opRaw       = 15 // the peer sends a header of 12 input bytes (and a DATA body)
)

// Frame-type selectors for opFrame (the low 3 bits of its type byte).
const (
	selData   = 0 // also 1 and 6
	selWU     = 2 // also 3
	selPing   = 4
	selGoAway = 5
	selBad    = 7 // bit 3 of the byte: bad version, else bad type
)

// Limits that keep one execution small.
const (
	maxOps            = 200
	maxBodyLen        = 512<<10 + 1  // longest DATA body the peer writes in full
	maxWireData       = 8 << 20      // peer DATA bytes per script
	maxWrite          = 256<<10 + 77 // largest Write our side makes
	opDeadline        = time.Millisecond
	scriptPingTimeout = 5 * time.Millisecond
)

// Placeholders in the tables below, never sent as such.
const (
	idLive   uint32 = 0xDEAD // one of our streams' ids
	lenSmall uint32 = 0xBEEF // the next input byte is the length
)

var (
	// scriptIDs are the stream ids a peer frame may use; idLive picks one of
	// our streams instead.
	scriptIDs = [...]uint32{0, 1, 2, 3, 4, 5, 7, idLive, idLive, 6, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF, idLive, 9, 8}

	dataLens = [...]uint32{0, 1, lenSmall, 1024, 64 << 10, 64<<10 + 1, 256<<10 - 1, 256 << 10, 256<<10 + 1,
		512 << 10, 512<<10 + 1, 16<<20 + 1, 0xFFFFFFFF, lenSmall, 16 << 20, 1<<30 + 1}
	wuLens      = [...]uint32{0, 1, 1023, 1024, 64 << 10, 256 << 10, 0x7FFFFFFF, 0xFFFF0000, 0xFFFFFFFF, lenSmall}
	pingLens    = [...]uint32{0, 1, 2, 3, 4, lenSmall, 0xFFFFFFFF}
	goAwayCodes = [...]uint32{0, 1, 2, 0x1005, 0xFFFFFFFF}

	writeLens = [...]int{0, 1, 100, 1024, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, 200 << 10, 256 << 10, maxWrite}
	sleeps    = [...]time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second,
		31 * time.Second, 41 * time.Second, 76 * time.Second, 6 * time.Minute}

	// scriptBody is the body the peer sends in its DATA frames, made on first
	// use so that other tests do not pay for it.
	scriptBody = sync.OnceValue(func() []byte {
		b := make([]byte, maxBodyLen)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	})
)

// scriptPattern is the byte at offset off of what our side writes on stream id,
// so the drain can check every DATA byte without sharing state.
func scriptPattern(id uint32, off uint64) byte {
	return byte(uint32(off)*2654435761>>24) ^ byte(id) ^ byte(off>>16)
}

// scriptInput decodes the fuzz input; reading past its end yields zeros.
type scriptInput struct {
	b []byte
	i int
}

func (in *scriptInput) next() byte {
	if in.i >= len(in.b) {
		return 0
	}
	c := in.b[in.i]
	in.i++
	return c
}

func (in *scriptInput) done() bool { return in.i >= len(in.b) }

// scriptTally is what the script told our session, recorded before each frame
// is written so that the drain, which sees our reaction later, can rely on it.
type scriptTally struct {
	mu sync.Mutex
	// credit per stream id: the sum of WINDOW_UPDATE deltas (RST excluded).
	credit map[uint32]uint64
	// syns per stream id: each SYN may create a new stream with a fresh
	// 256 KiB send window.
	syns map[uint32]uint64
	// pings per value: PING frames with SYN, which we must answer.
	pings map[uint32]int
	// desync: the peer left out a DATA body (see scriptExec.body).
	desync bool
}

func (ta *scriptTally) record(typ frame.Type, fl frame.Flags, id, length uint32) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	switch typ {
	case frame.TypeData, frame.TypeWindowUpdate:
		if fl&frame.FlagSYN != 0 {
			ta.syns[id]++
		}
		if typ == frame.TypeWindowUpdate && fl&frame.FlagRST == 0 {
			ta.credit[id] += uint64(length)
		}
	case frame.TypePing:
		if fl&frame.FlagSYN != 0 {
			ta.pings[length]++
		}
	}
}

// allowance is how many DATA bytes we may have sent on id: 256 KiB per
// incarnation of the stream (ours, plus one per SYN from the script) plus
// all credit. It over-approximates (credit for unknown streams is ignored by
// the session), so it is a sound upper bound.
func (ta *scriptTally) allowance(id uint32) uint64 {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if ta.desync {
		return math.MaxUint64
	}
	return (1+ta.syns[id])*256<<10 + ta.credit[id]
}

// takePing consumes one ping the script sent with value v.
func (ta *scriptTally) takePing(v uint32) bool {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if ta.desync {
		return true
	}
	if ta.pings[v] == 0 {
		return false
	}
	ta.pings[v]--
	return true
}

// scriptChecker decodes and checks the frames our session sends; it runs on
// the drain goroutine and reports with t.Errorf.
type scriptChecker struct {
	t          testing.TB
	tally      *scriptTally
	client     bool // our session is the client: our ids are odd
	maxMsg     uint32
	sent       map[uint32]uint64 // DATA bytes per id
	synSeen    map[uint32]bool   // our ids we sent SYN for
	finSeen    map[uint32]bool   // our ids we sent FIN for
	lastSyn    uint32
	frames     int
	last       frame.Header
	readErr    error
	violations int
}

func (c *scriptChecker) errorf(format string, args ...any) {
	c.t.Helper()
	c.violations++
	if c.violations <= 5 {
		c.t.Errorf("frame #%d %v: "+format, append([]any{c.frames, c.last}, args...)...)
	}
}

func (c *scriptChecker) ours(id uint32) bool { return id != 0 && (id%2 == 1) == c.client }

// drain reads frames until the conn fails, checking each one.
func (c *scriptChecker) drain(r io.Reader) {
	fr := frame.NewReader(r, 1<<30)
	body := make([]byte, 0, 64<<10)
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			// A frame cut short is no protocol error: a session that ends
			// abruptly (peer EOF, keepalive timeout) closes the conn
			// without finishing its write. Nor is a reset: a conn closed
			// while the peer's last frames are still unread is reset, as
			// a kernel does (memconn), and the peer may write at the very
			// instant our session gives up on it. runScript judges both.
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
				c.t.Errorf("decoding our frame #%d: %v (header %v)", c.frames+1, err, h)
			}
			c.readErr = err
			io.Copy(io.Discard, r) // keep our session from blocking
			return
		}
		c.frames++
		c.last = h
		var payload []byte
		if n := h.Length(); h.Type() == frame.TypeData && n > 0 {
			if n > c.maxMsg {
				c.errorf("DATA length %d > MaxMessageSize %d", n, c.maxMsg)
				c.readErr = errors.New("oversized DATA")
				io.Copy(io.Discard, r)
				return
			}
			body = body[:n]
			if _, err := io.ReadFull(r, body); err != nil {
				c.readErr = io.ErrUnexpectedEOF
				io.Copy(io.Discard, r)
				return
			}
			payload = body
		}
		c.check(h, payload)
	}
}

// check judges one frame we sent; body is a DATA frame's payload.
func (c *scriptChecker) check(h frame.Header, body []byte) {
	id, fl, n := h.StreamID(), h.Flags(), h.Length()
	if fl&^(frame.FlagSYN|frame.FlagACK|frame.FlagFIN|frame.FlagRST) != 0 {
		c.errorf("unknown flag bits")
	}
	switch h.Type() {
	case frame.TypePing:
		if id != 0 {
			c.errorf("PING on stream %d, want 0", id)
		}
		switch fl {
		case frame.FlagSYN:
		case frame.FlagACK:
			if !c.tally.takePing(n) {
				c.errorf("pong %d without a matching PING(SYN) from the peer", n)
			}
		default:
			c.errorf("PING flags %v, want SYN or ACK", fl)
		}
		return
	case frame.TypeGoAway:
		if id != 0 {
			c.errorf("GO_AWAY on stream %d, want 0", id)
		}
		if fl != 0 {
			c.errorf("GO_AWAY flags %v, want 0", fl)
		}
		if n > uint32(yamux.CodeInternalError) {
			c.errorf("GO_AWAY code %d, want 0, 1 or 2", n)
		}
		return
	}
	// DATA and WINDOW_UPDATE.
	if id == 0 {
		c.errorf("%v on stream 0", h.Type())
		return
	}
	if fl&frame.FlagSYN != 0 {
		switch {
		case !c.ours(id):
			c.errorf("SYN on the peer's id %d", id)
		case c.synSeen[id]:
			c.errorf("second SYN for id %d", id)
		case id <= c.lastSyn:
			c.errorf("SYN id %d after SYN id %d, want increasing", id, c.lastSyn)
		}
		c.synSeen[id] = true
		c.lastSyn = max(c.lastSyn, id)
	}
	if fl&frame.FlagACK != 0 && c.ours(id) {
		c.errorf("ACK on our own id %d", id)
	}
	if c.ours(id) && !c.synSeen[id] {
		c.errorf("frame on our id %d before its SYN", id)
	}
	if h.Type() == frame.TypeWindowUpdate {
		if fl&frame.FlagFIN != 0 && c.ours(id) {
			c.finSeen[id] = true
		}
		return
	}
	if fl&^frame.FlagACK != 0 {
		c.errorf("DATA flags %v, want at most ACK (SYN, FIN and RST go on WINDOW_UPDATE)", fl)
	}
	if c.ours(id) && c.finSeen[id] {
		c.errorf("DATA on our id %d after its FIN", id)
	}
	off := c.sent[id]
	for i, b := range body {
		if want := scriptPattern(id, off+uint64(i)); b != want {
			c.errorf("DATA byte at stream offset %d of id %d = %#x, want %#x (not what our Writes queued)", off+uint64(i), id, b, want)
			break
		}
	}
	c.sent[id] = off + uint64(n)
	if allowed := c.tally.allowance(id); c.sent[id] > allowed {
		c.errorf("sent %d DATA bytes on id %d, but the peer granted at most %d", c.sent[id], id, allowed)
	}
}

// scriptConfig decodes the configuration byte: our role and session limits.
type scriptConfig struct {
	client   bool
	cfg      *yamux.Config
	capacity int
	// abrupt: the peer's EOF follows the script at once, so frames our
	// session still has queued are dropped; otherwise the bubble settles
	// first and the drain sees (and checks) everything we queued.
	abrupt bool
}

func decodeScriptConfig(b byte) scriptConfig {
	cfg := yamux.DefaultConfig()
	if b&2 != 0 {
		cfg.AcceptBacklog = 2
		cfg.MaxIncomingStreams = 3
	}
	if b&4 != 0 {
		cfg.MaxMessageSize = 1024
	}
	if b&8 != 0 {
		cfg.InitialStreamWindowSize = 512 << 10
	}
	capacity := 64 << 10
	if b&16 != 0 {
		capacity = 4 << 10
	}
	return scriptConfig{client: b&1 != 0, cfg: cfg, capacity: capacity, abrupt: b&32 != 0}
}

// runScript decodes and runs one script; it must run inside a synctest bubble.
func runScript(t *testing.T, input []byte) {
	in := &scriptInput{b: input}
	fc := decodeScriptConfig(in.next())
	ours, peer := memconn.PipeWith(memconn.Options{Capacity: fc.capacity})
	var (
		s   *yamux.Session
		err error
	)
	if fc.client {
		s, err = yamux.Client(ours, fc.cfg)
	} else {
		s, err = yamux.Server(ours, fc.cfg)
	}
	if err != nil {
		t.Fatalf("starting our session: %v", err)
	}
	tally := &scriptTally{credit: map[uint32]uint64{}, syns: map[uint32]uint64{}, pings: map[uint32]int{}}
	chk := &scriptChecker{
		t: t, tally: tally, client: fc.client, maxMsg: uint32(fc.cfg.MaxMessageSize),
		sent: map[uint32]uint64{}, synSeen: map[uint32]bool{}, finSeen: map[uint32]bool{},
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		chk.drain(peer)
	}()

	ex := &scriptExec{in: in, s: s, peer: peer, tally: tally, client: fc.client, written: map[uint32]uint64{}}
	ex.run()
	if !fc.abrupt {
		synctest.Wait()
	}

	// The peer is done: our session must notice the EOF and end.
	peer.CloseWrite()
	synctest.Wait()
	if !s.IsClosed() {
		t.Errorf("session still running after the peer's EOF (script %x)", input)
	}
	s.Close()
	<-drained
	peer.Close()

	sessErr := s.Err()
	var se *yamux.SessionError
	if !errors.As(sessErr, &se) || !errors.Is(sessErr, yamux.ErrSessionShutdown) {
		t.Fatalf("Err() = %v (%T), want a *SessionError matching ErrSessionShutdown", sessErr, sessErr)
	}
	t.Logf("session ended: %v; we sent %d frames, the last %v", sessErr, chk.frames, chk.last)
	if errors.Is(chk.readErr, syscall.ECONNRESET) && chk.last.Type() != frame.TypeGoAway && !abruptEnd(se) {
		// Only a session that gave up on its peer closes without the
		// lingering close; after any other end the peer sees everything
		// we sent, through the GO_AWAY, before a reset (spec.md §6.3).
		t.Errorf("the peer's read was reset after our frame #%d (%v), but the session ended gracefully: %v",
			chk.frames, chk.last, sessErr)
	}
	if errors.Is(sessErr, yamux.ErrProtocol) {
		// A violation is answered with a whole GO_AWAY(1), the last frame.
		last := chk.last
		if chk.frames == 0 || last.Type() != frame.TypeGoAway || last.Length() != uint32(yamux.CodeProtocolError) ||
			(chk.readErr != io.EOF && !errors.Is(chk.readErr, syscall.ECONNRESET)) {
			t.Errorf("session ended with %v; last frame we sent = %v (of %d), then %v; want GO_AWAY(1), then EOF",
				sessErr, last, chk.frames, chk.readErr)
		}
	}
}

// abruptEnd reports whether the session ended by giving up on its peer
// (keepalive or write timeout, a failed read or write), which closes the conn
// at once instead of lingering.
func abruptEnd(se *yamux.SessionError) bool {
	return se.Code == yamux.CodeNormal && (errors.Is(se.Cause, yamux.ErrKeepAliveTimeout) ||
		errors.Is(se.Cause, yamux.ErrConnectionWriteTimeout) || errors.Is(se.Cause, io.EOF) ||
		errors.Is(se.Cause, io.ErrUnexpectedEOF) || errors.Is(se.Cause, syscall.ECONNRESET) ||
		errors.Is(se.Cause, net.ErrClosed))
}

// scriptExec runs the operations of a script on the test goroutine. Our calls
// get short fake-time deadlines, so none of them blocks the script.
type scriptExec struct {
	in       *scriptInput
	s        *yamux.Session
	peer     *memconn.Conn
	tally    *scriptTally
	client   bool
	streams  []*yamux.Stream
	written  map[uint32]uint64 // bytes our Writes queued per id (all incarnations)
	peerData int
	buf      []byte
}

func (ex *scriptExec) run() {
	for n := 0; n < maxOps && !ex.in.done(); n++ {
		op := ex.in.next()
		switch code := op & 15; {
		case code < opTruncated:
			ex.peerFrame()
		case code == opTruncated:
			ex.truncated()
			return
		case code == opOpen:
			ctx, cancel := context.WithTimeout(context.Background(), opDeadline)
			if st, err := ex.s.OpenStreamContext(ctx); err == nil {
				ex.streams = append(ex.streams, st)
			}
			cancel()
		case code == opAccept:
			ctx, cancel := context.WithTimeout(context.Background(), opDeadline)
			if st, err := ex.s.AcceptStreamContext(ctx); err == nil {
				ex.streams = append(ex.streams, st)
			}
			cancel()
		case code == opWrite:
			ex.write()
		case code == opRead:
			ex.read()
		case code == opStream:
			ex.streamOp()
		case code == opSession:
			ex.sessionOp()
		case code == opSleep:
			time.Sleep(sleeps[int(op>>4)%len(sleeps)])
		case code == opRaw:
			ex.rawFrame()
		}
	}
}

// stream picks one of our streams, or nil.
func (ex *scriptExec) stream(sel byte) *yamux.Stream {
	if len(ex.streams) == 0 {
		return nil
	}
	return ex.streams[int(sel)%len(ex.streams)]
}

func (ex *scriptExec) pickID(sel byte) uint32 {
	id := scriptIDs[int(sel)%len(scriptIDs)]
	if id != idLive {
		return id
	}
	if st := ex.stream(sel >> 4); st != nil {
		return st.StreamID()
	}
	if ex.client {
		return 2 // the peer's first id
	}
	return 1
}

func (ex *scriptExec) pickLen(table []uint32, sel byte) uint32 {
	n := table[int(sel)%len(table)]
	if n == lenSmall {
		return uint32(ex.in.next())
	}
	return n
}

// peerFrame writes one frame: 4 parameter bytes (type, flags, id, length).
func (ex *scriptExec) peerFrame() {
	tb, fb, ib, lb := ex.in.next(), ex.in.next(), ex.in.next(), ex.in.next()
	fl := frame.Flags(fb & 15)
	if fb&0x10 != 0 {
		fl |= 0x20 // unknown bits are ignored
	}
	if fb&0x20 != 0 {
		fl |= 0x8000
	}
	id := ex.pickID(ib)
	var (
		typ    frame.Type
		length uint32
	)
	switch tb & 7 {
	case selData, 1, 6:
		typ, length = frame.TypeData, ex.pickLen(dataLens[:], lb)
	case selWU, 3:
		typ, length = frame.TypeWindowUpdate, ex.pickLen(wuLens[:], lb)
	case selPing:
		typ, length = frame.TypePing, ex.pickLen(pingLens[:], lb)
		if tb&8 != 0 {
			id = 0 // mostly where it belongs
		}
	case selGoAway:
		typ, length = frame.TypeGoAway, goAwayCodes[int(lb)%len(goAwayCodes)]
		if tb&8 != 0 {
			id = 0
		}
	case selBad:
		h := frame.New(frame.TypeData, fl, id, 0)
		if tb&8 != 0 {
			h[0] = 1 + tb>>4 // version 1..16
		} else {
			h[1] = 4 + tb>>4 // type 4..19
		}
		ex.peer.Write(h[:])
		return
	}
	ex.tally.record(typ, fl, id, length)
	h := frame.New(typ, fl, id, length)
	if _, err := ex.peer.Write(h[:]); err != nil || typ != frame.TypeData || length == 0 {
		return
	}
	// DATA body: whole when it is small enough, else none (the header alone
	// must be rejected: every such length exceeds any window).
	ex.body(length)
}

// body writes a DATA body of length bytes after its header. A body too
// long to write (every such length exceeds any window we could have
// granted, so the session must reject the header) is left out; should the
// session take the next frames as that body after all, the tally no longer
// describes what it saw, so the tally-based checks are switched off.
func (ex *scriptExec) body(length uint32) {
	if length <= maxBodyLen && ex.peerData+int(length) <= maxWireData {
		ex.peerData += int(length)
		ex.peer.Write(scriptBody()[:length])
		return
	}
	ex.tally.mu.Lock()
	ex.tally.desync = true
	ex.tally.mu.Unlock()
}

// rawFrame writes a header made of 12 input bytes: any version, type, flag
// bits, id and length. A DATA body follows as in peerFrame, so the framing
// stays in step and the tally stays exact.
func (ex *scriptExec) rawFrame() {
	var h frame.Header
	for i := range h {
		h[i] = ex.in.next()
	}
	typ, length := h.Type(), h.Length()
	ex.tally.record(typ, h.Flags(), h.StreamID(), length)
	if _, err := ex.peer.Write(h[:]); err != nil || h.Version() != frame.Version || typ != frame.TypeData || length == 0 {
		return
	}
	ex.body(length)
}

// truncated writes part of a frame; the script ends after it.
func (ex *scriptExec) truncated() {
	ib, lb, cut := ex.in.next(), ex.in.next(), ex.in.next()
	id := ex.pickID(ib)
	length := ex.pickLen(dataLens[:], lb)
	ex.tally.record(frame.TypeData, 0, id, length)
	h := frame.New(frame.TypeData, 0, id, length)
	if int(cut) < frame.HeaderSize {
		ex.peer.Write(h[:cut]) // a header cut short
		return
	}
	ex.peer.Write(h[:])
	ex.peer.Write(scriptBody()[:min(int(cut)-frame.HeaderSize, int(length))])
}

func (ex *scriptExec) write() {
	sb, lb := ex.in.next(), ex.in.next()
	st := ex.stream(sb)
	if st == nil {
		return
	}
	n := writeLens[int(lb)%len(writeLens)]
	id := st.StreamID()
	off := ex.written[id]
	if cap(ex.buf) < n {
		ex.buf = make([]byte, maxWrite)
	}
	b := ex.buf[:n]
	for i := range b {
		b[i] = scriptPattern(id, off+uint64(i))
	}
	st.SetWriteDeadline(time.Now().Add(opDeadline))
	k, _ := st.Write(b)
	if k < 0 || k > n {
		panic(fmt.Sprintf("Write returned n = %d for %d bytes", k, n))
	}
	ex.written[id] = off + uint64(k)
}

func (ex *scriptExec) read() {
	st := ex.stream(ex.in.next())
	if st == nil {
		return
	}
	st.SetReadDeadline(time.Now().Add(opDeadline))
	var b [16 << 10]byte
	for {
		if _, err := st.Read(b[:]); err != nil {
			return
		}
	}
}

func (ex *scriptExec) streamOp() {
	sb, which := ex.in.next(), ex.in.next()
	st := ex.stream(sb)
	if st == nil {
		return
	}
	switch which % 5 {
	case 0:
		st.CloseWrite()
	case 1:
		st.Close()
	case 2:
		st.Reset()
	case 3:
		st.ResetWithError(0x1005)
	case 4:
		st.CloseRead()
	}
}

func (ex *scriptExec) sessionOp() {
	switch ex.in.next() % 6 {
	case 0, 5:
		ex.s.GoAway()
	case 1:
		ctx, cancel := context.WithTimeout(context.Background(), scriptPingTimeout)
		ex.s.PingContext(ctx)
		cancel()
	case 2:
		ex.s.Close()
	case 3:
		ex.s.CloseWithError(yamux.CodeInternalError)
	case 4:
		ex.s.NumStreams()
	}
}

// script builds fuzz inputs for the seeds.
type script []byte

func (s script) frame(typeSel, flags, idSel, lenSel byte) script {
	return append(s, opFrame, typeSel, flags, idSel, lenSel)
}

func (s script) op(code byte, params ...byte) script {
	return append(append(s, code), params...)
}

// indexOf returns the index of v in table, for building seeds.
func indexOf[T comparable](table []T, v T) byte {
	for i, x := range table {
		if x == v {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("%v not in table", v))
}

// scriptSeeds cover every operation and the interesting frames of R05-R11.
func scriptSeeds() [][]byte {
	const (
		syn = byte(frame.FlagSYN)
		ack = byte(frame.FlagACK)
		fin = byte(frame.FlagFIN)
		rst = byte(frame.FlagRST)
	)
	id := func(v uint32) byte { return indexOf(scriptIDs[:], v) }
	dl := func(v uint32) byte { return indexOf(dataLens[:], v) }
	wl := func(v uint32) byte { return indexOf(wuLens[:], v) }
	wr := func(n int) byte { return indexOf(writeLens[:], n) }
	server := script{0}   // our session is the server: the peer opens odd ids
	client := script{1}   // our session is the client: the peer opens even ids
	limits := script{2}   // server with AcceptBacklog 2, MaxIncomingStreams 3
	smallMsg := script{5} // client, MaxMessageSize 1 KiB
	tinyConn := script{16 | 8}

	seeds := []script{
		// Peer opens stream 1, sends data and FIN; we accept, read, write back, close.
		server.frame(selWU, syn, id(1), wl(0)).
			frame(selData, 0, id(1), dl(lenSmall)).op(100).
			frame(selWU, fin, id(1), wl(0)).
			op(opAccept).op(opRead, 0).op(opWrite, 0, wr(4096)).op(opStream, 0, 0),
		// We open, write more than the initial window; the peer grants credit in steps.
		client.op(opOpen).op(opWrite, 0, wr(maxWrite)).
			frame(selWU, ack, id(idLive), wl(64<<10)).op(opWrite, 0, wr(64<<10)).
			frame(selWU, 0, id(idLive), wl(256<<10)).op(opWrite, 0, wr(256<<10)).
			op(opStream, 0, 0).frame(selWU, fin, id(idLive), wl(0)),
		smallMsg.op(opOpen).op(opWrite, 0, wr(64<<10+1)).op(opStream, 0, 1),
		// R05: window overflow, twice 0xFFFF0000; SYN whose credit overflows.
		server.frame(selWU, syn, id(1), wl(0)).frame(selWU, 0, id(1), wl(0xFFFF0000)).frame(selWU, 0, id(1), wl(0xFFFF0000)),
		server.frame(selWU, syn, id(3), wl(0xFFFFFFFF)),
		// R07: DATA beyond the window; DATA|SYN with a body of 256 KiB + 1.
		server.frame(selWU, syn, id(1), wl(0)).frame(selData, 0, id(1), dl(256<<10+1)),
		server.frame(selData, syn, id(1), dl(256<<10+1)),
		script{8}.frame(selData, syn, id(1), dl(512<<10)).op(opAccept).frame(selData, 0, id(1), dl(1)),
		// R08: length 0xFFFFFFFF on DATA (live and unknown), PING, GO_AWAY, WINDOW_UPDATE.
		server.frame(selWU, syn, id(1), wl(0)).frame(selData, 0, id(1), dl(0xFFFFFFFF)),
		server.frame(selData, 0, id(9), dl(0xFFFFFFFF)),
		server.frame(selPing|8, syn, 0, indexOf(pingLens[:], 0xFFFFFFFF)).
			frame(selWU, 0, id(5), wl(0xFFFFFFFF)).frame(selGoAway|8, 0, 0, 4),
		// R09: bad version, bad type, all flag bits.
		server.frame(selBad|8, 0, 0, 0),
		server.frame(selBad|0x10, 0, 0, 0),
		server.frame(selWU, syn|ack|fin|rst|0x30, id(1), wl(0)),
		// R10: wrong parity, id 0, duplicate live id, out of order ids.
		server.frame(selWU, syn, id(2), wl(0)),
		client.frame(selWU, syn, id(0), wl(0)),
		server.frame(selWU, syn, id(1), wl(0)).frame(selWU, syn, id(1), wl(0)),
		server.frame(selWU, syn, id(7), wl(0)).frame(selWU, syn, id(5), wl(0)).
			frame(selWU, syn, id(3), wl(0)).op(opAccept).op(opAccept).op(opAccept),
		// R11: ACK, FIN, RST, DATA and WINDOW_UPDATE for unknown ids.
		client.frame(selWU, ack, id(4), wl(0)).frame(selWU, fin, id(8), wl(0)).
			frame(selWU, rst, id(6), wl(1)).frame(selData, 0, id(2), dl(1024)).
			frame(selWU, 0, id(0xFFFFFFFE), wl(1024)).frame(selData, rst, id(4), dl(1)),
		// Stream and session operations.
		limits.frame(selWU, syn, id(1), wl(0)).frame(selWU, syn, id(3), wl(0)).
			frame(selWU, syn, id(5), wl(0)).frame(selWU, syn, id(7), wl(0)).
			op(opAccept).op(opStream, 0, 2).op(opAccept).op(opStream, 1, 3).op(opStream, 1, 4),
		server.op(opSession, 0).frame(selWU, syn, id(1), wl(0)).op(opSession, 4),
		client.op(opSession, 1).frame(selPing|8, ack, 0, indexOf(pingLens[:], 2)).op(opSession, 1),
		client.op(opOpen).op(opSession, 2).op(opWrite, 0, wr(1)),
		client.op(opOpen).op(opSession, 3),
		client.op(opOpen).frame(selGoAway|8, 0, 0, 0).op(opOpen).op(opStream, 0, 1).
			frame(selWU, fin, id(idLive), wl(0)),
		client.frame(selGoAway|8, 0, 0, 1),
		// Fake time: keepalive timeout, stream open timeout, close timeout.
		client.op(opOpen).op(opStream, 0, 1).op(opSleep | 6<<4).op(opSleep | 7<<4),
		server.op(opSleep|4<<4).frame(selPing|8, ack, 0, indexOf(pingLens[:], 2)).op(opSleep | 3<<4),
		// DATA after FIN, on a half-closed stream.
		server.frame(selWU, syn|fin, id(1), wl(0)).frame(selData, 0, id(1), dl(1)).op(opAccept).op(opRead, 0),
		// Back-pressure on a tiny conn: a large write and a large peer DATA.
		tinyConn.frame(selData, syn, id(1), dl(256<<10)).op(opAccept).op(opWrite, 0, wr(256<<10)).op(opRead, 0),
		// A header straight from the input; truncated frames end the script mid-frame.
		server.op(opRaw, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0, 0, 1).op(opRaw, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9),
		server.frame(selWU, syn, id(1), wl(0)).op(opTruncated, id(1), dl(1024), 100),
		server.op(opTruncated, id(1), dl(0), 7),
		nil,
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = s
	}
	return out
}
