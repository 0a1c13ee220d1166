package yamux_test

// Hostile peers: one test per case R01–R13 and R15 of
// docs/hostile-peers.md, plus TestWorstCaseSessionMemory, in files by
// attack family: hostile_streams_test.go, hostile_control_test.go,
// hostile_window_test.go, hostile_headers_test.go, hostile_memory_test.go.
//
// Every case runs inside a synctest bubble (fake time, deterministic
// waits) over memconn. The attacker is a hostilePeer (this file):
// the raw-frame peer of rawpeer_test.go sharing its connection with a real
// yamux session that keeps a healthy, SHA-256-checked control stream
// echoing during the attack; a second, independent session pair (the
// bystander) must be unaffected by anything the attacker does.
//
// Sizes are scaled so that the file runs in seconds under -race on two
// cores; each test names its full-size figure. Run the full sizes with
//
//	go test -race -count=1 -run 'TestR(0[1-9]|1[0-5])_|WorstCase' -hostile.full -timeout=2h .
//
// -short makes the counts smaller still.

// This file is the hostile peer itself: the raw-frame peer of
// rawpeer_test.go (writeFrame, writeRaw, expectGoAway, expectRST,
// expectNoFrame, expectAlive, …) with a twist: a real yamux session, Ctl,
// shares the raw connection with the attacker. Its frames are spliced in
// between the attacker's frames, whole frame by whole frame, and our
// session's replies on Ctl's streams (and the pongs of Ctl's pings) are
// routed back to it instead of into the rawPeer queue. So one connection
// carries both an attack and a healthy control stream, and the test's
// expect* calls see only what our session says to the attacker. Healthy
// traffic is in hostile_traffic_test.go, the fed connection for
// allocation measurements in hostile_feed_test.go.

import (
	"bytes"
	"flag"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
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
	//	go test -race -count=1 -run 'TestR(0[1-9]|1[0-5])_|WorstCase' -hostile.full -timeout=2h .
	hostileFull = flag.Bool("hostile.full", false,
		"run the hostile-peer cases (hostile_*_test.go) at the full sizes of docs/hostile-peers.md (slow)")
)

// caseSize returns full under -hostile.full, short under -short and ci
// otherwise (CI runs without -short).
func caseSize(full, ci, short int) int {
	switch {
	case *hostileFull:
		return full
	case testing.Short():
		return short
	}
	return ci
}

// --- The hostile peer ---------------------------------------------------

// ctlPingTag marks, on the shared connection, the PING values of the
// control session Ctl, so that our pongs can be routed back to it. Attack
// pings must not use values of the form 0xC0DExxxx.
const ctlPingTag = 0xC0DE0000

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

// newHostilePeer starts our session and a hostile peer on a memconn pair,
// as newRawPeerOpts does (the options mean the same), plus the control
// session Ctl. It must run inside a synctest bubble. Cleanup (or
// shutdown) closes everything and waits for every goroutine it started.
func newHostilePeer(t testing.TB, o rawPeerOptions) *hostilePeer {
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
		p.oursMem().BlockWrites(false)
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
		case typ == frame.TypePing && flags&frame.FlagACK != 0 && h.Length()&^0xFFFF == ctlPingTag:
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
				h = frame.New(frame.TypePing, h.Flags(), 0, ctlPingTag|h.Length()&0xFFFF)
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
func (hp *hostilePeer) control(t testing.TB) *echoStream {
	t.Helper()
	return startEcho(t, "control stream", hp.Ctl, hp.S)
}

// frameBatch accumulates encoded frames and writes them to the attacker's
// connection about 32 KiB at a time. Test goroutine only (writeRaw fails
// the test on error).
type frameBatch struct {
	hp  *hostilePeer
	buf []byte
}

func (hp *hostilePeer) batch() *frameBatch {
	return &frameBatch{hp: hp, buf: make([]byte, 0, 64*1024)}
}

// add appends one frame, writing the batch when it is large enough.
func (b *frameBatch) add(typ frame.Type, flags frame.Flags, id, length uint32, payload []byte) {
	b.buf = appendFrame(b.buf, typ, flags, id, length, payload)
	if len(b.buf) >= 32*1024 {
		b.flush()
	}
}

// flush writes what has accumulated.
func (b *frameBatch) flush() {
	b.hp.t.Helper()
	if len(b.buf) > 0 {
		b.hp.writeRaw(b.buf)
		b.buf = b.buf[:0]
	}
}
