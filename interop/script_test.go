//go:build !nocore

package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	yamux "github.com/yamuxgo/yamux"
)

// Wire habits of other Yamux implementations that none of the real peers in
// this suite show, played by a small frame-level script peer over real TCP
// loopback. The script peer is a raw net.Conn that writes frames encoded by
// hand (the root module's internal/frame package is not importable from this
// module) and reads every frame our session sends, with a deadline on every
// read. Each habit runs with our side as yamux Client (we dial, the script
// listens) and as Server (the script dials, we listen).
//
// The helpers here (scriptPeer, sc* encoders) are shared with
// differential_test.go.

// ---------------------------------------------------------------- frames

// sframe is one frame as the script peer reads it.
type sframe struct {
	ver    uint8
	typ    uint8
	flags  uint16
	id     uint32
	length uint32
	body   []byte // DATA only
}

func (f sframe) is(typ uint8, flags uint16) bool { return f.typ == typ && f.flags == flags }

func (f sframe) String() string {
	names := [...]string{"DATA", "WINDOW_UPDATE", "PING", "GO_AWAY"}
	name := fmt.Sprintf("type%d", f.typ)
	if int(f.typ) < len(names) {
		name = names[f.typ]
	}
	for _, fl := range []struct {
		bit  uint16
		name string
	}{{flagSYN, "SYN"}, {flagACK, "ACK"}, {flagFIN, "FIN"}, {flagRST, "RST"}} {
		if f.flags&fl.bit != 0 {
			name += "|" + fl.name
		}
	}
	if rest := f.flags &^ (flagSYN | flagACK | flagFIN | flagRST); rest != 0 {
		name += fmt.Sprintf("|%#x", rest)
	}
	switch {
	case f.typ == typePing:
		return fmt.Sprintf("%s value=%#x", name, f.length)
	case f.typ == typeGoAway:
		return fmt.Sprintf("%s(%#x)", name, f.length)
	case f.typ == typeWU && f.flags&flagRST != 0:
		return fmt.Sprintf("%s id=%d code=%#x", name, f.id, f.length)
	case f.typ == typeWU:
		return fmt.Sprintf("%s id=%d delta=%d", name, f.id, f.length)
	}
	return fmt.Sprintf("%s id=%d len=%d", name, f.id, f.length)
}

// scRaw encodes a 12-byte header with any version and type (spec.md §2.1).
func scRaw(ver, typ uint8, flags uint16, id, length uint32) []byte {
	b := make([]byte, 12)
	b[0], b[1] = ver, typ
	binary.BigEndian.PutUint16(b[2:4], flags)
	binary.BigEndian.PutUint32(b[4:8], id)
	binary.BigEndian.PutUint32(b[8:12], length)
	return b
}

func scData(flags uint16, id uint32, payload []byte) []byte {
	return append(scRaw(0, typeData, flags, id, uint32(len(payload))), payload...)
}
func scWU(flags uint16, id, delta uint32) []byte { return scRaw(0, typeWU, flags, id, delta) }
func scPing(flags uint16, value uint32) []byte   { return scRaw(0, typePing, flags, 0, value) }
func scGoAway(code uint32) []byte                { return scRaw(0, typeGoAway, 0, 0, code) }

// ----------------------------------------------------------- script peer

// scriptPeer writes hand-made frames on a raw connection and parses what
// the other side sends. It has no goroutine of its own: every read happens
// in the caller, under a deadline.
type scriptPeer struct {
	t    testing.TB
	conn net.Conn
	buf  []byte // received, not yet parsed
	tmp  []byte
	// answerPings: answer every PING(SYN) read with PING(ACK), like a
	// real peer (on by default).
	answerPings bool
	readErr     error // sticky: EOF or another non-timeout read error
	eofAt       time.Time
	seen        int // frames read so far
}

func newScriptPeer(t testing.TB, conn net.Conn) *scriptPeer {
	return &scriptPeer{t: t, conn: conn, tmp: make([]byte, 64<<10), answerPings: true}
}

// write sends the frames with one Write call, so they leave as one burst
// (coalesced, the way batching implementations send them).
func (p *scriptPeer) write(frames ...[]byte) error {
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
	}
	p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := p.conn.Write(b)
	return err
}

func (p *scriptPeer) mustWrite(frames ...[]byte) {
	p.t.Helper()
	if err := p.write(frames...); err != nil {
		p.t.Fatalf("script peer: write: %v", err)
	}
}

// parse takes the first complete frame off buf. A header with a version
// other than 0 is returned alone (its length is not trusted).
func (p *scriptPeer) parse() (sframe, bool) {
	if len(p.buf) < 12 {
		return sframe{}, false
	}
	h := p.buf[:12]
	f := sframe{ver: h[0], typ: h[1], flags: binary.BigEndian.Uint16(h[2:4]),
		id: binary.BigEndian.Uint32(h[4:8]), length: binary.BigEndian.Uint32(h[8:12])}
	n := 12
	if f.ver == 0 && f.typ == typeData {
		if uint64(len(p.buf)) < 12+uint64(f.length) {
			return sframe{}, false
		}
		f.body = bytes.Clone(p.buf[12 : 12+int(f.length)])
		n += int(f.length)
	}
	p.buf = p.buf[n:]
	return f, true
}

// next returns the next frame the other side sent, waiting until deadline.
// The error is a timeout (net.Error) or the connection's end (io.EOF, a
// reset), sticky from then on.
func (p *scriptPeer) next(deadline time.Time) (sframe, error) {
	for {
		if f, ok := p.parse(); ok {
			p.seen++
			if p.answerPings && f.typ == typePing && f.flags&flagSYN != 0 {
				_ = p.write(scPing(flagACK, f.length))
			}
			return f, nil
		}
		if p.readErr != nil {
			return sframe{}, p.readErr
		}
		p.conn.SetReadDeadline(deadline)
		n, err := p.conn.Read(p.tmp)
		p.buf = append(p.buf, p.tmp[:n]...)
		if err != nil {
			if isTimeout(err) {
				if n > 0 {
					continue
				}
				return sframe{}, err
			}
			p.readErr = err
			p.eofAt = time.Now()
		}
	}
}

// expect reads frames until one matches and returns it; it fails the test
// when d passes or the connection ends first.
func (p *scriptPeer) expect(d time.Duration, what string, match func(sframe) bool) sframe {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var skipped []string
	for {
		f, err := p.next(deadline)
		if err != nil {
			p.t.Fatalf("script peer: waiting for %s: %v (frames read meanwhile: %s)", what, err, strings.Join(skipped, ", "))
		}
		if match(f) {
			return f
		}
		if len(skipped) < 40 {
			skipped = append(skipped, f.String())
		}
	}
}

// collect reads frames until stop reports true for one (that frame is the
// last one returned), the deadline passes or the connection ends. err is nil
// when stop ended it.
func (p *scriptPeer) collect(deadline time.Time, stop func(sframe) bool) ([]sframe, error) {
	var out []sframe
	for {
		f, err := p.next(deadline)
		if err != nil {
			return out, err
		}
		out = append(out, f)
		if stop != nil && stop(f) {
			return out, nil
		}
	}
}

// ---------------------------------------------------- one case, one session

// scriptCase is one of our sessions on a fresh TCP connection, with the
// script peer at the other end and the frame tap (tap_test.go) on our conn.
type scriptCase struct {
	t         *testing.T
	sp        *scriptPeer
	s         *yamux.Session
	tap       *tap
	ourClient bool
	nextID    uint32 // the script's next stream id (the parity opposite to ours)
}

func scriptRole(ourClient bool) string {
	if ourClient {
		return "we-dial"
	}
	return "we-listen"
}

// newScriptCase connects our session and the script peer. Cleanup closes
// both, checks the wire rules for what we sent (the tap saw all of it) and
// that every goroutine of our package the case started has ended.
func newScriptCase(t *testing.T, ourClient bool, cfg *yamux.Config) *scriptCase {
	t.Helper()
	before := libGoroutines(oursImpl{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialed, accepted, err := tcpPair(ctx)
	if err != nil {
		t.Fatalf("TCP loopback pair: %v", err)
	}
	ourConn, scriptConn := accepted, dialed // the script dials, we listen
	if ourClient {
		ourConn, scriptConn = dialed, accepted
	}
	if cfg == nil {
		cfg = yamux.DefaultConfig()
	}
	tp := newTap()
	tc := &tapConn{Conn: ourConn, tap: tp}
	var s *yamux.Session
	if ourClient {
		s, err = yamux.Client(tc, cfg)
	} else {
		s, err = yamux.Server(tc, cfg)
	}
	if err != nil {
		dialed.Close()
		accepted.Close()
		t.Fatalf("our session: %v", err)
	}
	c := &scriptCase{t: t, sp: newScriptPeer(t, scriptConn), s: s, tap: tp, ourClient: ourClient, nextID: 1}
	if ourClient {
		c.nextID = 2
	}
	t.Cleanup(func() {
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			s.Close()
		}()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Errorf("HANG: Session.Close did not return within 5s")
		}
		scriptConn.Close()
		ourConn.Close()
		snap := tp.snapshot()
		if snap.Out.DataFIN > 0 {
			t.Errorf("we sent FIN on %d DATA frames; want FIN only on its own zero-length WINDOW_UPDATE", snap.Out.DataFIN)
		}
		if snap.Out.Violations > 0 {
			t.Errorf("we sent DATA beyond the script's window: %s", snap.Out.FirstViol)
		}
		if snap.Out.MaxData > 64<<10 {
			t.Errorf("we sent a %d-byte DATA frame; want at most 64 KiB", snap.Out.MaxData)
		}
		if snap.Out.BadHeader != "" {
			t.Errorf("we wrote an invalid header: %s", snap.Out.BadHeader)
		}
		if snap.Out.PingBadFlags > 0 {
			t.Errorf("we sent %d PINGs with flags other than exactly SYN or ACK", snap.Out.PingBadFlags)
		}
		if leaked := waitLibGoroutines(oursImpl{}, before, 3*time.Second); leaked != "" {
			t.Errorf("goroutines of our package left behind:\n%s", leaked)
		}
	})
	return c
}

// newID returns the next stream id of the script's parity.
func (c *scriptCase) newID() uint32 {
	id := c.nextID
	c.nextID += 2
	return id
}

// accept takes the next inbound stream within d.
func (c *scriptCase) accept(d time.Duration) *yamux.Stream {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := c.s.AcceptStreamContext(ctx)
	if err != nil {
		c.t.Fatalf("AcceptStream: got error %v, want a stream", err)
	}
	return st
}

// open opens a stream on our side and reads its SYN on the script side.
func (c *scriptCase) open() *yamux.Stream {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.s.OpenStreamContext(ctx)
	if err != nil {
		c.t.Fatalf("OpenStream: %v", err)
	}
	f := c.sp.expect(2*time.Second, fmt.Sprintf("the SYN of stream %d", st.StreamID()), func(f sframe) bool { return f.id == st.StreamID() })
	if !f.is(typeWU, flagSYN) || f.length != 0 {
		c.t.Fatalf("first frame of our stream %d: got %v, want WINDOW_UPDATE|SYN delta=0", st.StreamID(), f)
	}
	return st
}

// ping runs our session's Ping while the script peer reads (and answers).
func (c *scriptCase) ping() error { return c.pingCollect(nil) }

// pingCollect is ping that also returns the frames the script read up to
// and including our PING.
func (c *scriptCase) pingCollect(frames *[]sframe) error {
	pingErr := make(chan error, 1)
	go func() {
		_, err := c.s.Ping()
		pingErr <- err
	}()
	got, err := c.sp.collect(time.Now().Add(3*time.Second), func(f sframe) bool { return f.is(typePing, flagSYN) })
	if frames != nil {
		*frames = got
	}
	if err != nil {
		c.s.Close() // unblocks Ping
		<-pingErr
		return fmt.Errorf("waiting for our PING: %w", err)
	}
	select {
	case err := <-pingErr:
		return err
	case <-time.After(3 * time.Second):
		c.s.Close()
		<-pingErr
		return errors.New("Ping did not return within 3s of its pong")
	}
}

// readAllWithin reads st to EOF (or error) under a read deadline.
func readAllWithin(st *yamux.Stream, d time.Duration) ([]byte, error) {
	st.SetReadDeadline(time.Now().Add(d))
	defer st.SetReadDeadline(time.Time{})
	return io.ReadAll(st)
}

type scReadRes struct {
	b   []byte
	err error
}

// readAllAsync starts reading st to EOF now, so that the Read is already
// blocked when the frames arrive.
func readAllAsync(st *yamux.Stream, d time.Duration) <-chan scReadRes {
	ch := make(chan scReadRes, 1)
	st.SetReadDeadline(time.Now().Add(d))
	go func() {
		b, err := io.ReadAll(st)
		ch <- scReadRes{b, err}
	}()
	return ch
}

func wantEOFNext(t testing.TB, st *yamux.Stream) {
	t.Helper()
	st.SetReadDeadline(time.Now().Add(time.Second))
	n, err := st.Read(make([]byte, 16))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("stream %d: Read after the payload: got (%d, %v), want (0, io.EOF)", st.StreamID(), n, err)
	}
}

// wantStreamError checks that err is the peer's reset of stream id with code.
func wantStreamError(t testing.TB, what string, err error, id, code uint32) {
	t.Helper()
	var se *yamux.StreamError
	if !errors.As(err, &se) {
		t.Errorf("%s: got %v (%T), want *yamux.StreamError", what, err, err)
		return
	}
	if se.StreamID != id || se.Code != code || !se.Remote {
		t.Errorf("%s: got StreamError{StreamID: %d, Code: %#x, Remote: %v}, want {%d, %#x, true}", what, se.StreamID, se.Code, se.Remote, id, code)
	}
	if !errors.Is(err, yamux.ErrStreamReset) {
		t.Errorf("%s: %v does not match ErrStreamReset", what, err)
	}
}

// ------------------------------------------------------------------ tests

// TestScriptHabits plays other implementations' wire habits against our
// session, in both directions.
func TestScriptHabits(t *testing.T) {
	habits := []struct {
		name string
		run  func(t *testing.T, ourClient bool)
	}{
		{"syn-on-first-data", scriptSYNOnData},
		{"fin-on-last-data", scriptFINOnData},
		{"syn-data-fin-one-frame", scriptSYNDataFIN},
		{"ack-on-data", scriptACKOnData},
		{"coalesced-exchange", scriptCoalesced},
		{"window-delta-on-syn-and-ack", scriptWindowDelta},
		{"rst-code-on-window-update", scriptRSTCode},
		{"goaway-libp2p-code", scriptGoAwayCode},
		{"our-fin-on-window-update", scriptOurFIN},
	}
	for _, ourClient := range []bool{true, false} {
		t.Run(scriptRole(ourClient), func(t *testing.T) {
			for _, h := range habits {
				t.Run(h.name, func(t *testing.T) { h.run(t, ourClient) })
			}
		})
	}
}

// rust-yamux opens lazily: no WINDOW_UPDATE|SYN, the SYN rides on the first
// DATA frame. AcceptStream must yield the stream with that payload, and our
// ACK goes back as a bare WINDOW_UPDATE|ACK.
func scriptSYNOnData(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	id := c.newID()
	payload := []byte("lazy open: the SYN rides on the first DATA frame")
	c.sp.mustWrite(scData(flagSYN, id, payload))
	st := c.accept(2 * time.Second)
	if st.StreamID() != id {
		t.Fatalf("accepted stream id: got %d, want %d", st.StreamID(), id)
	}
	got := make([]byte, len(payload))
	st.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(st, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Read of the SYN frame's payload: got (%q, %v), want %q", got, err, payload)
	}
	f := c.sp.expect(2*time.Second, "our ACK", func(f sframe) bool { return f.id == id })
	if !f.is(typeWU, flagACK) || f.length != 0 {
		t.Errorf("our answer to the lazy SYN: got %v, want WINDOW_UPDATE|ACK delta=0", f)
	}
	// More data, then the script's FIN; then a reply from us.
	c.sp.mustWrite(scData(0, id, []byte(" and more")), scWU(flagFIN, id, 0))
	rest, err := readAllWithin(st, 2*time.Second)
	if err != nil || string(rest) != " and more" {
		t.Errorf("Read to EOF: got (%q, %v), want (%q, nil)", rest, err, " and more")
	}
	if _, err := st.Write([]byte("reply")); err != nil {
		t.Fatalf("Write after the peer's FIN: %v", err)
	}
	f = c.sp.expect(2*time.Second, "our reply", func(f sframe) bool { return f.id == id })
	if !f.is(typeData, 0) || string(f.body) != "reply" {
		t.Errorf("our reply: got %v body %q, want DATA (no flags) %q", f, f.body, "reply")
	}
}

// Some implementations (rust-yamux among them) put FIN on the last DATA
// frame. hashicorp, go-yamux and chainsafe can lose that payload because they
// apply the FIN first (notes: "Interop findings"); we must deliver it, then
// io.EOF — both when the frame arrives while a Read is blocked and when it
// is already there before the first Read.
func scriptFINOnData(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	const streams = 24
	for i := range streams {
		id := c.newID()
		first := []byte(fmt.Sprintf("stream %d: first part; ", id))
		last := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i*97) // the payload that travels with FIN
		want := append(append([]byte(nil), first...), last...)
		blockedReader := i%2 == 0
		if blockedReader {
			c.sp.mustWrite(scWU(flagSYN, id, 0), scData(0, id, first))
			st := c.accept(2 * time.Second)
			res := readAllAsync(st, 3*time.Second)
			c.sp.mustWrite(scData(flagFIN, id, last))
			var r scReadRes
			select {
			case r = <-res:
			case <-time.After(5 * time.Second):
				t.Fatalf("stream %d: Read did not return within 5s", id)
			}
			if r.err != nil || !bytes.Equal(r.b, want) {
				t.Fatalf("stream %d (Read blocked when DATA|FIN arrived): got %d bytes, err %v; want all %d bytes, then io.EOF", id, len(r.b), r.err, len(want))
			}
			wantEOFNext(t, st)
		} else {
			c.sp.mustWrite(scWU(flagSYN, id, 0), scData(0, id, first), scData(flagFIN, id, last))
			st := c.accept(2 * time.Second)
			b, err := readAllWithin(st, 3*time.Second)
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("stream %d (DATA|FIN arrived before the first Read): got %d bytes, err %v; want all %d bytes, then io.EOF", id, len(b), err, len(want))
			}
			wantEOFNext(t, st)
			if got := st.State(); got != yamux.StateHalfClosedRecv {
				t.Errorf("stream %d state after DATA|FIN: got %v, want %v", id, got, yamux.StateHalfClosedRecv)
			}
			st.Close()
		}
	}
}

// A one-shot stream: SYN, payload and FIN in a single DATA frame.
func scriptSYNDataFIN(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	id := c.newID()
	payload := []byte("one frame: SYN + data + FIN")
	c.sp.mustWrite(scData(flagSYN|flagFIN, id, payload))
	st := c.accept(2 * time.Second)
	b, err := readAllWithin(st, 2*time.Second)
	if err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("Read to EOF: got (%q, %v), want (%q, nil)", b, err, payload)
	}
	wantEOFNext(t, st)
	if got := st.State(); got != yamux.StateHalfClosedRecv {
		t.Errorf("state: got %v, want %v", got, yamux.StateHalfClosedRecv)
	}
	// The reverse direction still works: ACK, DATA, then FIN on its own
	// WINDOW_UPDATE, in that order.
	if _, err := st.Write([]byte("answer")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var mine []string
	fins := 0
	frames, err := c.sp.collect(time.Now().Add(2*time.Second), func(f sframe) bool { return f.id == id && f.flags&flagFIN != 0 })
	for _, f := range frames {
		if f.id == id {
			mine = append(mine, f.String())
			if f.flags&flagFIN != 0 {
				fins++
			}
		}
	}
	want := []string{
		fmt.Sprintf("WINDOW_UPDATE|ACK id=%d delta=0", id),
		fmt.Sprintf("DATA id=%d len=6", id),
		fmt.Sprintf("WINDOW_UPDATE|FIN id=%d delta=0", id),
	}
	if err != nil || strings.Join(mine, "; ") != strings.Join(want, "; ") {
		t.Errorf("our frames on stream %d: got [%s] (%v), want [%s]", id, strings.Join(mine, "; "), err, strings.Join(want, "; "))
	}
	if got := st.State(); got != yamux.StateFullyClosed {
		t.Errorf("state after both FINs: got %v, want %v", got, yamux.StateFullyClosed)
	}
}

// Lazy-ACK peers (rust, js) answer our SYN with ACK on their first DATA
// frame instead of a bare WINDOW_UPDATE|ACK. Our side must take that ACK:
// with a short StreamOpenTimeout, the stream acknowledged on DATA stays
// open while a control stream the script never acknowledges is reset.
func scriptACKOnData(t *testing.T, ourClient bool) {
	cfg := yamux.DefaultConfig()
	cfg.StreamOpenTimeout = 300 * time.Millisecond
	c := newScriptCase(t, ourClient, cfg)
	acked := c.open()
	control := c.open()
	aid, cid := acked.StreamID(), control.StreamID()
	c.sp.mustWrite(scData(flagACK, aid, []byte("ACK rides on DATA")))
	b := make([]byte, 17)
	acked.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(acked, b); err != nil || string(b) != "ACK rides on DATA" {
		t.Fatalf("Read: got (%q, %v), want %q", b, err, "ACK rides on DATA")
	}
	// Wait (on the wire) for the control stream's open timeout to fire,
	// then a little longer: the acknowledged stream's timer, armed at the
	// same moment, would have fired by then too.
	var ackedRST []sframe
	c.sp.expect(3*time.Second, fmt.Sprintf("RST of the unacknowledged stream %d", cid), func(f sframe) bool {
		if f.id == aid && f.flags&flagRST != 0 {
			ackedRST = append(ackedRST, f)
		}
		return f.id == cid && f.is(typeWU, flagRST)
	})
	more, _ := c.sp.collect(time.Now().Add(200*time.Millisecond), nil)
	for _, f := range more {
		if f.id == aid && f.flags&flagRST != 0 {
			ackedRST = append(ackedRST, f)
		}
	}
	if len(ackedRST) > 0 {
		t.Fatalf("stream %d, acknowledged by DATA|ACK, was reset by its open timer: %v", aid, ackedRST)
	}
	if got := acked.State(); got != yamux.StateOpen {
		t.Errorf("acknowledged stream state: got %v, want %v", got, yamux.StateOpen)
	}
	if got := control.State(); got != yamux.StateReset {
		t.Errorf("control stream (never acknowledged) state: got %v, want %v", got, yamux.StateReset)
	}
	if _, err := acked.Write([]byte("still open")); err != nil {
		t.Fatalf("Write on the acknowledged stream: %v", err)
	}
	f := c.sp.expect(2*time.Second, "our DATA", func(f sframe) bool { return f.id == aid })
	if !f.is(typeData, 0) || string(f.body) != "still open" {
		t.Errorf("got %v body %q, want DATA %q", f, f.body, "still open")
	}
}

// Batching implementations coalesce a whole exchange into one TCP write:
// opens (bare and lazy), data, FIN on DATA and on WINDOW_UPDATE, an ACK on
// DATA for a stream we opened, and a ping, all in one segment burst.
func scriptCoalesced(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	ours := c.open()
	a, b := c.newID(), c.newID()
	oid := ours.StreamID()
	c.sp.mustWrite(
		scWU(flagSYN, a, 0),
		scData(0, a, []byte("alpha-1 ")),
		scData(flagSYN, b, []byte("beta")),
		scData(flagACK, oid, []byte("gamma")),
		scPing(flagSYN, 0x5eed),
		scData(0, a, []byte("alpha-2")),
		scWU(flagFIN, a, 0),
		scData(flagFIN, b, []byte("-end")),
		scWU(flagFIN, oid, 0),
	)
	for _, w := range []struct {
		id   uint32
		want string
	}{{a, "alpha-1 alpha-2"}, {b, "beta-end"}} {
		st := c.accept(2 * time.Second)
		if st.StreamID() != w.id {
			t.Fatalf("accepted stream: got id %d, want %d (SYN order)", st.StreamID(), w.id)
		}
		got, err := readAllWithin(st, 2*time.Second)
		if err != nil || string(got) != w.want {
			t.Errorf("stream %d: got (%q, %v), want (%q, nil)", w.id, got, err, w.want)
		}
		st.Close()
	}
	got, err := readAllWithin(ours, 2*time.Second)
	if err != nil || string(got) != "gamma" {
		t.Errorf("our stream %d: got (%q, %v), want (%q, nil)", oid, got, err, "gamma")
	}
	c.sp.expect(2*time.Second, "the pong for 0x5eed", func(f sframe) bool { return f.is(typePing, flagACK) && f.length == 0x5eed })
	if err := c.ping(); err != nil {
		t.Errorf("our Ping after the burst: %v", err)
	}
}

// Peers configured with a larger initial window (go-yamux's
// InitialStreamWindowSize, rust-yamux) announce the excess over 256 KiB in
// the Length of their SYN or ACK; none of the real peers here does at its
// defaults. It is a delta on top of the implicit 256 KiB (spec.md §4.1,
// §4.2): we may then send exactly 256 KiB + delta, and not a byte more,
// before the next update.
func scriptWindowDelta(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	const delta = 768 << 10 // a 1 MiB window
	const window = initialWindow + delta
	id := c.newID()
	c.sp.mustWrite(scWU(flagSYN, id, delta))
	in := c.accept(2 * time.Second)
	out := c.open()
	c.sp.mustWrite(scWU(flagACK, out.StreamID(), delta))
	for _, st := range []*yamux.Stream{in, out} {
		sid := st.StreamID()
		type wres struct {
			n   int
			err error
		}
		wch := make(chan wres, 1)
		st.SetWriteDeadline(time.Now().Add(5 * time.Second))
		go func() {
			n, err := st.Write(make([]byte, window+100<<10))
			wch <- wres{n, err}
		}()
		got := 0
		c.sp.expect(3*time.Second, fmt.Sprintf("%d bytes of DATA on stream %d", window, sid), func(f sframe) bool {
			if f.id == sid && f.typ == typeData {
				got += len(f.body)
			}
			return got >= window
		})
		more, _ := c.sp.collect(time.Now().Add(150*time.Millisecond), nil)
		for _, f := range more {
			if f.id == sid && f.typ == typeData {
				got += len(f.body)
			}
		}
		if got != window {
			t.Errorf("stream %d: got %d bytes before any further update, want exactly %d (256 KiB + the %d announced)", sid, got, window, delta)
		}
		c.sp.mustWrite(scWU(0, sid, 100<<10))
		c.sp.expect(3*time.Second, "the rest of the Write", func(f sframe) bool {
			if f.id == sid && f.typ == typeData {
				got += len(f.body)
			}
			return got >= window+100<<10
		})
		select {
		case r := <-wch:
			if r.err != nil || r.n != window+100<<10 {
				t.Errorf("stream %d: Write returned (%d, %v), want (%d, nil)", sid, r.n, r.err, window+100<<10)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("stream %d: Write still blocked after all its bytes were credited", sid)
		}
	}
}

// go-yamux v5 and go-libp2p put an error code in the Length of
// WINDOW_UPDATE|RST. We report it in StreamError.Code and never credit it to
// the send window (spec.md §3.3 step 5, §3.5).
func scriptRSTCode(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)

	// (a) a stream the script opened, with our Read blocked.
	id := c.newID()
	c.sp.mustWrite(scWU(flagSYN, id, 0))
	st := c.accept(2 * time.Second)
	res := readAllAsync(st, 3*time.Second)
	c.sp.mustWrite(scWU(flagRST, id, 0x1005))
	select {
	case r := <-res:
		wantStreamError(t, "blocked Read after WINDOW_UPDATE|RST(0x1005)", r.err, id, 0x1005)
	case <-time.After(3 * time.Second):
		t.Fatalf("Read did not return within 3s of the RST")
	}
	_, err := st.Write([]byte("x"))
	wantStreamError(t, "Write after the RST", err, id, 0x1005)

	// (b) a stream we opened whose send window is used up, a Write blocked
	// on it: the RST must fail the Write, and no DATA may follow it (had the
	// 0x1005 been credited, 4101 more bytes could have gone out).
	w := c.open()
	wid := w.StreamID()
	c.sp.mustWrite(scWU(flagACK, wid, 0))
	type wres struct {
		n   int
		err error
	}
	wch := make(chan wres, 1)
	w.SetWriteDeadline(time.Now().Add(4 * time.Second))
	go func() {
		n, err := w.Write(make([]byte, initialWindow+64<<10))
		wch <- wres{n, err}
	}()
	got := 0
	c.sp.expect(3*time.Second, "256 KiB of DATA on our stream", func(f sframe) bool {
		if f.id == wid && f.typ == typeData {
			got += len(f.body)
		}
		return got >= initialWindow
	})
	c.sp.mustWrite(scWU(flagRST, wid, 0x1005))
	var r wres
	select {
	case r = <-wch:
	case <-time.After(3 * time.Second):
		t.Fatalf("the blocked Write did not return within 3s of the RST")
	}
	wantStreamError(t, "Write blocked on the window, then WINDOW_UPDATE|RST(0x1005)", r.err, wid, 0x1005)
	if r.n != initialWindow {
		t.Errorf("Write returned n=%d, want %d (exactly the window)", r.n, initialWindow)
	}

	// (c) the canary: on a fresh stream of ours (256 KiB of send window),
	// WINDOW_UPDATE|RST with Length 0xFFFFFFFF. Credited with our checked
	// arithmetic it would overflow 2^32-1 and end the session with
	// GO_AWAY(1); as an error code it only resets the stream.
	canary := c.open()
	c.sp.mustWrite(scWU(flagRST, canary.StreamID(), 0xFFFFFFFF))

	// The session stays healthy: our Ping crosses the RSTs on the wire, and a
	// new stream carries data.
	var frames []sframe
	if err := c.pingCollect(&frames); err != nil {
		t.Fatalf("Ping after the RSTs: %v; session Err() = %v; frames we sent meanwhile: %v", err, c.s.Err(), frames)
	}
	for _, f := range frames {
		switch {
		case f.id == wid && f.typ == typeData:
			t.Errorf("we sent %v on stream %d after its RST(0x1005); want nothing (the code is not window credit)", f, wid)
		case f.flags&flagRST != 0:
			t.Errorf("we answered a RST with %v; want no reply", f)
		case f.typ == typeGoAway:
			t.Errorf("we sent %v; want the session to stay up", f)
		}
	}
	wantStreamError(t, "Read on the canary stream", func() error {
		_, err := readAllWithin(canary, time.Second)
		return err
	}(), canary.StreamID(), 0xFFFFFFFF)
	if c.s.IsClosed() {
		t.Fatalf("session closed after the RSTs: %v", c.s.Err())
	}
	nid := c.newID()
	c.sp.mustWrite(scData(flagSYN|flagFIN, nid, []byte("after")))
	ns := c.accept(2 * time.Second)
	if b, err := readAllWithin(ns, 2*time.Second); err != nil || string(b) != "after" {
		t.Errorf("new stream after the RSTs: got (%q, %v), want (%q, nil)", b, err, "after")
	}
}

// go-libp2p closes connections with GO_AWAY carrying its own codes
// (0x1005 ConnGarbageCollected). The session must end at once and report
// the code; blocked calls return within a second.
func scriptGoAwayCode(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	// A live stream with a blocked Read, and a blocked AcceptStream.
	id := c.newID()
	c.sp.mustWrite(scWU(flagSYN, id, 0))
	st := c.accept(2 * time.Second)
	reads := readAllAsync(st, 5*time.Second)
	type acc struct {
		st  *yamux.Stream
		err error
	}
	accepts := make(chan acc, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		st, err := c.s.AcceptStreamContext(ctx)
		accepts <- acc{st, err}
	}()
	c.sp.mustWrite(scGoAway(0x1005))
	t0 := time.Now()
	select {
	case a := <-accepts:
		if a.err == nil {
			t.Fatalf("AcceptStream after GO_AWAY(0x1005): got stream %d, want an error", a.st.StreamID())
		}
		if !errors.Is(a.err, yamux.ErrSessionShutdown) {
			t.Errorf("AcceptStream after GO_AWAY(0x1005): got %v, want an error matching ErrSessionShutdown", a.err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("AcceptStream returned after %v, want within 1s", d)
		}
	case <-time.After(time.Second):
		t.Fatalf("AcceptStream still blocked 1s after GO_AWAY(0x1005)")
	}
	select {
	case <-c.s.CloseChan():
	case <-time.After(time.Second):
		t.Fatalf("CloseChan not closed 1s after GO_AWAY(0x1005)")
	}
	var se *yamux.SessionError
	if err := c.s.Err(); !errors.As(err, &se) {
		t.Errorf("Err(): got %v (%T), want *yamux.SessionError", err, err)
	} else if se.Code != 0x1005 || !se.Remote {
		t.Errorf("Err(): got SessionError{Code: %#x, Remote: %v}, want {Code: 0x1005, Remote: true}", uint32(se.Code), se.Remote)
	}
	select {
	case r := <-reads:
		if r.err == nil || errors.Is(r.err, io.EOF) || !errors.Is(r.err, yamux.ErrSessionShutdown) {
			t.Errorf("blocked Read on a live stream: got %v, want an error matching ErrSessionShutdown (a session end is not EOF)", r.err)
		}
	case <-time.After(time.Second):
		t.Fatalf("Read on a live stream still blocked 1s after GO_AWAY(0x1005)")
	}
	if _, err := c.s.OpenStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Errorf("OpenStream after GO_AWAY(0x1005): got %v, want an error matching ErrSessionShutdown", err)
	}
	// We end the session without answering: no GO_AWAY of ours, just the close.
	frames, err := c.sp.collect(time.Now().Add(2*time.Second), nil)
	if err == nil || isTimeout(err) {
		t.Errorf("script peer: got %v after GO_AWAY(0x1005), want the connection closed", err)
	}
	for _, f := range frames {
		if f.typ == typeGoAway {
			t.Logf("we answered with %v", f)
		}
	}
}

// What we send: FIN travels on its own zero-length WINDOW_UPDATE after the
// stream's last DATA, never on DATA — on a stream we opened and on one we
// accepted (the tap checks this for every case as well).
func scriptOurFIN(t *testing.T, ourClient bool) {
	c := newScriptCase(t, ourClient, nil)
	check := func(id uint32, wantBytes int) {
		t.Helper()
		got := 0
		frames, err := c.sp.collect(time.Now().Add(3*time.Second), func(f sframe) bool { return f.id == id && f.flags&flagFIN != 0 })
		if err != nil {
			t.Fatalf("stream %d: waiting for our FIN: %v", id, err)
		}
		for _, f := range frames {
			if f.id != id {
				continue
			}
			switch {
			case f.typ == typeData && f.flags&flagFIN != 0:
				t.Errorf("stream %d: we sent %v, FIN on DATA; want it on a WINDOW_UPDATE", id, f)
			case f.typ == typeData:
				got += len(f.body)
			case f.flags&flagFIN != 0 && (!f.is(typeWU, flagFIN) || f.length != 0):
				t.Errorf("stream %d: our FIN frame: got %v, want WINDOW_UPDATE|FIN delta=0", id, f)
			}
		}
		if got != wantBytes {
			t.Errorf("stream %d: got %d DATA bytes before our FIN, want %d", id, got, wantBytes)
		}
		// Nothing more on this stream after the FIN.
		more, _ := c.sp.collect(time.Now().Add(100*time.Millisecond), nil)
		for _, f := range more {
			if f.id == id {
				t.Errorf("stream %d: %v after our FIN", id, f)
			}
		}
	}

	// A stream we opened: 200 KiB in one Write (several DATA frames), CloseWrite.
	st := c.open()
	c.sp.mustWrite(scWU(flagACK, st.StreamID(), 0))
	const n = 200 << 10
	st.SetWriteDeadline(time.Now().Add(3 * time.Second))
	if _, err := st.Write(bytes.Repeat([]byte("y"), n)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := st.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	check(st.StreamID(), n)

	// A stream we accepted: one small Write, then Close.
	id := c.newID()
	c.sp.mustWrite(scWU(flagSYN, id, 0))
	in := c.accept(2 * time.Second)
	if _, err := in.Write([]byte("short")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check(id, 5)
}
